// Checked front ends of EDDA's window ops (docs/edda.md): the most and the least relevant square window of
// each sample, and the filling of one window per sample. No host synchronisation on any device.
#pragma once
#include <string>
#include <vector>

#include "lrp/kernels/descs.h"
#include "lrp/tensor.h"

namespace lrp::ops {

using kernels::EddaReduce;
EddaReduce parse_edda_reduce(const std::string& name);  // "sum" | "abs" | "relu"; throws naming the choices
const char* edda_reduce_name(EddaReduce r);

// pos (I32 [2, N]) from relevance (F32 [N, C, H, W]): row 0 = the top-left flat index (in the (H - patch + 1) x
// (W - patch + 1) grid of window positions) of each sample's patch x patch window with the largest score, row 1
// = the one whose score is closest to 0; score = the window's sum of the channel-reduced map (EddaSelectDesc),
// in double, the same bits on every backend; ties to the lower index. A sample whose relevance holds NaN or
// +-Inf gets -1 in both rows. valid (optional, F32 [N]) = 1 for a finite sample, 0 for one with -1s.
// Requires 1 <= patch <= min(H, W).
void edda_select(const Tensor& relevance, int patch, EddaReduce reduce, const Tensor& pos,
                 const Tensor& valid = Tensor());
Tensor edda_select(const Tensor& relevance, int patch, EddaReduce reduce);

// In place on x (F32 [M, C, H, W], C <= 4): the patch x patch window at pos[m] (I32 [M], a flat index as above)
// of sample m gets fill[c] in every channel c (fill: C values or 1, finite); pos[m] = -1 leaves sample m as is.
// The CPU checks every entry lies in [-1, windows); on CUDA they are trusted (no host sync), one outside skipped.
void fill_windows(const Tensor& x, const Tensor& pos, int patch, const std::vector<float>& fill);

}  // namespace lrp::ops
