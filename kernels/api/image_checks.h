// Checks shared by the front ends of image-batch ops (augment, occlusion, EDDA windows): an [N, C, H, W] batch
// with 1 <= C <= 4 whose sizes fit the kernels' int arithmetic, and per-channel fill values as kernels take them.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "lrp/error.h"
#include "lrp/tensor.h"

namespace lrp::ops::detail {

// x (argument `arg` of `op`) is [N, C, H, W] with 1 <= C <= 4, non-empty images and int-sized extents.
inline void check_nchw(const char* op, const char* arg, const Tensor& x) {
    constexpr int64_t kIntMax = std::numeric_limits<int>::max();
    check_ndim(op, arg, x, 4);
    const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
    LRP_CHECK(C >= 1 && C <= 4, op, ": ", arg, " has ", C, " channels (shape ", x.shape().str(), "), expected 1 to 4");
    LRP_CHECK(H >= 1 && W >= 1, op, ": ", arg, " has an empty image (shape ", x.shape().str(), ")");
    LRP_CHECK(x.dim(0) <= kIntMax && C * H * W <= kIntMax, op, ": ", arg, " is too large (shape ", x.shape().str(),
              ")");
}

// out[c] = the fill of channel c < C: fill holds C values or one for all; every value finite.
inline void fill_values(const char* op, const std::vector<float>& fill, int64_t C, float (&out)[4]) {
    LRP_CHECK(fill.size() == static_cast<size_t>(C) || fill.size() == 1, op, ": fill has ", fill.size(),
              " values, expected C = ", C, " or 1");
    for (int64_t c = 0; c < C; ++c) {
        out[c] = fill.size() == 1 ? fill[0] : fill[c];
        LRP_CHECK(std::isfinite(out[c]), op, ": fill[", c, "] = ", out[c], " is not finite");
    }
}

}  // namespace lrp::ops::detail
