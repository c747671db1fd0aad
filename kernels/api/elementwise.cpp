// Front ends of lrp/ops/elementwise.h: argument checks (defined, fp32, one device, shapes), an NVTX
// range per op, then the device's op-table entry. Random fills reserve Philox counters from the Generator.
#include "lrp/ops/elementwise.h"

#include <cmath>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::ops {
namespace {

// `t` is fp32, on `dev`, shaped `s`.
void check_like(const char* op, const char* arg, const Tensor& t, const Shape& s, Device dev) {
    check_dtype(op, arg, t, DType::F32);
    check_device(op, arg, t, dev);
    check_shape(op, arg, t, s);
}

}  // namespace

void fill(const Tensor& y, float value) {
    check_dtype("fill", "y", y, DType::F32);
    LRP_NVTX_RANGE("fill");
    LRP_OP(y.device(), fill)(kernel_ctx(y.device()), y.data<float>(), value, y.numel());
}

Tensor full(const Shape& s, float value, Device d) {
    Tensor y = Tensor::empty(s, DType::F32, d);
    fill(y, value);
    return y;
}

void uniform(const Tensor& y, Generator& g, float lo, float hi) {
    check_dtype("uniform", "y", y, DType::F32);
    LRP_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi && std::isfinite(hi - lo),
              "uniform: need finite lo <= hi with a finite width hi - lo, got lo = ", lo, ", hi = ", hi);
    LRP_NVTX_RANGE("uniform");
    const int64_t n = y.numel();
    const uint64_t offset = g.reserve(philox_uniform_counters(static_cast<uint64_t>(n)));
    LRP_OP(y.device(), rng_uniform)(kernel_ctx(y.device()), g.seed(), offset, lo, hi, y.data<float>(), n);
}

void normal(const Tensor& y, Generator& g, float mean, float std) {
    check_dtype("normal", "y", y, DType::F32);
    LRP_CHECK(std::isfinite(mean) && std::isfinite(std) && std >= 0.f,
              "normal: need finite mean and std >= 0, got mean = ", mean, ", std = ", std);
    LRP_NVTX_RANGE("normal");
    const int64_t n = y.numel();
    const uint64_t offset = g.reserve(philox_normal_counters(static_cast<uint64_t>(n)));
    LRP_OP(y.device(), rng_normal)(kernel_ctx(y.device()), g.seed(), offset, mean, std, y.data<float>(), n);
}

void add(const Tensor& a, const Tensor& b, const Tensor& y) {
    check_dtype("add", "a", a, DType::F32);
    check_like("add", "b", b, a.shape(), a.device());
    check_like("add", "y", y, a.shape(), a.device());
    LRP_NVTX_RANGE("add");
    LRP_OP(a.device(), add)(kernel_ctx(a.device()), a.data<float>(), b.data<float>(), y.data<float>(), a.numel());
}

void mul(const Tensor& a, const Tensor& b, const Tensor& y) {
    check_dtype("mul", "a", a, DType::F32);
    check_like("mul", "b", b, a.shape(), a.device());
    check_like("mul", "y", y, a.shape(), a.device());
    LRP_NVTX_RANGE("mul");
    LRP_OP(a.device(), mul)(kernel_ctx(a.device()), a.data<float>(), b.data<float>(), y.data<float>(), a.numel());
}

void scale(const Tensor& x, float alpha, const Tensor& y) {
    check_dtype("scale", "x", x, DType::F32);
    check_like("scale", "y", y, x.shape(), x.device());
    LRP_NVTX_RANGE("scale");
    LRP_OP(x.device(), scale)(kernel_ctx(x.device()), x.data<float>(), alpha, y.data<float>(), x.numel());
}

void axpy(float alpha, const Tensor& x, const Tensor& y) {
    check_dtype("axpy", "x", x, DType::F32);
    check_like("axpy", "y", y, x.shape(), x.device());
    LRP_NVTX_RANGE("axpy");
    LRP_OP(x.device(), axpy)(kernel_ctx(x.device()), alpha, x.data<float>(), y.data<float>(), x.numel());
}

Tensor add(const Tensor& a, const Tensor& b) {
    check_dtype("add", "a", a, DType::F32);
    Tensor y = Tensor::empty(a.shape(), DType::F32, a.device());
    add(a, b, y);
    return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
    check_dtype("mul", "a", a, DType::F32);
    Tensor y = Tensor::empty(a.shape(), DType::F32, a.device());
    mul(a, b, y);
    return y;
}

Tensor scale(const Tensor& x, float alpha) {
    check_dtype("scale", "x", x, DType::F32);
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    scale(x, alpha, y);
    return y;
}

void relu_fwd(const Tensor& x, const Tensor& y) {
    check_dtype("relu_fwd", "x", x, DType::F32);
    check_like("relu_fwd", "y", y, x.shape(), x.device());
    LRP_NVTX_RANGE("relu_fwd");
    LRP_OP(x.device(), relu_fwd)(kernel_ctx(x.device()), x.data<float>(), y.data<float>(), x.numel());
}

void relu_bwd(const Tensor& x, const Tensor& dy, const Tensor& dx) {
    check_dtype("relu_bwd", "x", x, DType::F32);
    check_like("relu_bwd", "dy", dy, x.shape(), x.device());
    check_like("relu_bwd", "dx", dx, x.shape(), x.device());
    LRP_NVTX_RANGE("relu_bwd");
    LRP_OP(x.device(), relu_bwd)
    (kernel_ctx(x.device()), x.data<float>(), dy.data<float>(), dx.data<float>(), x.numel());
}

Tensor relu(const Tensor& x) {
    check_dtype("relu", "x", x, DType::F32);
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    relu_fwd(x, y);
    return y;
}

void clamp(const Tensor& x, float lo, float hi, const Tensor& y) {
    check_dtype("clamp", "x", x, DType::F32);
    check_like("clamp", "y", y, x.shape(), x.device());
    LRP_CHECK(lo <= hi, "clamp: need lo <= hi (and neither NaN), got lo = ", lo, ", hi = ", hi);
    LRP_NVTX_RANGE("clamp");
    LRP_OP(x.device(), clamp)(kernel_ctx(x.device()), x.data<float>(), lo, hi, y.data<float>(), x.numel());
}

void sigmoid_mul(const Tensor& x, float beta, const Tensor& r, const Tensor& y) {
    check_dtype("sigmoid_mul", "x", x, DType::F32);
    check_like("sigmoid_mul", "r", r, x.shape(), x.device());
    check_like("sigmoid_mul", "y", y, x.shape(), x.device());
    LRP_CHECK(std::isfinite(beta), "sigmoid_mul: beta must be finite, got ", beta);
    LRP_NVTX_RANGE("sigmoid_mul");
    LRP_OP(x.device(), sigmoid_mul)
    (kernel_ctx(x.device()), x.data<float>(), beta, r.data<float>(), y.data<float>(), x.numel());
}

Tensor sigmoid_mul(const Tensor& x, float beta, const Tensor& r) {
    check_dtype("sigmoid_mul", "x", x, DType::F32);
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    sigmoid_mul(x, beta, r, y);
    return y;
}

void lrp_stabilize(const Tensor& z, float eps, const Tensor& y) {
    check_dtype("lrp_stabilize", "z", z, DType::F32);
    check_like("lrp_stabilize", "y", y, z.shape(), z.device());
    LRP_CHECK(std::isfinite(eps) && eps >= 0.f, "lrp_stabilize: eps must be finite and >= 0, got ", eps);
    LRP_NVTX_RANGE("lrp_stabilize");
    LRP_OP(z.device(), lrp_stabilize)(kernel_ctx(z.device()), z.data<float>(), eps, y.data<float>(), z.numel());
}

void lrp_eps_div(const Tensor& r, const Tensor& z, float eps, const Tensor& s) {
    check_dtype("lrp_eps_div", "r", r, DType::F32);
    check_like("lrp_eps_div", "z", z, r.shape(), r.device());
    check_like("lrp_eps_div", "s", s, r.shape(), r.device());
    LRP_CHECK(std::isfinite(eps) && eps >= 0.f, "lrp_eps_div: eps must be finite and >= 0, got ", eps);
    LRP_NVTX_RANGE("lrp_eps_div");
    LRP_OP(r.device(), lrp_eps_div)
    (kernel_ctx(r.device()), r.data<float>(), z.data<float>(), eps, s.data<float>(), r.numel());
}

void bias_add(const Tensor& y, const Tensor& b) {
    check_dtype("bias_add", "y", y, DType::F32);
    LRP_CHECK(y.ndim() >= 2, "bias_add: argument 'y' has shape ", y.shape().str(), ", expected N x C x ...");
    check_like("bias_add", "b", b, Shape{y.dim(1)}, y.device());
    const int64_t N = y.dim(0), C = y.dim(1);
    LRP_CHECK(N <= INT32_MAX && C <= INT32_MAX, "bias_add: N = ", N, ", C = ", C, " exceed the int32 limit");
    const int64_t HW = N * C == 0 ? 0 : y.numel() / (N * C);
    LRP_NVTX_RANGE("bias_add");
    LRP_OP(y.device(), bias_add)
    (kernel_ctx(y.device()), y.data<float>(), b.data<float>(), static_cast<int>(N), static_cast<int>(C), HW);
}

void expand_rows(const Tensor& x, float alpha, const Tensor& y) {
    check_dtype("expand_rows", "x", x, DType::F32);
    check_dtype("expand_rows", "y", y, DType::F32);
    check_device("expand_rows", "y", y, x.device());
    const int64_t rows = x.numel();
    // rows must be the product of a leading run of y's dimensions (N, or N*C, ...).
    bool ok = rows == 0 ? y.numel() == 0 : false;
    for (int64_t k = 0, p = 1; k <= y.ndim() && !ok && rows > 0; ++k) {
        ok = p == rows;
        if (k < y.ndim()) p *= y.dim(static_cast<int>(k));
    }
    LRP_CHECK(ok, "expand_rows: x ", x.shape().str(), " has ", rows,
              " elements, which is not the product of leading dims of y ", y.shape().str());
    if (rows == 0) return;
    LRP_NVTX_RANGE("expand_rows");
    LRP_OP(x.device(), expand_rows)
    (kernel_ctx(x.device()), x.data<float>(), alpha, y.data<float>(), rows, y.numel() / rows);
}

}  // namespace lrp::ops
