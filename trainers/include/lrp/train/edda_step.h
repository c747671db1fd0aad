// The EDDA training step (docs/edda.md; isnet-edda.md B.3, an engineering proposal: the paper's procedure is
// not published): an eval-mode LRP pass, per sample the most and the least relevant window occluded in two
// copies, then one train step on [clean; salient-occluded; non-salient-occluded] with a target per part.
#pragma once
#include <string>
#include <vector>

#include "lrp/lrp/composites.h"
#include "lrp/ops/edda.h"
#include "lrp/train/config.h"
#include "lrp/train/step.h"

namespace lrp::train {

struct EddaSettings {
    std::string composite = "reldrop";            // any explain::known_composites() name
    explain::CompositeOptions composite_options;  // epsilon, ZBox bounds, ...
    std::string target = "label";                 // the class explained: label | pred
    ops::EddaReduce reduce = ops::EddaReduce::Sum;  // channel reduction of the map
    int patch = 1;                                // side of the occluded square window, in [1, min(H, W)]
    // Target of the salient-occluded copy: (1 - s) one_hot(label) + s / K; 1 = uniform (the default: occluding
    // what the model relies on should leave it unsure), 0 = the label (RelDrop-like).
    float salient_smoothing = 1.f;
    float w_clean = 1.f, w_salient = 1.f, w_nonsalient = 1.f;  // loss weights of the three parts (>= 0, sum > 0)
    std::vector<float> fill;                      // per channel (C values, or 1), normalised units
};

// The parts of one EDDA step, all on the device (no host synchronisation).
struct EddaStepResult {
    StepResult step;            // loss: the weighted loss; correct: on the clean rows; logits: [3N, K]
    Tensor salient_correct;     // [1] salient-occluded copies still classified as their label
    Tensor nonsalient_correct;  // [1] non-salient-occluded copies classified as their label
    Tensor nonfinite;           // [1] samples whose map held NaN or Inf (copies left clean and weighted 0)
    // [1] samples with a finite map whose most and least relevant windows coincide (a constant map, e.g. all zero,
    // or one window), so that the salient and the non-salient copy are one image
    Tensor coincident;
};

class Edda {
public:
    explicit Edda(EddaSettings s);  // validates what does not depend on the batch shape

    // [x; x with its most relevant window filled; x with its least relevant window filled] (F32 [3N, C, H, W])
    // for labels (I32 [N]). *pos (optional) receives the windows (I32 [2, N], ops::edda_select), *valid (optional)
    // 1 per sample with a finite map, else 0 (F32 [N]), *relevance (optional) the maps (F32 [N, C, H, W]). The
    // model's mode is restored; BN statistics untouched.
    Tensor augment(nn::Module& model, const Tensor& x, const Tensor& labels, Tensor* pos = nullptr,
                   Tensor* valid = nullptr, Tensor* relevance = nullptr);

    const EddaSettings& settings() const { return s_; }
    // The composite of the attributions (bound to the model of the last augment()).
    const explain::Composite& composite() const { return composite_; }

private:
    EddaSettings s_;
    explain::Composite composite_;
};

// augment(), then one train-mode step on the 3N rows: loss = sum over rows of w_part * CE(row, target_part) /
// (N * (w_clean + w_salient + w_nonsalient)), targets: clean and non-salient the label (with o.label_smoothing),
// salient-occluded smoothed by salient_smoothing; the copies of a sample with a non-finite map weigh 0.
// *trained_input (optional) receives the 3N rows trained on.
EddaStepResult edda_train_step(nn::Module& model, Optimizer& opt, Edda& edda, const Tensor& x, const Tensor& labels,
                               const StepOptions& o = {}, Tensor* trained_input = nullptr);

// The loss of edda_train_step for logits (F32 [3N, K]: clean, salient-occluded, non-salient-occluded rows) and
// labels (I32 [N]): returns it ([1]) and writes its gradient into dlogits ([3N, K]). valid (F32 [N], 1 or 0)
// weighs each sample's two copies. The denominator N * (w_clean + w_salient + w_nonsalient) counts every row,
// also the copies valid leaves out (isnet-edda.md B.3 divides by the weights present; the difference appears
// only for non-finite maps).
Tensor edda_loss(const Tensor& logits, const Tensor& labels, const Tensor& valid, const EddaSettings& s,
                 float label_smoothing, const Tensor& dlogits);

// One line for logs.
std::string describe(const EddaSettings& s);

// --edda-salient-target as the salient copy's label smoothing: uniform 1, label 0, smooth:<s> s in [0, 1]; throws
// naming the flag otherwise.
float parse_edda_salient_target(const std::string& v);

// The side of EDDA's window for --edda-patch `patch` on H x W images: 0 means a quarter of the smaller side, rounded up.
int edda_patch_side(int patch, int H, int W);

// The EDDA settings of a training run (cfg.augment == "edda") for C x H x W images normalised with mean/stdev.
EddaSettings edda_settings(const TrainConfig& cfg, const std::vector<float>& mean, const std::vector<float>& stdev,
                           int C, int H, int W);

}  // namespace lrp::train
