// Saliency Guided Training (Ismail et al., NeurIPS 2021; isnet-edda.md Part C; docs/sgt.md): per sample the k least
// salient pixels are filled, and the step minimises CE(f(x), y) + lambda KL(softmax f(x) || softmax f(x_masked)).
#pragma once
#include <string>
#include <vector>

#include "lrp/generator.h"
#include "lrp/lrp/composites.h"
#include "lrp/train/config.h"
#include "lrp/train/step.h"

namespace lrp::train {

enum class SgtFill { Random, ImageMean, Constant };

struct SgtSettings {
    float frac = 0.1f;    // masked fraction of the H W pixels: k = max(1, floor(frac H W)); (0, 1]
    float lambda = 1.f;   // weight of the KL term, finite, >= 0
    // "gradient": the input gradient of the label's logit; "logprob-gradient": of the label's log-probability (the
    // authors' Captum Saliency on their MNIST net, which ends in log_softmax); else an LRP composite (any
    // explain::known_composites() name) explaining the label
    std::string saliency = "gradient";
    explain::CompositeOptions composite_options;  // for an LRP saliency
    bool abs = false;     // rank pixels by |saliency| (the authors' --abs; off: by the signed value)
    // Random: uniform in [min, max] of the sample's channel (the authors' --RandomMasking); ImageMean: the
    // sample's channel mean (their meanMask); Constant: `constant` (per channel, normalised units)
    SgtFill fill = SgtFill::Random;
    std::vector<float> constant;
    bool detach_clean = false;  // the clean prediction as a constant KL target (the authors do not detach it)
};

// One SGT step's parts, all on the device (no host synchronisation).
struct SgtStepResult {
    StepResult step;        // loss: CE + lambda KL (batch means); correct: of the clean rows; logits: clean [N, K]
    Tensor masked_correct;  // [1] masked images classified as their label
    Tensor kl;              // [1] the KL term's batch mean (without lambda)
    Tensor nonfinite;       // [1] samples whose saliency held NaN or Inf (left unmasked, KL weight 0)
};

class Sgt {
public:
    explicit Sgt(SgtSettings s);  // validates what does not depend on the batch

    // x (F32 [N, C, H, W]) with each sample's k least salient pixels filled (a new tensor); saliency for labels
    // (I32 [N]) with the model in eval mode (restored afterwards; BN statistics untouched). *valid (optional): F32
    // [N], 1 for a sample with a finite map, else 0 (that sample is returned unmasked). Draws from g (sgt_fill).
    Tensor mask(nn::Module& model, const Tensor& x, const Tensor& labels, Generator& g, Tensor* valid = nullptr);

    // mask(), then one train-mode update on CE(f(x), y) + lambda KL(softmax f(x) || softmax f(x_masked)), each a
    // batch mean (KL as PyTorch's KLDivLoss batchmean), f(x) and f(x_masked) separate train-mode forwards (their
    // own batch statistics; running statistics updated by x, then x_masked, once each, as the authors' code).
    // *masked_input (optional) receives x_masked.
    SgtStepResult step(nn::Module& model, Optimizer& opt, const Tensor& x, const Tensor& labels, Generator& g,
                       const StepOptions& o = {}, Tensor* masked_input = nullptr);

    const SgtSettings& settings() const { return s_; }
    int pixels(int64_t H, int64_t W) const;  // k for an H x W image

private:
    Tensor saliency(nn::Module& model, const Tensor& x, const Tensor& labels);
    void fill_bounds(const Tensor& x, Tensor& lo, Tensor& hi);

    SgtSettings s_;
    explain::Composite composite_;  // the LRP saliency's (unused for gradient)
    Tensor constant_;               // Constant fill as [N, C], cached per batch size and device
};

// One line for logs.
std::string describe(const SgtSettings& s);

// The SGT settings of a training run (cfg.augment == "sgt") for C-channel images normalised with mean/stdev.
SgtSettings sgt_settings(const TrainConfig& cfg, const std::vector<float>& mean, const std::vector<float>& stdev);

}  // namespace lrp::train
