// lrpcu's own image resize (datasets/src/resize.cpp): identity, constants, antialiased downscale, monotone
// upscale, a direct (non-separable) reference, the sizes that made stb_image_resize abort (stb#1449), and
// image-folder loads with resize on mixed-size PNGs.
#include <cmath>

#include "datasets_test_util.h"

namespace {

std::vector<uint8_t> pattern(int w, int h, int c, uint32_t seed) {
    std::vector<uint8_t> v(static_cast<size_t>(w) * h * c);
    uint32_t s = seed * 2654435761u + 12345u;
    for (auto& x : v) {
        s = s * 1664525u + 1013904223u;
        x = static_cast<uint8_t>(s >> 24);
    }
    return v;
}

// The brief's formula written out directly: per axis, triangle weights max(0, 1 - |j - centre| / scale),
// centre (i + 0.5) * in/out - 0.5, scale max(1, in/out), taps inside the image, normalised.
std::vector<double> axis_weights(int in, int out, int i) {
    const double ratio = double(in) / out, scale = std::max(1.0, ratio), centre = (i + 0.5) * ratio - 0.5;
    std::vector<double> w(in);
    double sum = 0;
    for (int j = 0; j < in; ++j) sum += (w[j] = std::max(0.0, 1.0 - std::abs(j - centre) / scale));
    for (double& x : w) x /= sum;
    return w;
}

std::vector<uint8_t> reference(const std::vector<uint8_t>& src, int w, int h, int c, int ow, int oh) {
    std::vector<uint8_t> out(static_cast<size_t>(ow) * oh * c);
    for (int y = 0; y < oh; ++y) {
        const std::vector<double> wy = axis_weights(h, oh, y);
        for (int x = 0; x < ow; ++x) {
            const std::vector<double> wx = axis_weights(w, ow, x);
            for (int ch = 0; ch < c; ++ch) {
                double acc = 0;
                for (int j = 0; j < h; ++j)
                    for (int i = 0; i < w; ++i) acc += wy[j] * wx[i] * src[(size_t(j) * w + i) * c + ch];
                out[(size_t(y) * ow + x) * c + ch] = static_cast<uint8_t>(std::min(255.0, std::max(0.0, std::round(acc))));
            }
        }
    }
    return out;
}

// torchvision Resize(int) sizes, as the image-folder reader computes them.
std::pair<int, int> shorter_to(int w, int h, int target) {
    return w <= h ? std::make_pair(target, int(int64_t(target) * h / w)) : std::make_pair(int(int64_t(target) * w / h), target);
}

}  // namespace

TEST(Resize, IdentityWhenSizesEqual) {
    for (int c = 1; c <= 4; ++c) {
        const std::vector<uint8_t> src = pattern(7, 5, c, c);
        EXPECT_EQ(resize_image(src.data(), 7, 5, c, 7, 5), src) << c;
    }
}

TEST(Resize, ConstantStaysConstant) {
    const int sizes[][4] = {{9, 7, 4, 3}, {20, 31, 29, 20}, {3, 3, 17, 11}, {40, 21, 20, 10}, {1, 1, 5, 2}, {64, 1, 3, 1}};
    for (const auto& s : sizes)
        for (int c = 1; c <= 4; ++c)
            for (uint8_t v : {uint8_t(0), uint8_t(1), uint8_t(128), uint8_t(254), uint8_t(255)}) {
                const std::vector<uint8_t> src(static_cast<size_t>(s[0]) * s[1] * c, v);
                const std::vector<uint8_t> out = resize_image(src.data(), s[0], s[1], c, s[2], s[3]);
                ASSERT_EQ(out.size(), static_cast<size_t>(s[2]) * s[3] * c);
                for (uint8_t o : out) ASSERT_EQ(o, v) << s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3];
            }
}

TEST(Resize, CheckerboardDownscaleByTwoAveragesToMid) {
    const int n = 16;
    std::vector<uint8_t> src(n * n);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) src[y * n + x] = ((x + y) % 2) ? 255 : 0;
    const std::vector<uint8_t> out = resize_image(src.data(), n, n, 1, n / 2, n / 2);
    ASSERT_EQ(out.size(), size_t(n * n / 4));
    double mean = 0;
    for (int y = 0; y < n / 2; ++y)
        for (int x = 0; x < n / 2; ++x) {
            const int v = out[y * n / 2 + x];
            mean += v;
            // Antialiasing: the filter spans both colours everywhere; interior pixels are the exact average.
            if (x > 0 && y > 0 && x < n / 2 - 1 && y < n / 2 - 1) EXPECT_NEAR(v, 128, 1) << x << "," << y;
            else EXPECT_NEAR(v, 128, 40) << x << "," << y;
        }
    EXPECT_NEAR(mean / (n * n / 4), 127.5, 3);
}

TEST(Resize, UpscaledRampIsMonotone) {
    const uint8_t src[2] = {0, 255};
    for (int out_w : {3, 4, 8, 17, 100}) {
        const std::vector<uint8_t> out = resize_image(src, 2, 1, 1, out_w, 1);
        ASSERT_EQ(out.size(), size_t(out_w));
        EXPECT_EQ(out.front(), 0);
        EXPECT_EQ(out.back(), 255);
        int between = 0;
        for (int i = 1; i < out_w; ++i) {
            EXPECT_LE(out[i - 1], out[i]) << out_w << " " << i;
            between += out[i] > 0 && out[i] < 255;
        }
        EXPECT_GT(between, 0) << out_w;
    }
    // Vertically too, and with the bilinear values: 2 -> 4 gives 0, 64, 191, 255.
    const std::vector<uint8_t> col = resize_image(src, 1, 2, 1, 1, 4);
    EXPECT_EQ(col, (std::vector<uint8_t>{0, 64, 191, 255}));
}

TEST(Resize, MatchesDirectReference) {
    const int sizes[][4] = {{20, 23, 20, 23}, {23, 20, 20, 17}, {37, 29, 13, 10}, {5, 4, 11, 9}, {30, 30, 29, 29},
                            {8, 3, 3, 8}, {100, 7, 9, 2}};
    for (const auto& s : sizes)
        for (int c : {1, 3}) {
            const std::vector<uint8_t> src = pattern(s[0], s[1], c, s[0] * 100 + s[1]);
            const std::vector<uint8_t> got = resize_image(src.data(), s[0], s[1], c, s[2], s[3]);
            const std::vector<uint8_t> ref = reference(src, s[0], s[1], c, s[2], s[3]);
            ASSERT_EQ(got.size(), ref.size());
            for (size_t i = 0; i < got.size(); ++i)
                ASSERT_NEAR(got[i], ref[i], 1) << s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3] << " @" << i;
        }
}

TEST(Resize, SizesThatAbortedStbRunAndGiveTheRightSize) {
    // nothings/stb#1449: stb_image_resize asserted (total < 1.1f) on some of these downscales.
    for (int c : {1, 3, 4})
        for (int w = 20; w <= 40; ++w)
            for (int out = 20; out <= 29; ++out)
                for (int h : {w, w + 1, w + 7, 2 * w + 3}) {
                    const std::vector<uint8_t> src = pattern(w, h, c, w * 7 + h);
                    auto [ow, oh] = shorter_to(w, h, out);
                    ASSERT_EQ(resize_image(src.data(), w, h, c, ow, oh).size(), size_t(ow) * oh * c);
                    ASSERT_EQ(resize_image(src.data(), h, w, c, oh, ow).size(), size_t(ow) * oh * c);
                }
    // Odd aspect ratios, both ways.
    const int odd[][4] = {{1, 97, 1, 20}, {97, 1, 20, 1}, {3, 1000, 2, 666}, {1000, 3, 25, 1}, {1, 1, 29, 29}, {2, 41, 23, 471}};
    for (const auto& s : odd) {
        const std::vector<uint8_t> src = pattern(s[0], s[1], 3, 1);
        EXPECT_EQ(resize_image(src.data(), s[0], s[1], 3, s[2], s[3]).size(), size_t(s[2]) * s[3] * 3);
    }
}

TEST(Resize, BadSizesAreErrors) {
    const uint8_t px[4] = {};
    EXPECT_THROW(resize_image(px, 2, 2, 1, 0, 3), Error);
    EXPECT_THROW(resize_image(px, 0, 2, 1, 3, 3), Error);
    EXPECT_THROW(resize_image(nullptr, 2, 2, 1, 3, 3), Error);
}

TEST_F(DatasetsCpu, ImageFolderResizeMixedSizes) {
    // Every size 20..30 in both orientations, resized to 20 (the case that aborted with stb) and cropped.
    int k = 0;
    for (int w = 20; w <= 30; ++w)
        for (int h : {w, w + 3}) {
            write_png("m/" + std::string(1, char('a' + k % 2)) + "/" + std::to_string(k) + ".png", w, h, 3, pattern(w, h, 3, k));
            ++k;
        }
    FolderOptions o;
    o.resize = 20;
    o.crop = 20;
    Dataset d = load_image_folder(path("m"), o);
    EXPECT_EQ(d.images.shape(), (Shape{k, 3, 20, 20}));
    FolderIndex ix = index_image_folder(path("m"), o);
    EXPECT_EQ(ix.size(), k);
    EXPECT_EQ(load_folder_index(ix).images.to_vector<uint8_t>(), d.images.to_vector<uint8_t>());

    // decode_image = resize_image (shorter side 20) then the centre crop, made planar.
    const std::vector<uint8_t> src = pattern(23, 29, 3, 99);
    const std::string f = write_png("one/x.png", 23, 29, 3, src);
    FolderOptions r;
    r.resize = 20;
    DecodedImage im = decode_image(f, r);
    ASSERT_EQ(im.width, 20);
    ASSERT_EQ(im.height, 25);  // int(20 * 29 / 23)
    const std::vector<uint8_t> want = resize_image(src.data(), 23, 29, 3, 20, 25);
    for (int c = 0; c < 3; ++c)
        for (int p = 0; p < 20 * 25; ++p) ASSERT_EQ(im.px[c * 500 + p], want[p * 3 + c]) << c << " " << p;
}
