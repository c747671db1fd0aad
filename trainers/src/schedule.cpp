// LR schedule formulas (PyTorch's StepLR, cosine with warmup, OneCycleLR with cosine annealing).
#include "lrp/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "lrp/error.h"
#include "lrp/log.h"
#include "lrp/train/config.h"

namespace lrp::train {

namespace {
double cos_anneal(double start, double end, double pct) { return end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1); }
}  // namespace

void LrSchedule::validate() const {
    LRP_CHECK(kind == "constant" || kind == "step" || kind == "cosine" || kind == "onecycle", "unknown LR schedule '",
              kind, "' (expected constant, step, cosine or onecycle)");
    LRP_CHECK(std::isfinite(base_lr) && base_lr >= 0, "LR schedule: lr must be >= 0 (got ", base_lr, ")");
    LRP_CHECK(total_steps >= 1, "LR schedule: total steps must be >= 1 (got ", total_steps, ")");
    LRP_CHECK(step_size >= 1, "LR schedule: step size must be >= 1 (got ", step_size, ")");
    LRP_CHECK(gamma > 0, "LR schedule: gamma must be > 0 (got ", gamma, ")");
    LRP_CHECK(kind != "cosine" || (warmup_steps >= 0 && warmup_steps < total_steps),
              "LR schedule: warmup steps must be in [0, total steps) (got ", warmup_steps, ")");
    LRP_CHECK(min_lr >= 0, "LR schedule: min lr must be >= 0");
    LRP_CHECK(pct_start > 0 && pct_start < 1, "LR schedule: pct_start must be in (0, 1)");
    LRP_CHECK(div_factor > 0 && final_div_factor > 0, "LR schedule: div factors must be > 0");
    LRP_CHECK(!cycle_momentum || kind == "onecycle", "cycle momentum: needs the onecycle schedule (got ", kind, ")");
    LRP_CHECK(!cycle_momentum || (base_momentum >= 0 && base_momentum <= max_momentum && max_momentum < 1),
              "cycle momentum: need 0 <= base momentum <= max momentum < 1 (got ", base_momentum, " and ",
              max_momentum, ")");
}

namespace {
// OneCycleLR's two phases (three_phase=False) at step s: the phase's start and end values and the fraction done.
struct Phase {
    bool rising;  // the first phase (LR up, momentum down)
    double pct;
};
Phase onecycle_phase(const LrSchedule& s, int64_t step) {
    const double end1 = double(s.pct_start) * s.total_steps - 1, end2 = double(s.total_steps) - 1;
    const double at = std::min<double>(std::max<int64_t>(step, 0), end2);
    if (at <= end1) return {true, end1 > 0 ? at / end1 : 1.0};
    return {false, (at - end1) / std::max(1e-12, end2 - end1)};
}
}  // namespace

float LrSchedule::momentum_at(int64_t step) const {
    LRP_CHECK(kind == "onecycle" && cycle_momentum, "momentum_at: only the onecycle schedule cycles momentum");
    const Phase p = onecycle_phase(*this, step);
    return static_cast<float>(p.rising ? cos_anneal(max_momentum, base_momentum, p.pct)
                                       : cos_anneal(base_momentum, max_momentum, p.pct));
}

float LrSchedule::lr_at(int64_t step) const {
    step = std::max<int64_t>(step, 0);
    if (kind == "constant") return base_lr;
    if (kind == "step") return static_cast<float>(base_lr * std::pow(double(gamma), double(step / step_size)));
    if (kind == "cosine") {
        if (step < warmup_steps) return static_cast<float>(double(base_lr) * (step + 1) / warmup_steps);
        const double span = std::max<int64_t>(1, total_steps - warmup_steps);
        const double pct = std::min(1.0, double(step - warmup_steps) / span);
        return static_cast<float>(cos_anneal(base_lr, min_lr, pct));
    }
    // onecycle, as torch.optim.lr_scheduler.OneCycleLR(anneal_strategy="cos", three_phase=False)
    const double initial = double(base_lr) / div_factor, final_lr = initial / final_div_factor;
    const Phase p = onecycle_phase(*this, step);
    return static_cast<float>(p.rising ? cos_anneal(initial, base_lr, p.pct) : cos_anneal(base_lr, final_lr, p.pct));
}

LrSchedule make_schedule(const TrainConfig& c, int64_t steps_per_epoch) {
    LrSchedule s;
    s.kind = c.schedule;
    s.base_lr = c.lr;
    s.total_steps = steps_per_epoch * c.epochs;
    s.warmup_steps = static_cast<int64_t>(c.warmup_epochs * steps_per_epoch);
    s.min_lr = c.min_lr;
    if (c.schedule == "cosine" && c.warmup_epochs > 0.f && s.warmup_steps == 0)
        log_warn("--warmup-epochs ", c.warmup_epochs, " is less than one step of ", steps_per_epoch,
                 " per epoch: the run has no warmup");
    s.step_size = steps_per_epoch * c.step_epochs;
    s.gamma = c.step_gamma;
    s.cycle_momentum = c.cycle_momentum;
    s.base_momentum = c.base_momentum;
    s.max_momentum = c.max_momentum;
    s.validate();
    return s;
}

}  // namespace lrp::train
