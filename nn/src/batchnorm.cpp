// BatchNorm2d forward (train/eval), backward for both modes, and the eval-mode affine form.
#include "lrp/nn/batchnorm.h"

#include "lrp/nvtx.h"
#include "lrp/ops/batchnorm.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"

namespace lrp::nn {

BatchNorm2d::BatchNorm2d(int c, float eps_, float momentum_) : channels(c), eps(eps_), momentum(momentum_) {
    LRP_CHECK(c > 0, "BatchNorm2d: channels must be positive");
    weight.value = ops::full({c}, 1.f);
    bias.value = Tensor::zeros({c});
    running_mean = Tensor::zeros({c});
    running_var = ops::full({c}, 1.f);
    num_batches_tracked = Tensor::zeros({}, DType::I64);
    register_param("weight", weight);
    register_param("bias", bias);
    register_buffer("running_mean", running_mean);
    register_buffer("running_var", running_var);
    register_buffer("num_batches_tracked", num_batches_tracked, /*host=*/true);
}

const Tensor& BatchNorm2d::saved_input() const {
    LRP_CHECK(x_.defined(), "BatchNorm2d '", name(), "': no stored input (run forward first)");
    return x_;
}

void BatchNorm2d::clear_saved() {
    x_ = Tensor();
    save_mean_ = Tensor();
    save_invstd_ = Tensor();
}

Tensor BatchNorm2d::forward(const Tensor& x) {
    LRP_NVTX_RANGE("BatchNorm2d.forward");
    LRP_CHECK((x.ndim() == 4 || x.ndim() == 2) && x.dim(1) == channels, "BatchNorm2d '", name(), "': input ",
              x.shape().str(), ", expected [N, ", channels, ", H, W]");
    x_ = x;
    saved_train_ = training_;
    saved_folded_ = folded_scale;
    if (folded_scale) {
        LRP_CHECK(!training_, "BatchNorm2d '", name(), "': folded (LRP attribution) in train mode");
        return *folded_scale == 1.f ? x : ops::scale(x, *folded_scale);
    }
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    if (training_) {
        save_mean_ = Tensor::empty({channels}, DType::F32, x.device());
        save_invstd_ = Tensor::empty({channels}, DType::F32, x.device());
        ops::batchnorm_fwd_train(x, weight.value, bias.value, eps, momentum, y, save_mean_, save_invstd_,
                                 running_mean, running_var);
        num_batches_tracked.data<int64_t>()[0] += 1;
    } else {
        ops::batchnorm_fwd_eval(x, weight.value, bias.value, running_mean, running_var, eps, y);
    }
    return y;
}

std::pair<Tensor, Tensor> BatchNorm2d::eval_scale_shift() const {
    Device d = running_mean.device();
    Tensor scale = Tensor::empty({channels}, DType::F32, d), shift = Tensor::empty({channels}, DType::F32, d);
    ops::bn_eval_affine(weight.value, bias.value, running_mean, running_var, eps, scale, shift);
    return {scale, shift};
}

Tensor BatchNorm2d::saved_invstd() const {
    saved_input();
    LRP_CHECK(!saved_folded_, "BatchNorm2d '", name(), "': the last forward was folded for an LRP attribution");
    if (saved_train_) return save_invstd_;
    Device d = running_var.device();
    Tensor a = Tensor::empty({channels}, DType::F32, d), b = Tensor::empty({channels}, DType::F32, d);
    ops::bn_eval_affine(Tensor(), Tensor(), running_mean, running_var, eps, a, b);
    return a;
}

Tensor BatchNorm2d::backward(const Tensor& dy, bool acc) {
    LRP_NVTX_RANGE("BatchNorm2d.backward");
    const Tensor& x = saved_input();
    if (saved_folded_) {
        LRP_CHECK(!acc, "BatchNorm2d '", name(), "': parameter gradients of a BN folded for an LRP attribution");
        return *saved_folded_ == 1.f ? dy : ops::scale(dy, *saved_folded_);
    }
    Tensor dx = Tensor::empty(x.shape(), DType::F32, dy.device());
    // written straight into the gradients when they are zeroed (acc false: nothing reads them)
    Tensor dgamma = acc ? grad_destination(weight, dy.device()) : Tensor::empty({channels}, DType::F32, dy.device());
    Tensor dbeta = acc ? grad_destination(bias, dy.device()) : Tensor::empty({channels}, DType::F32, dy.device());
    if (saved_train_) {
        ops::batchnorm_bwd(x, dy, weight.value, save_mean_, save_invstd_, dx, dgamma, dbeta);
    } else {
        // Eval mode is the per-channel affine map y = x * scale + shift: dx = dy * scale,
        // dgamma = sum(dy * xhat) with xhat = (x - mean) / sqrt(var + eps), dbeta = sum(dy).
        auto [scale, shift] = eval_scale_shift();
        ops::channel_affine(dy, scale, Tensor(), dx);
        if (!acc) return dx;  // input gradient only (e.g. an LRP gradient rule): no dgamma / dbeta work
        Tensor a = Tensor::empty({channels}, DType::F32, dy.device()), b = Tensor::empty({channels}, DType::F32, dy.device());
        ops::bn_eval_affine(Tensor(), Tensor(), running_mean, running_var, eps, a, b);
        Tensor xhat = Tensor::empty(x.shape(), DType::F32, dy.device());
        ops::channel_affine(x, a, b, xhat);
        ops::mul(xhat, dy, xhat);
        ops::reduce_channels(xhat, dgamma);
        ops::reduce_channels(dy, dbeta);
    }
    if (acc) {
        accumulate_grad(weight, std::move(dgamma));
        accumulate_grad(bias, std::move(dbeta));
    }
    return dx;
}

}  // namespace lrp::nn
