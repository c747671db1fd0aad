// Checked front ends for batch norm (x is N x C x H x W, or N x C): check dtypes, shapes, devices and
// hyper-parameters once (PyTorch's rules, e.g. more than one value per channel in training), then call
// the device's op-table entry.
#include "lrp/ops/batchnorm.h"

#include <climits>
#include <cmath>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::ops {

using kernels::BatchNormDesc;

namespace {

// Descriptor of x (N x C x H x W or N x C), after checking that x is f32.
BatchNormDesc bn_desc(const char* op, const Tensor& x) {
    check_dtype(op, "x", x, DType::F32);
    LRP_CHECK(x.ndim() == 4 || x.ndim() == 2, op, ": x must be N x C x H x W or N x C, got ", x.shape().str());
    LRP_CHECK(x.dim(0) <= INT_MAX && x.dim(1) <= INT_MAX, op, ": x too large: ", x.shape().str());
    LRP_CHECK(x.dim(1) >= 1, op, ": x has no channels: ", x.shape().str());
    BatchNormDesc d;
    d.N = static_cast<int>(x.dim(0));
    d.C = static_cast<int>(x.dim(1));
    d.HW = x.ndim() == 4 ? x.dim(2) * x.dim(3) : 1;
    return d;
}

// A per-channel f32 vector of length C on x's device.
void check_channel(const char* op, const char* arg, const Tensor& t, const Tensor& x, const BatchNormDesc& d) {
    check_dtype(op, arg, t, DType::F32);
    check_shape(op, arg, t, Shape{d.C});
    check_device(op, arg, t, x.device());
}

// Same shape, dtype f32 and device as x.
void check_like_x(const char* op, const char* arg, const Tensor& t, const Tensor& x) {
    check_dtype(op, arg, t, DType::F32);
    check_shape(op, arg, t, x.shape());
    check_device(op, arg, t, x.device());
}

void check_eps(const char* op, float eps) {
    LRP_CHECK(eps > 0.f && std::isfinite(eps), op, ": eps must be positive and finite, got ", eps);
}

}  // namespace

void batchnorm_fwd_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, float momentum,
                         const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                         const Tensor& running_mean, const Tensor& running_var) {
    const char* op = "batchnorm_fwd_train";
    BatchNormDesc d = bn_desc(op, x);
    check_eps(op, eps);
    LRP_CHECK(momentum >= 0.f && momentum <= 1.f, op, ": momentum must be in [0, 1], got ", momentum);
    LRP_CHECK(static_cast<int64_t>(d.N) * d.HW > 1, op,
              ": expected more than 1 value per channel when training, got input of shape ", x.shape().str(),
              " (one image whose feature map is 1 x 1 here: train with a batch size of at least 2)");
    check_channel(op, "gamma", gamma, x, d);
    check_channel(op, "beta", beta, x, d);
    check_channel(op, "save_mean", save_mean, x, d);
    check_channel(op, "save_invstd", save_invstd, x, d);
    check_channel(op, "running_mean", running_mean, x, d);
    check_channel(op, "running_var", running_var, x, d);
    check_like_x(op, "y", y, x);
    d.eps = eps;
    d.momentum = momentum;
    LRP_NVTX_RANGE("batchnorm_fwd_train");
    LRP_OP(x.device(), bn_fwd_train)
    (kernel_ctx(x.device()), d, x.data<float>(), gamma.data<float>(), beta.data<float>(), y.data<float>(),
     save_mean.data<float>(), save_invstd.data<float>(), running_mean.data<float>(), running_var.data<float>());
}

void batchnorm_fwd_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                        const Tensor& running_var, float eps, const Tensor& y) {
    const char* op = "batchnorm_fwd_eval";
    BatchNormDesc d = bn_desc(op, x);
    check_eps(op, eps);
    check_channel(op, "gamma", gamma, x, d);
    check_channel(op, "beta", beta, x, d);
    check_channel(op, "running_mean", running_mean, x, d);
    check_channel(op, "running_var", running_var, x, d);
    check_like_x(op, "y", y, x);
    d.eps = eps;
    LRP_NVTX_RANGE("batchnorm_fwd_eval");
    LRP_OP(x.device(), bn_fwd_eval)
    (kernel_ctx(x.device()), d, x.data<float>(), gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
     running_var.data<float>(), y.data<float>());
}

void batchnorm_bwd(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                   const Tensor& save_invstd, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) {
    const char* op = "batchnorm_bwd";
    BatchNormDesc d = bn_desc(op, x);
    LRP_CHECK(static_cast<int64_t>(d.N) * d.HW > 1, op,
              ": expected more than 1 value per channel (backward of training-mode batch norm), got ", x.shape().str());
    check_like_x(op, "dy", dy, x);
    check_channel(op, "gamma", gamma, x, d);
    check_channel(op, "save_mean", save_mean, x, d);
    check_channel(op, "save_invstd", save_invstd, x, d);
    check_like_x(op, "dx", dx, x);
    check_channel(op, "dgamma", dgamma, x, d);
    check_channel(op, "dbeta", dbeta, x, d);
    LRP_NVTX_RANGE("batchnorm_bwd");
    LRP_OP(x.device(), bn_bwd)
    (kernel_ctx(x.device()), d, x.data<float>(), dy.data<float>(), gamma.data<float>(), save_mean.data<float>(),
     save_invstd.data<float>(), dx.data<float>(), dgamma.data<float>(), dbeta.data<float>());
}

}  // namespace lrp::ops
