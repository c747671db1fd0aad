// Learning-rate schedules as pure functions of the step (so resume needs only the step count):
// constant, step decay, cosine with linear warmup, and PyTorch's OneCycleLR (cosine annealing).
#pragma once
#include <cstdint>
#include <string>

namespace lrp::train {

struct LrSchedule {
    std::string kind = "constant";  // constant | step | cosine | onecycle
    float base_lr = 0.1f;           // peak LR (onecycle: max_lr)
    int64_t total_steps = 1;        // steps in the whole run (cosine, onecycle)
    // step: lr = base_lr * gamma^(floor(step / step_size))
    int64_t step_size = 1;
    float gamma = 0.1f;
    // cosine: linear warmup over warmup_steps (base_lr * (k + 1) / warmup_steps at step k), then cosine from base_lr
    // to min_lr
    int64_t warmup_steps = 0;
    float min_lr = 0.f;
    // onecycle (PyTorch defaults): start base_lr/div_factor, end start/final_div_factor
    float pct_start = 0.3f;
    float div_factor = 25.f;
    float final_div_factor = 1e4f;
    // onecycle with cycle_momentum (PyTorch's OneCycleLR(cycle_momentum=True)): the momentum (SGD) or beta1 (AdamW)
    // moves against the LR, max_momentum -> base_momentum while the LR rises, back to max_momentum as it falls.
    bool cycle_momentum = false;
    float base_momentum = 0.85f, max_momentum = 0.95f;

    void validate() const;            // throws naming the bad field
    float lr_at(int64_t step) const;  // step counts from 0
    // The momentum at a step; only for onecycle with cycle_momentum (an error otherwise).
    float momentum_at(int64_t step) const;
};

struct TrainConfig;
// The run's schedule from its settings, steps_per_epoch optimizer steps per epoch (warns when a cosine
// --warmup-epochs is shorter than one step).
LrSchedule make_schedule(const TrainConfig& c, int64_t steps_per_epoch);

}  // namespace lrp::train
