// The ISNet training step (isnet-edda.md Part A; docs/isnet.md): one train-mode forward, the LRP-Flex heatmap R (z^B or
// epsilon first layer) of the explained logit(s) (Stochastic ISNet by default), ISNet's heatmap loss of R against a
// foreground mask, and one update on (1 - P) CE + P L_heat, differentiated through the heatmap. No host sync.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lrp/generator.h"
#include "lrp/lrp/flex.h"
#include "lrp/lrp/flex_lds.h"
#include "lrp/lrp/flex_zb.h"
#include "lrp/lrp/target.h"
#include "lrp/ops/isnet_loss.h"
#include "lrp/train/config.h"
#include "lrp/train/step.h"

namespace lrp::train {

struct IsnetSettings {
    float P = 0.7f;                      // heatmap-loss weight, in [0, 1)
    float epsilon = 1e-2f;               // LRP-epsilon of the LRP-Flex pass
    // stochastic (A.4's randomLogit) | selective (A.4's Selective ISNet: log(p + e) - log(1 - p + e) of the lowest
    // logit's softmax probability p, differentiated through its seed too) | selective-softmin (the same class, the
    // LRP Block's softmin redistribution over the logit differences with LRP-epsilon through each difference layer:
    // isnet_softmin_row; also differentiated through its seed) | label | pred | all (the original ISNet:
    // one map per class, K = classes passes per step, the heatmap loss the mean over the N K maps)
    std::string explain = "stochastic";
    float selective_eps = 1e-2f;  // e of selective (the authors' RunISNetFlex value)
    ops::IsnetLossParams loss;           // GWRP decay, E, A, B, C1, C2 (the run scripts' defaults, A.3)
    // Foreground mask: a pixel is foreground where some channel c exceeds level[c] (normalised units; from
    // --isnet-mask threshold:<raw>, the raw value in [0, 1] mapped through each channel's normalisation).
    std::vector<float> level;
    bool data_mask = false;  // --isnet-mask data: the dataset masks alone (level is below every pixel); required
    // The first layer's rule: zb (the authors' default, Zb=1: zennit's ZBox on the BN-folded first conv, with the
    // bounds input_zero and input_one, from the pass's relevance at the first ReLU; lrp/flex_zb.h) or epsilon (the
    // pass down to the input: R = G * (x - input_zero) = dz/dx_raw * x_raw, the relevance of the raw input as the
    // authors compute it without Zb; a black pixel has none).
    std::string first_rule = "zb";
    // Per channel, the normalised values of a raw 0 and a raw 1 (the authors feed [0, 1] images).
    std::vector<float> input_zero, input_one;
    // LRP deep supervision (isnet-edda.md A.1, the authors' penalizeAll): the heatmap loss also on the pass's maps at
    // hidden layers (lrp/flex_lds.h: ResNet stage outputs, VGG max-pool outputs; the mask shrunk to each map by an
    // adaptive average pool, any foreground counting), with the loss parameters of `loss`; the mean losses of the
    // input maps and of each layer's hidden maps (over the batch and, with explain all, the K classes) are reduced by
    // GWRP with decay lds_decay (the authors' dLoss). With explain all, each step runs the K passes twice: once for
    // these losses, which the GWRP ranks before any adjoint can be weighted, and once with the adjoints.
    bool lds = false;
    float lds_decay = 0.8f;
    std::vector<std::string> lds_layers;  // the supervised modules by name (FlexHidden::find); empty: its defaults
    // Each hidden map's C1 and C2, by the name of its point, in the model's order (--isnet-calibrate with LDS
    // measures them); empty: loss's for every hidden map.
    struct HiddenCut {
        std::string layer;
        float c1 = 1.f, c2 = 25.f;
    };
    std::vector<HiddenCut> hidden_cut;
};

struct IsnetStepResult {
    StepResult step;     // loss: (1 - P) CE + P mean L_heat; correct; logits
    Tensor heat_loss;    // [1] mean L_heat over the batch (a sample with a non-finite map counts 0)
    Tensor foreground;   // [1] foreground pixels over the batch's pixels
    Tensor empty_masks;  // [1] images of the batch without a foreground pixel
    Tensor nonfinite;    // [1] maps that held NaN or Inf (their heatmap loss and dL/dR are 0; if the pass itself
                         // was not finite the update is not either, and the trainer stops on it)
    Tensor heatmap;      // R, the map(s) the loss saw ([N, C, H, W]; with K maps [K N, C, H, W], class k's at k N + n)
    Tensor layer_losses;  // with LDS: [1 + L] the mean heatmap loss of the input maps, then of each layer's hidden maps
};

class Isnet {
public:
    explicit Isnet(IsnetSettings s);  // validates the settings

    // The foreground mask ([N, H, W], 1 or 0) of a normalised batch x ([N, C, H, W]): the threshold, and where
    // `allowed` ([N, H, W], the batch's dataset masks, e.g. 0 on a decoy swatch) is given, only where it is > 0.
    Tensor mask(const Tensor& x, const Tensor& allowed = {});
    // One step (model in train mode; g: Stochastic ISNet's draws; allowed: as for mask()).
    IsnetStepResult step(nn::Module& model, Optimizer& opt, const Tensor& x, const Tensor& labels, Generator& g,
                         const StepOptions& o = {}, const Tensor& allowed = {});
    // Per image, the total |R| over the whole heatmap step() would train on, averaged over the image's K maps with
    // explain all ([1 + L, N]: row 0 the input map, row 1 + l with LDS the hidden map at point l): a train-mode
    // forward and the LRP-Flex pass(es), no update (the model's BN running statistics do move). ISNet's C1/C2
    // calibration measures it (isnet-edda.md A.2: the authors' `(heatmapRaw).sum(dim=(-1,-2,-3))`, foreground and
    // background alike, and per sample its mean over the class axis, as their LRP Block's updateCut takes it).
    Tensor heatmap_totals(nn::Module& model, const Tensor& x, const Tensor& labels, Generator& g);

    const IsnetSettings& settings() const { return s_; }
    // With LDS, the names of the model's supervised points (lrp/flex_lds.h), found on `model` when no step or
    // heatmap_totals() has found them yet (an epoch resumed after its last step runs none before its metrics row).
    std::vector<std::string> lds_layers(nn::Module& model);

private:
    // After model.forward(x) gave `logits`: the heatmap R of the explained quantity (xr: x - input_zero, set for
    // the epsilon first rule, which multiplies the pass's gradient by it).
    // k: the class of explain "all" (unused otherwise).
    Tensor heatmap(nn::Module& model, const Tensor& logits, const Tensor& x, const Tensor& labels, Generator& g,
                   Tensor& xr, int64_t k = 0);
    // Selective ISNet's seed: its form (kernels::kIsnetSelective*) and epsilon (selective: selective_eps; softmin: the
    // LRP-epsilon of the difference layers, the pass's own).
    int selective_form() const {
        return s_.explain == "selective-softmin" ? kernels::kIsnetSelectiveSoftmin : kernels::kIsnetSelectiveLogOdds;
    }
    float selective_eps() const { return s_.explain == "selective-softmin" ? s_.epsilon : s_.selective_eps; }
    // K: 1, or the number of classes (logits' columns) for explain "all".
    int64_t maps_per_image(const Tensor& logits);
    // [N] int32 filled with class k, on d, made once per batch size and device.
    Tensor class_labels(int64_t k, int64_t N, Device d);

    // The model's LDS points (found anew for each step: cheap, and no state that could outlive the model), checked
    // against hidden_cut's names.
    const explain::FlexHidden& hidden(nn::Module& model);
    // LDS: the losses of class k's hidden maps (of K) into per and bad (layer l's at ((1 + l) K + k) N, as step()
    // lays them out), their dL/dH (of the batch-mean loss) into dH and their activations into a, for add_terms().
    void hidden_losses(const Tensor& m, const Tensor& per, const Tensor& bad, int64_t k, int64_t K,
                       std::vector<Tensor>& dH, std::vector<Tensor>& a);
    // LDS: each layer's mean loss over its K N maps in per (r.layer_losses), their GWRP (r.heat_loss); returns the
    // layers' GWRP weights ([1 + L] on per's device: no host copy).
    Tensor layer_weights(const Tensor& per, int64_t K, int64_t N, IsnetStepResult& r);

    IsnetSettings s_;
    explain::FlexPass flex_;
    std::optional<explain::FlexZb> zb_;  // first_rule zb
    std::optional<explain::FlexHidden> hidden_;  // lds: the supervised points of the last step's model
    Tensor ones_, shift_, zero_shift_, bad_code_;  // cached on the batch's device
    std::vector<Tensor> class_labels_;
    int64_t classes_ = 0;
};

// The foreground mask ([N, H, W], 1 or 0) of a normalised batch x ([N, C, H, W]): 1 where some channel c exceeds
// level[c] and, when `allowed` ([N, H, W]) is given, allowed > 0; ones and neg_level are [C] on x's device
// (1s and -level).
Tensor foreground_mask(const Tensor& x, const Tensor& ones, const Tensor& neg_level, const Tensor& allowed = {});
// The foreground of a method (ISNet, RRR: `who`, its mask flag `flag`) whose per-channel level is `level` and which
// takes the dataset's masks alone when data_mask: foreground_mask with the constants cached on x's device in
// ones_cache and shift_cache; errors name the method and the flag.
Tensor method_foreground(const char* who, const char* flag, const std::vector<float>& level, bool data_mask,
                         const Tensor& x, const Tensor& allowed, Tensor& ones_cache, Tensor& shift_cache);
// v as a [size] tensor on d, made once and kept in `cache` (remade when the device changes).
Tensor cached_on(const std::vector<float>& v, Device d, Tensor& cache);
// The foreground mask m ([N, H, W]) at a map's size h x w, as the authors' loss shrinks it (isnet-edda.md A.1 step 0):
// an adaptive average pool, nonzero (foreground, for the loss) wherever a window holds any foreground. Returns m itself
// when it is h x w already, else an [N, 1, h, w] tensor (the same N h w values in order).
Tensor mask_at(const Tensor& m, int64_t h, int64_t w);
// x - input_zero per channel (neg_zero = -input_zero, [C] on x's device): what the heatmap multiplies G with.
Tensor heatmap_input(const Tensor& x, const Tensor& ones, const Tensor& neg_zero);

// ISNet's heatmap of any model in eval mode (what `lrpcu explain --flex` writes): the LRP-Flex map (epsilon) of the
// target's initial relevance, with z^B (first_rule "zb", bounds raw 0 and 1) or epsilon to the raw input on the first
// layer; mean/stdev: the inputs' normalisation per channel. Sets logits to the model's outputs. With `hidden`: also
// the maps of the same pass at LRP deep supervision's points (lrp/flex_lds.h; `hidden_layers` by name, or the model's
// own; errors name --flex-layers), as (point name, [N, C, h, w]) pairs.
Tensor flex_heatmap(nn::Module& model, const Tensor& x, const explain::Target& target, const std::string& first_rule,
                    float epsilon, const std::vector<float>& mean, const std::vector<float>& stdev, Tensor& logits,
                    std::vector<std::pair<std::string, Tensor>>* hidden = nullptr,
                    const std::vector<std::string>& hidden_layers = {});

// One line for logs.
std::string describe(const IsnetSettings& s);

// The ISNet settings of a training run (cfg.augment == "isnet") for C-channel images normalised with mean/stdev.
// c1 and c2 > 0 replace --isnet-c1/--isnet-c2 (the values --isnet-calibrate measured).
IsnetSettings isnet_settings(const TrainConfig& cfg, const std::vector<float>& mean, const std::vector<float>& stdev,
                             double c1 = 0, double c2 = 0);

}  // namespace lrp::train
