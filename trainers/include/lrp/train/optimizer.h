// Optimisers over a model's named parameters, with PyTorch's semantics (fused update kernels):
// SGD (momentum, dampening, Nesterov, weight decay) and AdamW. A parameter whose gradient is
// undefined or zeroed since the last zero_grad() is skipped, as PyTorch skips grad=None.
// Their state (buffers, step counts) round-trips through state_dict() for checkpoints.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lrp/kernels/descs.h"
#include "lrp/nn/module.h"

namespace lrp::train {

using NamedParams = std::vector<std::pair<std::string, nn::Param*>>;

class Optimizer {
public:
    explicit Optimizer(NamedParams params);
    virtual ~Optimizer() = default;
    virtual void step() = 0;
    virtual const char* kind() const = 0;
    float lr() const { return lr_; }
    void set_lr(float lr);
    // SGD's momentum or AdamW's beta1 from the next step on (a cycled momentum: LrSchedule::momentum_at), in [0, 1).
    virtual void set_momentum(float m) = 0;
    int64_t steps() const { return steps_; }
    // State as tensors named "<kind>.<param>.<slot>" plus "<kind>.step"; loaded on the params' device.
    virtual nn::StateDict state_dict() const = 0;
    virtual void load_state_dict(const nn::StateDict& sd) = 0;

protected:
    NamedParams params_;
    float lr_ = 0.f;
    int64_t steps_ = 0;
};

class SGD : public Optimizer {
public:
    SGD(NamedParams params, const kernels::SgdParams& p);
    void step() override;
    const char* kind() const override { return "sgd"; }
    void set_momentum(float m) override;
    nn::StateDict state_dict() const override;
    void load_state_dict(const nn::StateDict& sd) override;

private:
    kernels::SgdParams p_;
    std::vector<Tensor> buf_;
    std::vector<bool> has_buf_;
};

class AdamW : public Optimizer {
public:
    AdamW(NamedParams params, const kernels::AdamWParams& p);
    void step() override;
    const char* kind() const override { return "adamw"; }
    void set_momentum(float m) override;
    nn::StateDict state_dict() const override;
    void load_state_dict(const nn::StateDict& sd) override;

private:
    kernels::AdamWParams p_;
    std::vector<Tensor> m_, v_;
    std::vector<int64_t> t_;  // per-parameter step (PyTorch keeps one per parameter)
};

// Scales all gradients so their global L2 norm is at most max_norm (PyTorch's clip_grad_norm_: factor
// min(max_norm / (norm + 1e-6), 1)); returns the norm before clipping as a one-element tensor on the
// gradients' device (undefined without gradients). Everything stays on the device: no host read, so a
// training step with clipping can be captured into a CUDA graph.
Tensor clip_grad_norm(const NamedParams& params, float max_norm);

struct TrainConfig;
// The run's optimizer from its settings: SGD (momentum, Nesterov, weight decay) or AdamW (betas, eps, decay).
std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, NamedParams params);

}  // namespace lrp::train
