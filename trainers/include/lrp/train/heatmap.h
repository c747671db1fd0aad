// Relevance maps as RGB pixels (h*scale x w*scale x 3 bytes, row-major): the signed heatmap and its blend
// over the input image, as `lrpcu explain` writes them.
#pragma once
#include <cstdint>
#include <vector>

#include "lrp/train/colormap.h"

namespace lrp::train {

// Channel-summed relevance r (C x H x W) of one sample: blue (negative), white (0), red (positive),
// symmetric around 0 and scaled by the sample's max finite |R| (zennit's imgify(symmetric=True) with a linear
// blue-white-red map, white exactly at 0); a pixel whose relevance is NaN or Inf is black. Nearest-neighbour
// upscaling by `scale`.
std::vector<uint8_t> heatmap_rgb(const float* r, int64_t C, int64_t H, int64_t W, int scale);
// The same signed map blended over the input image x (C x H x W, normalised): de-normalised with
// mean/std when given (else scaled per sample to [0,1]), shown in its own colours (grey for one channel),
// tinted red/blue where |R| is large (with a palette: in the palette's entry (R / max|R| + 1) / 2 * 255, the
// heatmap's entry up to rounding at entry boundaries), at opacity 0.75 |R| / max|R|; black where R is not finite.
std::vector<uint8_t> overlay_rgb(const float* r, const float* x, int64_t C, int64_t H, int64_t W, int scale,
                                 const std::vector<float>& mean, const std::vector<float>& std,
                                 const Palette* palette = nullptr);

}  // namespace lrp::train
