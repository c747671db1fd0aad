// Heatmap and overlay pixels (lrp/train/heatmap.h): the signed colour scale, per-sample scaling by the largest
// finite |R|, NaN/Inf drawn black without blanking the rest of the map, upscaling, and the overlay's blend.
#include "lrp/train/heatmap.h"

#include <cmath>
#include <limits>

#include "test_util.h"

using lrp::train::heatmap_rgb;
using lrp::train::overlay_rgb;

namespace {
using Rgb = std::vector<int>;
Rgb pixel(const std::vector<uint8_t>& px, int64_t w, int64_t x, int64_t y) {
    const size_t at = static_cast<size_t>((y * w + x) * 3);
    return {px[at], px[at + 1], px[at + 2]};
}
const float kInf = std::numeric_limits<float>::infinity(), kNaN = std::numeric_limits<float>::quiet_NaN();
}  // namespace

TEST(HeatmapCpu, SignedScaleOverTheChannelSum) {
    // Two channels of a 1 x 4 map: channel sums 2, -1, 0, 0.5.
    const std::vector<float> r = {1.5f, -2.f, 3.f, 0.25f, 0.5f, 1.f, -3.f, 0.25f};
    const std::vector<uint8_t> px = heatmap_rgb(r.data(), 2, 1, 4, 1);
    ASSERT_EQ(px.size(), 12u);
    EXPECT_EQ(pixel(px, 4, 0, 0), (Rgb{255, 0, 0}));      // the peak: full red
    EXPECT_EQ(pixel(px, 4, 1, 0), (Rgb{128, 128, 255}));  // -0.5 of the peak: half blue
    EXPECT_EQ(pixel(px, 4, 2, 0), (Rgb{255, 255, 255}));  // zero: white
    EXPECT_EQ(pixel(px, 4, 3, 0), (Rgb{255, 191, 191}));  // a quarter of the peak
    // An all-zero map is white, not 0 / 0.
    const std::vector<float> zero(6, 0.f);
    for (uint8_t v : heatmap_rgb(zero.data(), 1, 2, 3, 1)) EXPECT_EQ(v, 255);
}

TEST(HeatmapCpu, NonFiniteRelevanceIsBlackAndLeavesTheScale) {
    const std::vector<float> r = {2.f, kInf, -1.f, kNaN, 0.f, -kInf};
    const std::vector<uint8_t> px = heatmap_rgb(r.data(), 1, 2, 3, 2);  // 2 x 3, upscaled to 4 x 6
    ASSERT_EQ(px.size(), 4u * 6u * 3u);
    EXPECT_EQ(pixel(px, 6, 0, 0), (Rgb{255, 0, 0}));  // 2 is still the peak: one Inf does not blank the map
    EXPECT_EQ(pixel(px, 6, 1, 1), (Rgb{255, 0, 0}));  // nearest-neighbour upscaling
    for (auto [x, y] : {std::pair{2, 0}, {3, 1}, {0, 2}, {5, 3}})
        EXPECT_EQ(pixel(px, 6, x, y), (Rgb{0, 0, 0})) << x << "," << y;
    EXPECT_EQ(pixel(px, 6, 4, 0), (Rgb{128, 128, 255}));  // -1 = -0.5 of the peak
    EXPECT_EQ(pixel(px, 6, 2, 2), (Rgb{255, 255, 255}));
    // Every value non-finite: black throughout.
    const std::vector<float> bad = {kNaN, kInf};
    for (uint8_t v : heatmap_rgb(bad.data(), 1, 1, 2, 1)) EXPECT_EQ(v, 0);
}

TEST(HeatmapCpu, OverlayBlendsOverTheDenormalisedImage) {
    // One-channel 1 x 3 image, normalised with mean 0.5, std 0.25: raw 0.5, 1.0, 0.0.
    const std::vector<float> x = {0.f, 2.f, -2.f};
    const std::vector<float> r = {0.f, 4.f, kNaN};
    const std::vector<uint8_t> px = overlay_rgb(r.data(), x.data(), 1, 1, 3, 1, {0.5f}, {0.25f});
    EXPECT_EQ(pixel(px, 3, 0, 0), (Rgb{128, 128, 128}));  // no relevance: the grey image as it is
    // The peak: 25 % image (white) and 75 % red.
    EXPECT_EQ(pixel(px, 3, 1, 0), (Rgb{255, 64, 64}));
    EXPECT_EQ(pixel(px, 3, 2, 0), (Rgb{0, 0, 0}));  // not finite: black
    // Without the normalisation the image is min-max scaled.
    const std::vector<uint8_t> mm = overlay_rgb(r.data(), x.data(), 1, 1, 3, 1, {}, {});
    EXPECT_EQ(pixel(mm, 3, 0, 0), (Rgb{128, 128, 128}));
}
