// Checked front ends of Saliency Guided Training's ops (isnet-edda.md Part C; docs/sgt.md): the k least salient
// pixels of each sample, their fill, and the KL term between clean and masked predictions. No host sync.
#pragma once
#include "lrp/generator.h"
#include "lrp/tensor.h"

namespace lrp::ops {

// idx (I32 [N, k]) = per sample the k pixels of smallest saliency (abs_value: smallest |saliency|), where a pixel's
// saliency is the sum over channels of `saliency` (F32 [N, C, H, W]; or [N, H, W] as is): the order of the
// authors' channel mean. Ties go to the lower pixel index. valid (F32 [N]) = 1 for a sample whose map is finite,
// else 0 (its idx is then meaningless; sgt_fill skips it). Requires 1 <= k <= H W.
void sgt_bottom_k(const Tensor& saliency, int k, bool abs_value, const Tensor& idx, const Tensor& valid);

// In place on x (F32 [N, C, H, W]): for each sample with valid != 0, every channel c of the pixels idx[n, :]
// (I32 [N, k], from sgt_bottom_k) gets lo[n, c] + u (hi[n, c] - lo[n, c]) (lo, hi: F32 [N, C]; u uniform in [0, 1),
// a Philox draw per written element; lo == hi writes lo). Reserves ceil(N k C / 4) counters from g, whatever lo and
// hi hold, so the draws of later calls do not depend on the fill. Indices outside [0, H W) are skipped; a row's
// indices must be distinct (as sgt_bottom_k's are), or CUDA's writes to a repeated pixel race.
void sgt_fill(const Tensor& x, const Tensor& idx, const Tensor& valid, const Tensor& lo, const Tensor& hi,
              Generator& g);

// Per row of the clean logits zc and the masked ones zm (F32 [N, K]): loss[n] = KL(softmax(zc) || softmax(zm)) for
// valid[n] != 0 (F32 [N]), else 0 (returned, F32 [N]). Writes the gradients of scale * sum_n loss[n]: dzm = scale
// (q - p), and dzc = scale p (log p - log q - KL) when dzc is defined (undefined: the clean prediction is a constant
// target); invalid rows get 0. In double per row (backends agree to rounding: their exp, log and FMA contraction
// may differ in the last bits).
Tensor sgt_kl(const Tensor& zc, const Tensor& zm, const Tensor& valid, float scale, const Tensor& dzc,
              const Tensor& dzm);

}  // namespace lrp::ops
