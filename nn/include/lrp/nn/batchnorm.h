// BatchNorm2d with PyTorch semantics: batch statistics in train mode (running statistics updated with
// momentum and the unbiased variance), running statistics in eval mode; torchvision buffer names.
#pragma once
#include <optional>

#include "lrp/nn/module.h"

namespace lrp::nn {

class BatchNorm2d : public Module {
public:
    explicit BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f);
    const char* type() const override { return "BatchNorm2d"; }
    Tensor forward(const Tensor& x) override;  // N x C x H x W (or N x C)
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    void clear_saved() override;

    // Per-channel scale and shift of the eval-mode transform y = x * scale + shift (for folding).
    std::pair<Tensor, Tensor> eval_scale_shift() const;
    const Tensor& saved_input() const;
    // Per channel 1 / sqrt(var + eps) of the last forward: the batch variance after a train-mode forward,
    // the running one after an eval-mode forward (the forward with its statistics held constant scales by
    // gamma times this).
    Tensor saved_invstd() const;

    int channels;
    float eps, momentum;
    // LRP attribution support (lrp::explain::ScopedAttributionForward; never in training): while set, this
    // BN is folded into the layer before it, so its eval forward is x * folded_scale (x itself for 1;
    // zennit 0.5.1's neutralised BN leaves 1/sqrt(1 + eps)) and its backward dy * folded_scale.
    std::optional<float> folded_scale;
    Param weight, bias;
    Tensor running_mean, running_var, num_batches_tracked;

private:
    Tensor x_, save_mean_, save_invstd_;
    bool saved_train_ = false;
    std::optional<float> saved_folded_;  // folded_scale of the last forward
};

}  // namespace lrp::nn
