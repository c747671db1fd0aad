// Checked front ends of the on-device input pipeline: augment_batch (uint8 dataset rows -> random crop,
// flip, normalised fp32 batch) and random_erasing (Random-Erasing boxes, in place).
#pragma once
#include <vector>

#include "lrp/generator.h"
#include "lrp/tensor.h"

namespace lrp::ops {

// torchvision's RandomResizedCrop(size = the image's own H x W, scale, ratio) in place of the padded crop: per
// sample a window of area fraction in [scale_lo, scale_hi] and width/height in [ratio_lo, ratio_hi] (log-uniform),
// resampled bilinearly (nearest for masks) to H x W; see augment_sampler.h. Requires 0 < scale_lo <= scale_hi <= 1
// and 0 < ratio_lo <= ratio_hi, finite.
struct ResizedCrop {
    bool enabled = false;
    float scale_lo = 0.08f, scale_hi = 1.f;
    float ratio_lo = 0.75f, ratio_hi = 4.f / 3.f;
    bool nearest = false;
};

// images: U8 [N_total, C, H, W] (the resident dataset, C <= 4), indices: I32 [N] (the batch's rows),
// out: F32 [N, C, H, W], all on one device. out[n] = normalise(flip(crop(images[indices[n]]))) with
// PyTorch RandomCrop(padding = pad) semantics (zero padding, pad in [0, min(H, W)); 0 = no crop),
// RandomHorizontalFlip(0.5) when `flip`, and (v / 255 - mean[c]) / std[c]. Draws N counters from g
// (sample n: counter offset + n), so CPU and CUDA give identical batches. With `resized` enabled (pad must be 0)
// the crop is a resized one and N*8 counters are drawn (sample n: offset + 8n .. + 7).
// Indices must lie in [0, N_total): checking them on the host would need a device sync, so an index
// outside throws on the CPU and gives a NaN image on CUDA (never an out-of-bounds read).
void augment_batch(const Tensor& images, const Tensor& indices, int pad, bool flip, const std::vector<float>& mean,
                   const std::vector<float>& std, Generator& g, const Tensor& out, const ResizedCrop& resized = {});

// Random Erasing in place on x (F32 [N, C, H, W], C <= 4): per sample, with probability p, one box of
// area U(sl, sh)*H*W and log-uniform aspect in [r1, 1/r1] (sides rounded half-to-even; accepted iff
// 0 < h < H and 0 < w < W; at most max_attempts tries, and at most 126 fit in the sample's counters)
// at a uniform position gets value[c] (value: size C, or 1 for all channels). No box: untouched.
// Requires p in [0, 1], 0 < sl <= sh < 1, r1 in (0, 1], max_attempts >= 1. Draws N*64 counters from g.
void random_erasing(const Tensor& x, float p, float sl, float sh, float r1, int max_attempts,
                    const std::vector<float>& value, Generator& g);

}  // namespace lrp::ops
