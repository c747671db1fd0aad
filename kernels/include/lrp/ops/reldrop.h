// Checked front ends of RelDrop's device-side masking (reldrop.md 4.2-4.4, 10): the channel-summed
// relevance map, per-row top-k, and reldrop_apply (pixel / block / patch occlusion in place). No host sync.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lrp/generator.h"
#include "lrp/kernels/descs.h"
#include "lrp/tensor.h"

namespace lrp::ops {

// map (F32 [N, H, W] or [N, H*W]) = sum over c of x (F32 [N, C, H, W]), in channel order, fp32.
void channel_sum(const Tensor& x, const Tensor& map);
Tensor channel_sum(const Tensor& x);  // [N, H, W]

// Per row of x (F32, rows = x.dim(0), cols = the rest): idx (I32 [rows, k]) = the indices of the k
// largest values, sorted by value descending; equal values by lower index first; NaN ranks above +Inf
// (all NaNs equal, so NaNs come first in index order); -0 == +0. vals (optional, F32 [rows, k]) =
// the values at idx. Requires 1 <= k <= cols. Deterministic and identical on every backend.
void topk_rows(const Tensor& x, int k, const Tensor& idx, const Tensor& vals = Tensor());

struct RelDropParams {
    std::string variant = "block";  // "pixel" | "block" | "patch"
    float p = 0.5f;                 // probability a coin selects; [0, 1]
    float alpha = 0.3f;             // pixel: weight of the noise, [0, 1]
    float beta = 0.5f;              // pixel: drop iff alpha*u + (1-alpha)*rn >= 1 - beta; [0, 1]
    int k = 1;                      // block / patch: top-k candidate centres, [1, H*W]; patch: area / k
    // "reference": per sample for pixel, per batch for block/patch (reldrop.md Q6); or "per_batch",
    // "per_sample" for every variant.
    std::string coin = "reference";
    // pixel: how the map becomes rn (reldrop.md Q3): "signed_minmax" (reference), "positive_max", "abs_max"
    std::string pixel_norm = "signed_minmax";
    std::vector<float> fill;        // per channel (C values, or 1 for all); see reldrop_fill()
    float sl = 0.02f, sh = 0.4f, r1 = 0.3f;  // Random-Erasing box geometry (block / patch)
    int max_attempts = 100;                  // size attempts per round (patch: k rounds; total capped at 2048)
    // block / patch: a box crossing the image border is "truncate"d (the reference) or "shift"ed inside whole
    // (reldrop.md Q9)
    std::string box_clip = "truncate";
    // patch: "1" box of area / k on a random one of the top-k centres (the reference), or "k" boxes of area / k,
    // one on each centre (reldrop.md Q8)
    std::string patch_count = "1";
};

// The fill vector of a named policy (reldrop.md 3 and 10, Q1), for C = mean.size() channels:
//   "reference"      the raw-space MEAN[c] written into the normalised tensor (the reference code)
//   "mean"           0 = the dataset mean in normalised space
//   "raw:<v>"        raw value v normalised: (v - MEAN[c]) / STD[c]
//   "normalized:<v>" v as is
// A value beyond kMaxFill in normalised units (e.g. raw:1e38, Inf after normalising) is refused: no image is
// that far from the mean, and the model's outputs would overflow. Errors name `flag`.
constexpr float kMaxFill = 1e6f;
std::vector<float> reldrop_fill(const std::string& mode, const std::vector<float>& mean,
                                const std::vector<float>& stdev, const char* flag = "fill");

// Validates params against x's shape (F32 [N, C, H, W], C <= 4) and returns the kernel descriptor.
kernels::RelDropDesc reldrop_desc(const RelDropParams& params, const Tensor& x);

// Philox counters one reldrop_apply call reserves from its Generator (layout: reldrop_sampler.h).
uint64_t reldrop_counters(const RelDropParams& params, const Tensor& x);

// Whether the next reldrop_apply with `g` can occlude anything: false only for a per-batch coin that
// fails (then the call leaves x untouched). A pure function of (g.seed(), g.offset()): no device work, so a
// trainer may skip the attribution pass and call g.reserve(reldrop_counters(...)) instead of reldrop_apply.
bool reldrop_batch_selected(const RelDropParams& params, const Tensor& x, const Generator& g);

// RelDrop in place on x (F32 [N, C, H, W], C <= 4) from the attribution `relevance` (F32 [N, C', H, W],
// any C' >= 1; the map is its channel sum, signed). Pixel: per-sample min-max of the map, stochastic
// threshold, fill in every channel of the dropped pixels. Block / patch: per sample, a Random-Erasing-
// sized box (patch: area / k) centred on one of the map's top-k pixels (uniform choice), truncated at the
// border, filled. Coins per params.coin. A sample whose map holds NaN or +-Inf is skipped (status 3).
// status (optional, I32 [N]) receives kernels::RelDropStatus per sample. Reserves reldrop_counters()
// counters from g. All decisions happen on the device: no host synchronisation, no device-to-host copy.
void reldrop_apply(const Tensor& x, const Tensor& relevance, const RelDropParams& params, Generator& g,
                   const Tensor& status = Tensor());
// The same from a precomputed map (F32 [N, H, W] or [N, H*W]).
void reldrop_apply_map(const Tensor& x, const Tensor& map, const RelDropParams& params, Generator& g,
                       const Tensor& status = Tensor());

}  // namespace lrp::ops
