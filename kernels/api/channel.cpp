// Front ends of the per-channel ops: argument checks, NVTX range, dispatch through the op table.
#include "lrp/ops/channel.h"

#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::ops {

namespace {
void check_vec(const char* op, const char* arg, const Tensor& t, int64_t C, Device d) {
    check_dtype(op, arg, t, DType::F32);
    check_shape(op, arg, t, Shape{C});
    check_device(op, arg, t, d);
}
}  // namespace

void channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift, const Tensor& y) {
    const char* op = "channel_affine";
    check_dtype(op, "x", x, DType::F32);
    LRP_CHECK(x.ndim() >= 2, op, ": x has shape ", x.shape().str(), ", expected [N, C, ...]");
    const int64_t N = x.dim(0), C = x.dim(1), HW = N * C == 0 ? 0 : x.numel() / (N * C);
    check_vec(op, "scale", scale, C, x.device());
    if (shift.defined()) check_vec(op, "shift", shift, C, x.device());
    check_shape(op, "y", y, x.shape());
    check_device(op, "y", y, x.device());
    LRP_NVTX_RANGE("channel_affine");
    LRP_OP(x.device(), channel_affine)(kernel_ctx(x.device()), x.data<float>(), scale.data<float>(),
                                       shift.defined() ? shift.data<float>() : nullptr, y.data<float>(),
                                       static_cast<int>(N), static_cast<int>(C), HW);
}

void pixel_scale(const Tensor& x, const Tensor& m, const Tensor& y) {
    const char* op = "pixel_scale";
    check_dtype(op, "x", x, DType::F32);
    LRP_CHECK(x.ndim() == 4, op, ": x has shape ", x.shape().str(), ", expected [N, C, H, W]");
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    check_dtype(op, "m", m, DType::F32);
    LRP_CHECK(m.shape() == Shape({N, H, W}) || m.shape() == Shape({N, 1, H, W}), op, ": m has shape ",
              m.shape().str(), ", expected [", N, ", ", H, ", ", W, "] (or with a channel of 1) for x ", x.shape().str());
    check_device(op, "m", m, x.device());
    check_shape(op, "y", y, x.shape());
    check_device(op, "y", y, x.device());
    LRP_NVTX_RANGE("pixel_scale");
    LRP_OP(x.device(), pixel_scale)(kernel_ctx(x.device()), x.data<float>(), m.data<float>(), y.data<float>(),
                                    static_cast<int>(N), static_cast<int>(C), H * W);
}

Tensor pixel_scale(const Tensor& x, const Tensor& m) {
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    pixel_scale(x, m, y);
    return y;
}

void bn_eval_affine(const Tensor& gamma, const Tensor& beta, const Tensor& mean, const Tensor& var, float eps,
                    const Tensor& scale, const Tensor& shift) {
    const char* op = "bn_eval_affine";
    check_dtype(op, "mean", mean, DType::F32);
    LRP_CHECK(mean.ndim() == 1, op, ": mean has shape ", mean.shape().str(), ", expected [C]");
    LRP_CHECK(eps >= 0.f, op, ": eps must be >= 0 (got ", eps, ")");
    const int64_t C = mean.dim(0);
    const Device d = mean.device();
    if (gamma.defined()) check_vec(op, "gamma", gamma, C, d);
    if (beta.defined()) check_vec(op, "beta", beta, C, d);
    check_vec(op, "var", var, C, d);
    check_vec(op, "scale", scale, C, d);
    check_vec(op, "shift", shift, C, d);
    LRP_NVTX_RANGE("bn_eval_affine");
    LRP_OP(d, bn_eval_affine)(kernel_ctx(d), static_cast<int>(C), eps,
                              gamma.defined() ? gamma.data<float>() : nullptr,
                              beta.defined() ? beta.data<float>() : nullptr, mean.data<float>(), var.data<float>(),
                              scale.data<float>(), shift.data<float>());
}

void dropout_mask(const Tensor& mask, Generator& g, float p) {
    check_dtype("dropout_mask", "mask", mask, DType::F32);
    LRP_CHECK(p >= 0.f && p < 1.f, "dropout_mask: p must be in [0, 1) (got ", p, ")");
    const uint64_t n = static_cast<uint64_t>(mask.numel());
    const uint64_t offset = g.reserve(philox_uniform_counters(n));
    LRP_NVTX_RANGE("dropout_mask");
    LRP_OP(mask.device(), dropout_mask)(kernel_ctx(mask.device()), g.seed(), offset, p, mask.data<float>(),
                                        mask.numel());
}

}  // namespace lrp::ops
