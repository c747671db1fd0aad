// Relevance maps as RGB pixels: the signed blue-white-red heatmap and its blend over the input image
// (what `lrpcu explain` writes as heatmap_/overlay_ PNGs).
#include "lrp/train/heatmap.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lrp::train {

namespace {
// Channel-summed relevance, divided by the sample's max finite |R| (all zeros when R is 0): values in
// [-1, 1], and NaN where the sum is not finite (drawn in kNonFinite, so one Inf does not blank the map).
std::vector<double> signed_map(const float* r, int64_t C, int64_t H, int64_t W) {
    std::vector<double> sum(static_cast<size_t>(H * W), 0.0);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < H * W; ++i) sum[i] += r[c * H * W + i];
    double peak = 0;
    for (double& v : sum) {
        if (!std::isfinite(v)) v = std::nan("");
        else peak = std::max(peak, std::fabs(v));
    }
    if (peak > 0)
        for (double& v : sum) v /= peak;
    return sum;
}

// Pixels whose relevance is NaN or infinite: black, a colour outside the blue-white-red scale.
constexpr unsigned char kNonFinite[3] = {0, 0, 0};

}  // namespace

std::vector<uint8_t> heatmap_rgb(const float* r, int64_t C, int64_t H, int64_t W, int scale) {
    const std::vector<double> m = signed_map(r, C, H, W);
    const int64_t h2 = H * scale, w2 = W * scale;
    std::vector<uint8_t> px(static_cast<size_t>(h2 * w2 * 3));
    for (int64_t y = 0; y < h2; ++y)
        for (int64_t x = 0; x < w2; ++x) {
            const double v = m[(y / scale) * W + x / scale];
            unsigned char* p = &px[(y * w2 + x) * 3];
            if (std::isnan(v)) {
                std::memcpy(p, kNonFinite, 3);
                continue;
            }
            const auto fade = static_cast<unsigned char>(std::lround(255 * (1 - std::fabs(v))));
            p[0] = v >= 0 ? 255 : fade;
            p[1] = fade;
            p[2] = v <= 0 ? 255 : fade;
        }
    return px;
}

std::vector<uint8_t> overlay_rgb(const float* r, const float* x, int64_t C, int64_t H, int64_t W, int scale,
                                 const std::vector<float>& mean, const std::vector<float>& std,
                                 const Palette* palette) {
    const std::vector<double> m = signed_map(r, C, H, W);
    const bool known = mean.size() == static_cast<size_t>(C) && std.size() == static_cast<size_t>(C);
    // The input in [0,1]: de-normalised, or min-max scaled when the normalisation is unknown.
    std::vector<double> img(static_cast<size_t>(C * H * W));
    double lo = 0, hi = 1;
    for (int64_t i = 0; i < C * H * W; ++i) img[i] = known ? x[i] * std[i / (H * W)] + mean[i / (H * W)] : x[i];
    if (!known && !img.empty()) {
        lo = *std::min_element(img.begin(), img.end());
        hi = *std::max_element(img.begin(), img.end());
    }
    const int64_t h2 = H * scale, w2 = W * scale;
    std::vector<uint8_t> px(static_cast<size_t>(h2 * w2 * 3));
    for (int64_t y = 0; y < h2; ++y)
        for (int64_t xx = 0; xx < w2; ++xx) {
            const int64_t at = (y / scale) * W + xx / scale;
            const double v = m[at], a = 0.75 * std::fabs(v);  // heat opacity
            unsigned char* p = &px[(y * w2 + xx) * 3];
            if (std::isnan(v)) {
                std::memcpy(p, kNonFinite, 3);
                continue;
            }
            const int index = static_cast<int>(std::clamp((v + 1) / 2 * 255, 0.0, 255.0));
            for (int k = 0; k < 3; ++k) {
                const int64_t ch = C >= 3 ? k : 0;  // a grey input shown grey, a colour one in colour
                double g = hi > lo ? (img[ch * H * W + at] - lo) / (hi - lo) : 0.0;
                g = std::clamp(g, 0.0, 1.0);
                const double heat = palette                ? (*palette)[index][k] / 255.0
                                    : k == 0 ? (v >= 0 ? 1.0 : 0.0)
                                    : k == 2 ? (v <= 0 ? 1.0 : 0.0)
                                             : 0.0;
                p[k] = static_cast<unsigned char>(std::lround(255 * ((1 - a) * g + a * heat)));
            }
        }
    return px;
}

}  // namespace lrp::train
