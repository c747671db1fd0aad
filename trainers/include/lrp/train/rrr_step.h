// Right for the Right Reasons (Ross, Hughes & Doshi-Velez, IJCAI 2017; docs/rrr.md): the training step that adds to
// the cross-entropy a penalty on the input gradient of sum_k log p_k over the background pixels. The gradient is
// differentiated into the weights through LRP-Flex's pass with plain ReLUs (lrp/flex.h). No host synchronisation.
#pragma once
#include <string>
#include <vector>

#include "lrp/lrp/flex.h"
#include "lrp/nn/module.h"
#include "lrp/train/config.h"
#include "lrp/train/optimizer.h"
#include "lrp/train/step.h"

namespace lrp::train {

struct RrrSettings {
    float lambda = 1000.f;  // penalty weight (the authors' Decoy MNIST value)
    // Foreground: a pixel is foreground where some channel c exceeds level[c] (normalised units), and, with dataset
    // masks, where they allow it (data_mask: the masks alone). The penalty covers every other pixel.
    std::vector<float> level;
    bool data_mask = false;
    // Per channel d x_normalised / d x_pixel = 1 / (255 std_c): the gradient in the authors' 0-255 pixel units.
    std::vector<float> pixel_scale;
};

struct RrrStepResult {
    StepResult step;     // loss: mean CE + lambda * mean penalty; correct; logits
    Tensor penalty;      // [1] mean over the batch of sum over background pixels and channels of (d sum log p / dx)^2
    Tensor foreground;   // [1] foreground pixels over the batch's pixels
};

class Rrr {
public:
    explicit Rrr(RrrSettings s);  // validates the settings

    // The foreground ([N, H, W], 1 or 0) of a normalised batch x, as Isnet::mask.
    Tensor mask(const Tensor& x, const Tensor& allowed = {});
    // The input gradient of sum_k log p_k per image ([N, C, H, W], 0-255 pixel units) after model.forward(x) gave
    // `logits`; keeps the pass for adjoint use by step().
    Tensor input_gradient(nn::Module& model, const Tensor& logits);
    // One step (model in train mode; allowed: the batch's dataset masks, or undefined).
    RrrStepResult step(nn::Module& model, Optimizer& opt, const Tensor& x, const Tensor& labels,
                       const StepOptions& o = {}, const Tensor& allowed = {});

    const RrrSettings& settings() const { return s_; }

private:
    RrrSettings s_;
    explain::FlexPass flex_;
    Tensor ones_, shift_, scale_;  // device copies of the per-channel constants
};

// The settings of --augment rrr for a training split normalised by mean/stdev (per channel).
RrrSettings rrr_settings(const TrainConfig& cfg, const std::vector<float>& mean, const std::vector<float>& stdev);
std::string describe(const RrrSettings& s);

}  // namespace lrp::train
