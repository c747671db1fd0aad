// Looking at batches: PNG grids of normalised image batches (e.g. the first training batch after
// random erasing or RelDrop, so a user sees what was occluded) and a plain RGB PNG writer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lrp/tensor.h"

namespace lrp::train {

// Writes rgb (h * w * 3 bytes, row-major) as a PNG; throws naming the path on failure.
void write_png_rgb(const std::string& path, const std::vector<uint8_t>& rgb, int64_t w, int64_t h);

// The first min(N, max_images) images of x (F32 [N, C, H, W], normalised with mean/stdev, any device)
// as one PNG grid: pixels mapped back to raw [0, 1] (v * std + mean, clamped), grey for C = 1, RGB from
// the first three channels otherwise, small images enlarged (nearest) to at least 64 px per tile,
// tiles separated by 2 px of white, `columns` tiles per row (0: a square-ish grid). One device-to-host copy: not
// for use inside a training step.
void save_batch_grid(const std::string& path, const Tensor& x, const std::vector<float>& mean,
                     const std::vector<float>& stdev, int max_images = 64, int columns = 0);

}  // namespace lrp::train
