// Occlusion curves (`lrpcu eval --occlusion`): top-1 accuracy as the most relevant patches of each input
// (LRP relevance per pixel of each patch, MoRF order) are progressively filled, against a random patch order as the
// control, with the normalised area under each curve (trapezoid over the occluded fraction in [0, 1]).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lrp/lrp/composites.h"
#include "lrp/nn/module.h"
#include "lrp/train/loader.h"

namespace lrp::train {

struct OcclusionOptions {
    // An explain::known_composites() name. Default epsilon_gamma_box: on trained ResNets RelDrop's own
    // composite (reldrop: residual copies, Epsilon 1e-3) gives maps whose MoRF order is close to random.
    std::string composite = "epsilon_gamma_box";
    // Parameters and user rule maps for it (explain::CompositeOptions); ZBox bounds left open follow from
    // mean/stdev below. Empty: the composite's defaults.
    std::optional<explain::CompositeOptions> composite_options;
    std::string target = "label";       // explain::Target::parse: label | pred | <class> (optional *logit) | output
    int patch = 0;                      // patch side in pixels; 0: default_occlusion_patch(H, W)
    int steps = 16;                     // fractions 0, 1/steps, ..., 1 of the patches, m = round(f * P)
    std::string fill = "mean";          // ops::reldrop_fill policy: mean | reference | raw:<v> | normalized:<v>
    uint64_t seed = 0;                  // the random control order
    // The dataset's per-channel normalisation (raw [0, 1] units). Needed by the fills reference and raw:<v>
    // and by epsilon_gamma_box (ZBox bounds at raw 0 and 1: dataset_composite_options); may be empty otherwise.
    std::vector<float> mean, stdev;
};

struct OcclusionResult {
    std::string composite, target, fill;
    // What a prediction is counted correct against: "label" (targets label and output), "prediction on the
    // unoccluded image" (pred: does the explained prediction survive?) or "class <c>" (<class>).
    std::string scored_against;
    int user_rules = 0;  // entries of the composite_options' rule maps
    std::string rules;   // the rule of every layer with its parameters (Composite::assignment_table)
    int patch = 0, grid_h = 0, grid_w = 0, patches = 0;  // patches = P = grid_h * grid_w
    int steps = 0;
    uint64_t seed = 0;
    int64_t samples = 0;
    // Samples whose relevance map held NaN or +-Inf. Their MoRF order is topk_rows' over the patch sums:
    // NaN patches first (in index order), then +Inf, ..., -Inf. They are evaluated like the others.
    int64_t nonfinite_maps = 0;
    // Finite maps whose patch means are all equal (an all-zero map, e.g. of a dead model): their MoRF order is the
    // patches' raster order, which says nothing about the model. Evaluated like the others; counted to be seen.
    int64_t constant_maps = 0;
    std::vector<int> occluded;          // m per step: patches filled per sample (steps + 1 values)
    std::vector<double> fractions;      // m / P per step: 0 first, 1 last
    std::vector<double> accuracy_morf;  // top-1 accuracy per step, most relevant patches first
    std::vector<double> accuracy_random;
    double auc_morf = 0, auc_random = 0;  // trapezoid_auc(fractions, accuracy_*), in [0, 1]
    double seconds = 0;
};

// 4 px for images whose larger side is <= 64 px, else 16; never more than the smaller side.
int default_occlusion_patch(int H, int W);

// Checks o for C x H x W images and resolves the defaults (patch). Every error names the bad value and
// the accepted ones: steps >= 1, 1 <= patch <= min(H, W), a known composite, target and fill, and the
// dataset statistics where the fill or the composite needs them.
OcclusionOptions resolve_occlusion_options(const OcclusionOptions& o, int C, int H, int W);

// resolve_occlusion_options, and the composite bound to `model` (a rule given for a layer name the model
// lacks is an error): what occlusion_curves would refuse, before any work.
void check_occlusion_composite(const OcclusionOptions& o, nn::Module& model, int C, int H, int W);

// Runs the model (put in eval mode) over the loader in order. Per batch: one attribution (explain::attribute
// with the composite and target), the channel-summed map, its patch means, the MoRF order (topk_rows, ties by
// lower patch index) and a random order (topk_rows over Philox uniforms from `seed`, each sample's from its own
// counters: the same on CPU and CUDA and for any batch size), then per step a filled copy of the batch and an
// eval forward, scored as scored_against says; correct counts stay on the device and are read back once at the
// end. Steps with the same m and the random curve's m = 0 and m = P points reuse the forward already made.
OcclusionResult occlusion_curves(nn::Module& model, BatchSource& loader, const OcclusionOptions& o);

// The random control order of the samples row, row + 1, ... (order: I32 [N, P], on its device): per sample, the
// patches sorted by Philox uniforms (topk_rows) drawn from `seed` at that sample's own counters (row index times
// philox_uniform_counters(P)), so an image's order depends on the seed and its index alone, not on the batch size
// or the backend.
void random_patch_order(uint64_t seed, int64_t row, const Tensor& order);

// Trapezoid rule: sum of (x[i+1] - x[i]) * (y[i] + y[i+1]) / 2; x ascending, same length >= 1.
double trapezoid_auc(const std::vector<double>& x, const std::vector<double>& y);

nlohmann::json to_json(const OcclusionResult& r);

}  // namespace lrp::train
