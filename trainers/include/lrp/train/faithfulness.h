// EDDA's faithfulness proxy (`lrpcu eval --faithfulness`; isnet-edda.md B.4, an lrpcu proxy, not the paper's
// metric): per test image, the drop of the label's softmax probability when the most relevant window is filled
// (should be large) and when the least relevant one is (should be small), with the windows EDDA trains with; and,
// as the control, when a window drawn at random is.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lrp/nn/module.h"
#include "lrp/train/edda_step.h"
#include "lrp/train/loader.h"

namespace lrp::train {

struct FaithfulnessResult {
    std::string composite, reduce, fill;
    int patch = 0;
    int64_t samples = 0;
    int64_t nonfinite_maps = 0;  // images whose map held NaN or Inf: left out of every figure below
    // images whose finite map is constant (e.g. all zero: max == min), so that no window is more relevant than
    // another: nothing to compare, left out of every figure below
    int64_t constant_maps = 0;
    std::string rules;           // the composite's rule of every layer with its parameters (assignment_table)
    double mean_p_clean = 0;     // mean softmax probability of the label on the clean images
    double mean_drop_salient = 0;         // mean of p(x) - p(x_sal)
    double mean_abs_drop_nonsalient = 0;  // mean of |p(x) - p(x_non)|
    double share_salient_beats_nonsalient = 0;  // share of images with p(x) - p(x_sal) > |p(x) - p(x_non)|
    double mean_drop_random = 0;     // mean of p(x) - p(x_rand), x_rand: a uniformly drawn window filled (control)
    double share_salient_beats_random = 0;  // share of images with p(x) - p(x_sal) > p(x) - p(x_rand)
    uint64_t seed = 0;               // of the random windows
    double acc_clean = 0, acc_salient = 0, acc_nonsalient = 0;  // top-1 on each version
    double seconds = 0;
};

// Runs the model (eval mode) over the loader: per batch Edda::augment (attribution of the label with the
// settings' composite, the windows, the fills; the loss parts of the settings are not used), a copy with a window
// drawn uniformly per image (Philox from `seed` at the image's own counters: the same on every backend and for
// any batch size), one eval forward over the 4N rows and the per-row label probabilities read back. Throws when no
// image has a finite map that is not constant.
FaithfulnessResult faithfulness(nn::Module& model, BatchSource& loader, const EddaSettings& s, uint64_t seed = 0);

// Per image of relevance [N, C, H, W]: whether its channel-reduced map (sum, abs or relu over channels, as the
// window choice reduces it) is constant, so that no window is more relevant than another. The raw map may vary
// where the reduced one does not (channels that cancel in the sum, relu of a map <= 0). Reads the maps back.
std::vector<char> constant_reduced_maps(const Tensor& relevance, ops::EddaReduce reduce);

nlohmann::json to_json(const FaithfulnessResult& r);

}  // namespace lrp::train
