// zennit's built-in colour maps (zennit.image.CMAPS) compiled into 256-entry palettes as zennit compiles them, and
// relevance maps rendered through one as zennit's imgify(symmetric=True) renders them (`lrpcu explain --cmap`).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lrp::train {

using Palette = std::array<std::array<uint8_t, 3>, 256>;

// The names of zennit's built-in maps: gray, wred, wblue, hot, cold, coldnhot, bwr, france, seismic, coolio, coleus.
std::vector<std::string> zennit_cmap_names();

// zennit's ColorMap(source).palette(level): entry i is the map at ((2 i / 255 - 1) * level + 1) / 2, clipped to
// [0, 1], the colour nodes interpolated linearly as zennit places them. Throws (naming --cmap and the known maps)
// for another name, and (naming --cmap-level) for a level that is not finite and > 0.
Palette zennit_palette(const std::string& name, double level = 1.0);

// One sample's relevance r (C x H x W) as zennit's imgify(r.sum(channels), symmetric=True) with `p`: the channel
// sum s in float32, x = (s + m) / (2 m) with m the largest finite |s|, palette index = x * 255 clipped and truncated.
// A NaN or Inf pixel is black (it does not enter m); an all-zero map takes the middle entry (127). Nearest-
// neighbour upscaling by `scale`; h*scale x w*scale x 3 bytes, row-major.
std::vector<uint8_t> palette_heatmap_rgb(const float* r, int64_t C, int64_t H, int64_t W, int scale, const Palette& p);

}  // namespace lrp::train
