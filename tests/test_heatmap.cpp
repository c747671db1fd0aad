// Heatmap and overlay pixels (lrp/train/heatmap.h): the signed colour scale, per-sample scaling by the largest
// finite |R|, NaN/Inf drawn black without blanking the rest of the map, upscaling, and the overlay's blend; zennit's
// colour maps (lrp/train/colormap.h) against entries worked out by hand from zennit's sources.
#include "lrp/train/heatmap.h"

#include <cmath>
#include <limits>

#include "lrp/train/colormap.h"
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

TEST(HeatmapCpu, OverlayTintsInThePaletteColours) {
    // A palette whose entry i is (i, 255 - i, 7): the peak (index 255) tints (255, 0, 7), the trough (index 0)
    // (0, 255, 7), at opacity 0.75 over the image; no relevance leaves the image as it is.
    lrp::train::Palette p{};
    for (int i = 0; i < 256; ++i) p[i] = {static_cast<uint8_t>(i), static_cast<uint8_t>(255 - i), 7};
    const std::vector<float> x = {0.f, 2.f, -2.f, 0.f};  // raw 0.5, 1.0, 0.0, 0.5
    const std::vector<float> r = {0.f, 4.f, -4.f, kNaN};
    const std::vector<uint8_t> px = overlay_rgb(r.data(), x.data(), 1, 1, 4, 1, {0.5f}, {0.25f}, &p);
    EXPECT_EQ(pixel(px, 4, 0, 0), (Rgb{128, 128, 128}));
    EXPECT_EQ(pixel(px, 4, 1, 0), (Rgb{255, 64, 69}));  // 0.25 * 255 + 0.75 * (255, 0, 7)
    EXPECT_EQ(pixel(px, 4, 2, 0), (Rgb{0, 191, 5}));    // 0.25 * 0 + 0.75 * (0, 255, 7)
    EXPECT_EQ(pixel(px, 4, 3, 0), (Rgb{0, 0, 0}));      // not finite: black
    // Half the peak: index (0.5 + 1) / 2 * 255 = 191 (truncated), opacity 0.375.
    const std::vector<float> half = {2.f, 4.f};
    const std::vector<float> grey = {0.f, 0.f};
    const std::vector<uint8_t> hp = overlay_rgb(half.data(), grey.data(), 1, 1, 2, 1, {0.5f}, {0.25f}, &p);
    EXPECT_EQ(pixel(hp, 2, 0, 0), (Rgb{151, 104, 82}));
}

// zennit's 'bwr' is '00f,80:fff,f00': nodes at 0 (blue), 128 (white), 255 (red); palette entry i is the map at
// x = i (i * 2 / 255 - 1 scaled back), so entry 127 is 127/128 of the way to white and entry 64 half way.
TEST(HeatmapCpu, ZennitPalettesAsZennitCompilesThem) {
    using lrp::train::zennit_palette;
    auto rgb = [](const lrp::train::Palette& p, int i) { return Rgb{p[i][0], p[i][1], p[i][2]}; };
    const lrp::train::Palette bwr = zennit_palette("bwr");
    EXPECT_EQ(rgb(bwr, 0), (Rgb{0, 0, 255}));
    EXPECT_EQ(rgb(bwr, 63), (Rgb{125, 125, 255}));   // 255 * 63 / 128 = 125.5, truncated
    EXPECT_EQ(rgb(bwr, 64), (Rgb{127, 127, 255}));
    EXPECT_EQ(rgb(bwr, 127), (Rgb{253, 253, 255}));  // zennit's colour of 0: not quite white
    EXPECT_EQ(rgb(bwr, 255), (Rgb{255, 0, 0}));
    // 'coldnhot' is '0ff,00f,80:000,f00,ff0,fff': the unindexed nodes spread to 64, and to 170 and 212.
    const lrp::train::Palette hot = zennit_palette("coldnhot");
    EXPECT_EQ(rgb(hot, 0), (Rgb{0, 255, 255}));
    EXPECT_EQ(rgb(hot, 64), (Rgb{0, 0, 255}));
    EXPECT_EQ(rgb(hot, 128), (Rgb{0, 0, 0}));
    EXPECT_EQ(rgb(hot, 170), (Rgb{255, 0, 0}));
    EXPECT_EQ(rgb(hot, 212), (Rgb{255, 255, 0}));
    EXPECT_EQ(rgb(hot, 255), (Rgb{255, 255, 255}));
    EXPECT_EQ(rgb(zennit_palette("france"), 0), (Rgb{0x00, 0x55, 0xa4}));
    // level 2 reaches the ends twice as soon: entry 64 is already (nearly) blue.
    EXPECT_EQ(rgb(zennit_palette("bwr", 2.0), 64), (Rgb{0, 0, 255}));
    EXPECT_EQ(lrp::train::zennit_cmap_names().size(), 11u);
    for (const std::string& n : lrp::train::zennit_cmap_names()) zennit_palette(n);
    lrp::test::expect_error([] { zennit_palette("jet"); }, {"--cmap: unknown colour map 'jet'", "gray, wred", "coleus"});
    lrp::test::expect_error([] { zennit_palette("bwr", 0.0); }, {"--cmap-level must be a finite number > 0"});
}

// imgify(symmetric=True): x = (s + m) / 2m of the channel sum, index x * 255 truncated.
TEST(HeatmapCpu, PaletteHeatmapIndexesAsImgify) {
    const lrp::train::Palette bwr = lrp::train::zennit_palette("bwr");
    // Two channels of a 1 x 5 map: channel sums -2, -1, 0, 2 and NaN.
    const std::vector<float> r = {-1.f, -0.5f, 3.f, 1.f, kNaN, -1.f, -0.5f, -3.f, 1.f, 0.f};
    const std::vector<uint8_t> px = lrp::train::palette_heatmap_rgb(r.data(), 2, 1, 5, 1, bwr);
    EXPECT_EQ(pixel(px, 5, 0, 0), (Rgb{0, 0, 255}));      // -m: index 0
    EXPECT_EQ(pixel(px, 5, 1, 0), (Rgb{125, 125, 255}));  // -m/2: 63.75 -> 63
    EXPECT_EQ(pixel(px, 5, 2, 0), (Rgb{253, 253, 255}));  // 0: 127.5 -> 127
    EXPECT_EQ(pixel(px, 5, 3, 0), (Rgb{255, 0, 0}));      // m: 255
    EXPECT_EQ(pixel(px, 5, 4, 0), (Rgb{0, 0, 0}));        // NaN: black
    const std::vector<float> zero(4, 0.f);
    const std::vector<uint8_t> z = lrp::train::palette_heatmap_rgb(zero.data(), 1, 1, 4, 2, bwr);
    ASSERT_EQ(z.size(), 2u * 8u * 3u);
    EXPECT_EQ(pixel(z, 8, 7, 1), (Rgb{253, 253, 255}));  // an all-zero map: the middle entry, upscaled
    // A peak beyond FLT_MAX / 2: 2m overflows as in numpy's float32 (Inf / Inf at the peak is index 0, not a read
    // outside the palette).
    const std::vector<float> huge = {3e38f, -1e38f};
    const std::vector<uint8_t> hz = lrp::train::palette_heatmap_rgb(huge.data(), 1, 1, 2, 1, bwr);
    EXPECT_EQ(pixel(hz, 2, 0, 0), (Rgb{0, 0, 255}));
    EXPECT_EQ(pixel(hz, 2, 1, 0), (Rgb{0, 0, 255}));
}
