// The RelDrop training step (reldrop.md 1, 2, 5): an eval-mode LRP pass of the target class on the current
// (BN-folded) weights, the channel-summed map, device-side occlusion of a copy of the batch, then the
// ordinary train step on the occluded batch. One stream, no host synchronisation, no device-to-host copy.
#pragma once
#include <string>

#include "lrp/generator.h"
#include "lrp/lrp/composites.h"
#include "lrp/ops/reldrop.h"
#include "lrp/train/config.h"
#include "lrp/train/step.h"

namespace lrp::train {

struct RelDropSettings {
    ops::RelDropParams params;          // variant, p, alpha, beta, k, coin, fill, box geometry
    std::string composite = "reldrop";  // any explain::known_composites() name (reldrop.md 2.2 by default)
    explain::CompositeOptions composite_options;  // epsilon (reldrop: 1e-3), bounds for epsilon_gamma_box, ...
    // "label" (the reference: one-hot of the true class), "pred", or either "*logit": one-hot x that logit
    // (reldrop.md Q10; a negative logit flips the map's sign, so the top-k and the pixel ranks turn around)
    std::string target = "label";
    // reldrop.md Q7: with per-sample coins, run the attribution on the samples whose coin selects them only
    // (samples are independent in eval mode, so their maps are the same up to the rounding of a batched GEMM of
    // another size); off = the whole batch, as the reference
    bool lrp_selected_only = false;
};

// Holds the composite (rebound to the current weights on every call) and applies RelDrop to batches.
class RelDrop {
public:
    explicit RelDrop(RelDropSettings s);  // validates the settings that do not depend on the batch shape

    // Returns an occluded copy of x (F32 [N, C, H, W], normalised) for labels (I32 [N], on x's device).
    // When a per-batch coin fails (or, with lrp_selected_only, no per-sample coin selects), no attribution runs
    // and x itself is returned (not a copy). Reserves
    // ops::reldrop_counters() counters from g either way, so the stream of decisions does not depend on
    // whether the pass ran. status (optional, I32 [N]) receives kernels::RelDropStatus per sample.
    // The model's train/eval mode is restored; its BN running statistics are not touched.
    Tensor occlude(nn::Module& model, const Tensor& x, const Tensor& labels, Generator& g,
                   const Tensor& status = Tensor());

    const RelDropSettings& settings() const { return s_; }
    // Samples the last occlude() ran the attribution on (0 when it skipped it).
    int64_t last_attributed() const { return last_attributed_; }
    const explain::Composite& composite() const { return composite_; }

private:
    RelDropSettings s_;
    explain::Composite composite_;
    int64_t last_attributed_ = 0;
};

// occlude() then train_step() on the occluded batch. *trained_input (optional) receives the batch the
// model was trained on.
StepResult reldrop_train_step(nn::Module& model, Optimizer& opt, RelDrop& reldrop, const Tensor& x,
                              const Tensor& labels, Generator& g, const StepOptions& o = {},
                              Tensor* trained_input = nullptr, const Tensor& status = Tensor());

// The number of rows of x (clean, before occlusion) that the model in eval mode classifies as `labels`, as a
// [1] float on the device: an eval-mode forward (BN running statistics, not updated; no dropout), its saved
// activations dropped and the model's mode restored. No host synchronisation (reldrop.md Q19).
Tensor clean_batch_correct(nn::Module& model, const Tensor& x, const Tensor& labels);

// Composite options for images normalised with mean/stdev (raw [0, 1] units): ZBox bounds (epsilon_gamma_box)
// at the normalised raw 0 and 1 per channel (reldrop.md 2.4); epsilon > 0 overrides the composite's Epsilon.
explain::CompositeOptions dataset_composite_options(const std::vector<float>& mean, const std::vector<float>& stdev,
                                                    float epsilon = 0.f);

// One line for logs: "RelDrop block: p 0.5, k 1, coin reference, fill [...], composite reldrop, target label".
std::string describe(const RelDropSettings& s);

// The RelDrop settings of a training run (cfg.reldrop() must hold; defaults resolved) for images of
// C x H x W normalised with mean/stdev. Validates everything against that shape (k <= H*W, fill, ...).
RelDropSettings reldrop_settings(const TrainConfig& cfg, const std::vector<float>& mean,
                                 const std::vector<float>& stdev, int C, int H, int W);

}  // namespace lrp::train
