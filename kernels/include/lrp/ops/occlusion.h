// Checked front ends of patch occlusion (lrpcu eval --occlusion): the patch grid, the relevance summed per
// patch, and occlude_patches (the most relevant patches of each sample filled in place). No host sync.
#pragma once
#include <cstdint>
#include <vector>

#include "lrp/kernels/descs.h"
#include "lrp/tensor.h"

namespace lrp::ops {

// The grid of patch x patch squares over an H x W image, row-major: ph = ceil(H / patch) rows, pw =
// ceil(W / patch) columns; the last row / column may be partial. Throws unless 1 <= patch <= min(H, W).
struct PatchGrid {
    int patch = 1, ph = 1, pw = 1;
    int P() const { return ph * pw; }
};
PatchGrid patch_grid(int64_t H, int64_t W, int patch);

// rel (F32 [N, P]) = the mean of map (F32 [N, H, W]) over each patch of patch_grid(H, W, patch): the sum
// over the patch's pixels (fewer in a partial patch at the right or bottom edge), accumulated in double and
// divided by their count (an average pool in ceil mode: the same bits on every backend). Per pixel, so that a
// partial edge patch ranks by its relevance, not last for its size. A NaN or +-Inf in a patch makes it NaN or +-Inf.
void patch_relevance(const Tensor& map, int patch, const Tensor& rel);
Tensor patch_relevance(const Tensor& map, int patch);  // [N, P]

// In place on x (F32 [N, C, H, W], C <= 4): for each sample n, the patches order[n, 0..m) (order: I32
// [N, P], e.g. from topk_rows over patch_relevance: most relevant first) get fill[c] in every channel c
// (fill: C values, or 1 for all; finite). Requires 0 <= m <= P. On the CPU every used entry of order must
// lie in [0, P) (checked); on CUDA the entries are trusted (no host sync) and one outside is skipped.
void occlude_patches(const Tensor& x, const Tensor& order, int m, int patch, const std::vector<float>& fill);

}  // namespace lrp::ops
