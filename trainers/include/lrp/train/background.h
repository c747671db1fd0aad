// Where a model's explanations fall (`lrpcu eval --background`; docs/isnet.md): per image, the share of the
// absolute relevance on background pixels (the foreground mask ISNet trains with), for an LRP composite's map, for
// ISNet's own LRP-Flex map (also at hidden layers), ISNet's heatmap loss of the latter, and RRR's input-gradient
// share and penalty; for any model, so an ISNet or RRR run and its baseline are measured alike.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lrp/lrp/composite.h"
#include "lrp/nn/module.h"
#include "lrp/ops/isnet_loss.h"
#include "lrp/train/loader.h"

namespace lrp::train {

struct BackgroundResult {
    std::string composite, mask;
    std::string rules;                 // the composite's rule of every layer with its parameters (assignment_table)
    int64_t samples = 0;
    int64_t nonfinite_maps = 0;        // images whose composite or LRP-Flex maps (hidden ones too) held NaN/Inf: left out
    int64_t empty_maps = 0;            // maps (of any kind, the input gradient too) that are 0 everywhere: left out
                                       // of their share (a zero gradient still counts in the RRR penalty, as 0)
    double foreground_fraction = 0;    // mean share of foreground pixels
    double share_composite = 0;        // mean over images of sum_bg |R| / sum |R| (R: the composite's map of the label)
    double share_flex = 0;             // the same for ISNet's LRP-Flex map (epsilon flex_epsilon, the label's logit)
    double isnet_heat_loss = 0;        // mean ISNet heatmap loss of the LRP-Flex map (loss parameters as given)
    // The same two for the LRP-Flex map with z^B on the first layer (ISNet's default; lrp/flex_zb.h); NaN when
    // input_one was not given
    double share_flex_zb = NAN, isnet_heat_loss_zb = NAN;
    // RRR's quantity (docs/rrr.md): the input gradient g of sum_k log p_k; the mean over images of the background
    // share of sum_c g^2, and RRR's penalty (lambda 1: sum over background pixels and channels of g^2 in 0-255
    // pixel units; NaN unless pixel_scale was given)
    double share_gradient = 0;
    double rrr_penalty = 0;
    // The LRP-Flex map at each hidden point that LRP deep supervision would train on (lrp/flex_lds.h: the ResNet
    // stages' or VGG max-pools' outputs, or the named modules), with the mask shrunk as that loss shrinks it: mean
    // background share per layer (NaN when every map there was empty). The same for either first-layer rule.
    struct Hidden {
        std::string layer;
        double share = NAN;
    };
    std::vector<Hidden> share_hidden;
    float flex_epsilon = 1e-2f;
    double seconds = 0;
};

// Runs the model (eval mode) over the loader. level and input_zero: per channel, the foreground level and the
// value of a raw 0, in normalised units (as IsnetSettings; the LRP-Flex map is G * (x - input_zero) as ISNet's);
// the composite is bound to the model per batch. pixel_scale (per channel 1 / (255 std), or empty): the units of RRR's
// penalty. input_one (per channel, the normalised value of a raw 1, or empty): the z^B bounds are input_zero and it.
// hidden_layers: the hidden points by module name (as --isnet-lds-layers; errors name a bad one and
// --background-layers); empty: the model's own (none, quietly, for a model without ResNet stages or max-pools after
// a ReLU). Images with a non-finite map
// (hidden ones included) are left out. Throws when no image has finite maps.
BackgroundResult background_relevance(nn::Module& model, BatchSource& loader, explain::Composite& composite,
                                      const std::vector<float>& level, const std::vector<float>& input_zero,
                                      const ops::IsnetLossParams& loss = {}, float flex_epsilon = 1e-2f,
                                      const std::vector<float>& pixel_scale = {},
                                      const std::vector<float>& input_one = {},
                                      const std::vector<std::string>& hidden_layers = {});

nlohmann::json to_json(const BackgroundResult& r);

}  // namespace lrp::train
