// Checked front ends for conv2d: the descriptor from input/weight shapes (PyTorch's rules, errors name
// both shapes), then per direction dtype/shape/device checks once and the device's op-table entry.
#include <algorithm>
#include <atomic>
#include <climits>
#include <string>

#include "conv_algo_stats.h"
#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"
#include "lrp/ops/conv.h"

namespace lrp::ops {
namespace {

// Output extent in 64-bit arithmetic; < 1 when the dilated kernel does not fit the padded input.
int64_t out_extent(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    const int64_t num = in + 2 * pad - dil * (k - 1) - 1;
    return num < 0 ? 0 : num / stride + 1;  // C++ division truncates toward zero: test the sign first
}

// Checks a descriptor (also hand-built ones); `what` prefixes every message.
void validate(const char* op, const Conv2dDesc& d, const std::string& what) {
    LRP_CHECK(d.N >= 0 && d.C >= 1 && d.H >= 1 && d.W >= 1, op, ": ", what, "input must have non-empty C, H, W");
    LRP_CHECK(d.K >= 1 && d.R >= 1 && d.S >= 1, op, ": ", what, "weight must have non-empty K, R, S");
    LRP_CHECK(d.groups >= 1, op, ": ", what, "groups must be at least 1, got ", d.groups);
    LRP_CHECK(d.C % d.groups == 0, op, ": ", what, "input channels ", d.C, " are not divisible by groups ", d.groups);
    LRP_CHECK(d.K % d.groups == 0, op, ": ", what, "output channels ", d.K, " are not divisible by groups ",
              d.groups);
    LRP_CHECK(d.stride_h >= 1 && d.stride_w >= 1, op, ": ", what, "stride must be at least 1, got ", d.stride_h,
              "x", d.stride_w);
    LRP_CHECK(d.dil_h >= 1 && d.dil_w >= 1, op, ": ", what, "dilation must be at least 1, got ", d.dil_h, "x",
              d.dil_w);
    LRP_CHECK(d.pad_h >= 0 && d.pad_w >= 0, op, ": ", what, "padding must be non-negative, got ", d.pad_h, "x",
              d.pad_w);
    const int64_t P = out_extent(d.H, d.R, d.stride_h, d.pad_h, d.dil_h);
    const int64_t Q = out_extent(d.W, d.S, d.stride_w, d.pad_w, d.dil_w);
    LRP_CHECK(P >= 1 && Q >= 1, op, ": ", what, "output size is empty: padded input ", int64_t{d.H} + 2 * d.pad_h,
              "x", int64_t{d.W} + 2 * d.pad_w, " is smaller than the dilated kernel ",
              int64_t{d.dil_h} * (d.R - 1) + 1, "x", int64_t{d.dil_w} * (d.S - 1) + 1);
    // (the kernels pass an output or input plane to the GEMM as an int dimension and leading dimension)
    LRP_CHECK(P * Q <= INT_MAX && int64_t{d.H} * d.W <= INT_MAX, op, ": ", what, "a plane of ",
              std::max(P * Q, int64_t{d.H} * d.W), " pixels is too large (at most ", INT_MAX, ")");
}

std::string desc_str(const Conv2dDesc& d) {
    return str("desc x [", d.N, ", ", d.C, ", ", d.H, ", ", d.W, "], w [", d.K, ", ", d.C / std::max(d.groups, 1),
               ", ", d.R, ", ", d.S, "], groups ", d.groups, ": ");
}

Shape x_shape(const Conv2dDesc& d) { return Shape{d.N, d.C, d.H, d.W}; }
Shape w_shape(const Conv2dDesc& d) { return Shape{d.K, d.C / d.groups, d.R, d.S}; }
Shape y_shape(const Conv2dDesc& d) { return Shape{d.N, d.K, d.P(), d.Q()}; }

// dtype f32, shape, and device `dev` for one argument.
void check_arg(const char* op, const char* arg, const Tensor& t, const Shape& s, Device dev) {
    check_defined(op, arg, t);
    check_dtype(op, arg, t, DType::F32);
    check_shape(op, arg, t, s);
    check_device(op, arg, t, dev);
}

}  // namespace

Conv2dDesc conv2d_desc(const Shape& x, const Shape& w, const Conv2dParams& p) {
    const std::string what = str("x ", x.str(), ", w ", w.str(), ": ");
    LRP_CHECK(x.ndim() == 4, "conv2d: ", what, "input must be 4-D (N x C x H x W)");
    LRP_CHECK(w.ndim() == 4, "conv2d: ", what, "weight must be 4-D (K x C/groups x R x S)");
    for (int i = 0; i < 4; ++i)
        LRP_CHECK(x[i] <= INT_MAX && w[i] <= INT_MAX, "conv2d: ", what, "dimension ", i, " exceeds the int range");
    LRP_CHECK(p.groups >= 1, "conv2d: ", what, "groups must be at least 1, got ", p.groups);
    LRP_CHECK(x[1] % p.groups == 0, "conv2d: ", what, "input channels ", x[1], " are not divisible by groups ",
              p.groups);
    LRP_CHECK(w[0] % p.groups == 0, "conv2d: ", what, "output channels ", w[0], " are not divisible by groups ",
              p.groups);
    LRP_CHECK(w[1] * p.groups == x[1], "conv2d: ", what, "weight has ", w[1], " input channels per group, expected ",
              x[1], " / ", p.groups, " = ", x[1] / p.groups);
    Conv2dDesc d;
    d.N = static_cast<int>(x[0]), d.C = static_cast<int>(x[1]), d.H = static_cast<int>(x[2]);
    d.W = static_cast<int>(x[3]);
    d.K = static_cast<int>(w[0]), d.R = static_cast<int>(w[2]), d.S = static_cast<int>(w[3]);
    d.stride_h = p.stride_h, d.stride_w = p.stride_w, d.pad_h = p.pad_h, d.pad_w = p.pad_w;
    d.dil_h = p.dil_h, d.dil_w = p.dil_w, d.groups = p.groups;
    validate("conv2d", d, what);
    return d;
}

void conv2d_fwd(const Conv2dDesc& d, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y) {
    validate("conv2d_fwd", d, desc_str(d));
    check_defined("conv2d_fwd", "x", x);
    const Device dev = x.device();
    check_arg("conv2d_fwd", "x", x, x_shape(d), dev);
    check_arg("conv2d_fwd", "w", w, w_shape(d), dev);
    if (b.defined()) check_arg("conv2d_fwd", "b", b, Shape{d.K}, dev);
    check_arg("conv2d_fwd", "y", y, y_shape(d), dev);
    if (d.N == 0) return;
    LRP_NVTX_RANGE("conv2d_fwd");
    LRP_OP(dev, conv2d_fwd)(kernel_ctx(dev), d, x.data<float>(), w.data<float>(),
                            b.defined() ? b.data<float>() : nullptr, y.data<float>());
}

void conv2d_dgrad(const Conv2dDesc& d, const Tensor& dy, const Tensor& w, const Tensor& dx) {
    validate("conv2d_dgrad", d, desc_str(d));
    check_defined("conv2d_dgrad", "dy", dy);
    const Device dev = dy.device();
    check_arg("conv2d_dgrad", "dy", dy, y_shape(d), dev);
    check_arg("conv2d_dgrad", "w", w, w_shape(d), dev);
    check_arg("conv2d_dgrad", "dx", dx, x_shape(d), dev);
    if (d.N == 0) return;
    LRP_NVTX_RANGE("conv2d_dgrad");
    LRP_OP(dev, conv2d_dgrad)(kernel_ctx(dev), d, dy.data<float>(), w.data<float>(), dx.data<float>());
}

void conv2d_wgrad(const Conv2dDesc& d, const Tensor& x, const Tensor& dy, const Tensor& dw) {
    validate("conv2d_wgrad", d, desc_str(d));
    check_defined("conv2d_wgrad", "x", x);
    const Device dev = x.device();
    check_arg("conv2d_wgrad", "x", x, x_shape(d), dev);
    check_arg("conv2d_wgrad", "dy", dy, y_shape(d), dev);
    check_arg("conv2d_wgrad", "dw", dw, w_shape(d), dev);
    LRP_NVTX_RANGE("conv2d_wgrad");
    if (d.N == 0) {  // an empty batch contributes no gradient
        LRP_OP(dev, fill)(kernel_ctx(dev), dw.data<float>(), 0.f, dw.numel());
        return;
    }
    LRP_OP(dev, conv2d_wgrad)(kernel_ctx(dev), d, x.data<float>(), dy.data<float>(), dw.data<float>());
}

}  // namespace lrp::ops

namespace lrp::kernels {
namespace {
std::atomic<int64_t> g_algo_searches{0}, g_algo_hits{0}, g_algo_nondet{0}, g_algo_transform{0}, g_algo_refused{0};
std::atomic<int64_t> g_max_call_elements{kCudnnMaxTensorElements};
}  // namespace

ConvAlgoCacheStats conv_algo_cache_stats() {
    return {g_algo_searches.load(), g_algo_hits.load(), g_algo_nondet.load(), g_algo_transform.load(),
            g_algo_refused.load()};
}
void conv_algo_record_nondeterministic() { g_algo_nondet.fetch_add(1); }
void conv_algo_record_transform() { g_algo_transform.fetch_add(1); }
void conv_algo_record_refused() { g_algo_refused.fetch_add(1); }
void conv_algo_cache_record(bool hit) { (hit ? g_algo_hits : g_algo_searches).fetch_add(1); }
int64_t conv_max_call_elements() { return g_max_call_elements.load(); }
void set_conv_max_call_elements(int64_t n) { g_max_call_elements.store(n > 0 ? n : kCudnnMaxTensorElements); }

}  // namespace lrp::kernels
