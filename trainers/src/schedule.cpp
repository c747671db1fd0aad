// LR schedule formulas (PyTorch's StepLR, cosine with warmup, OneCycleLR with cosine annealing).
#include "lrp/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "lrp/error.h"

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
    const double end1 = double(pct_start) * total_steps - 1, end2 = double(total_steps) - 1;
    const double s = std::min<double>(step, end2);
    if (s <= end1) return static_cast<float>(cos_anneal(initial, base_lr, end1 > 0 ? s / end1 : 1.0));
    return static_cast<float>(cos_anneal(base_lr, final_lr, (s - end1) / std::max(1e-12, end2 - end1)));
}

}  // namespace lrp::train
