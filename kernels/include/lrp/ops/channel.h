// Checked front ends for per-channel affine maps (eval-mode batch norm, BN folding) and dropout masks.
#pragma once
#include "lrp/generator.h"
#include "lrp/tensor.h"

namespace lrp::ops {

// y (N x C x ...) = x * scale[c] + shift[c]; shift may be undefined (0); y may alias x.
void channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift, const Tensor& y);
// y (N x C x H x W) = x * m[n, h, w] for every channel: m F32 [N, H, W] or [N, 1, H, W]; y may alias x.
void pixel_scale(const Tensor& x, const Tensor& m, const Tensor& y);
Tensor pixel_scale(const Tensor& x, const Tensor& m);
// scale = gamma / sqrt(var + eps), shift = beta - mean * scale (gamma/beta undefined: 1 and 0).
void bn_eval_affine(const Tensor& gamma, const Tensor& beta, const Tensor& mean, const Tensor& var, float eps,
                    const Tensor& scale, const Tensor& shift);
// Inverted-dropout mask for drop probability p in [0, 1): values 0 or 1/(1-p), from g's Philox stream.
void dropout_mask(const Tensor& mask, Generator& g, float p);

}  // namespace lrp::ops
