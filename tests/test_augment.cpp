// Input-pipeline ops: augment_batch (gather, crop, flip, normalise) against naive references and the
// shared sampler's statistics; random_erasing's box sampler (rounding, bounds, stream cap); front-end
// errors; CUDA against the CPU bit for bit.
#include <algorithm>
#include <cmath>
#include <map>

#include "lrp/generator.h"
#include "lrp/kernels/augment_sampler.h"
#include "lrp/kernels/ops.h"
#include "lrp/ops/augment.h"
#include "test_util.h"

using namespace lrp;
using lrp::kernels::Box;
using lrp::kernels::CropFlip;
using lrp::kernels::EraseDesc;

namespace {
std::vector<uint8_t> random_u8(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    auto r = test::random_ints(n, seed, 1, 255);  // no zeros: a padded pixel must be told apart
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(r[i]);
    return v;
}

float norm(float v, float mean, float sd) { return (v / 255.f - mean) / sd; }

struct Batch {
    int Nt, N, C, H, W;
    std::vector<uint8_t> images;
    std::vector<int32_t> indices;
    std::vector<float> mean, sd;
    Batch(int nt, int n, int c, int h, int w, uint32_t seed)
        : Nt(nt), N(n), C(c), H(h), W(w), images(random_u8(size_t(nt) * c * h * w, seed)),
          indices(test::random_ints(n, seed + 1, 0, nt - 1)) {
        for (int i = 0; i < c; ++i) mean.push_back(0.4f + 0.05f * i), sd.push_back(0.2f + 0.01f * i);
    }
    uint8_t px(int row, int c, int y, int x) const { return images[((size_t(row) * C + c) * H + y) * W + x]; }
    // Runs the front end on `dev` from generator state (seed, offset).
    std::vector<float> run(Device dev, int pad, bool flip, uint64_t seed, uint64_t offset = 0) const {
        Generator g(seed, offset);
        Tensor out = Tensor::empty(Shape{N, C, H, W}, DType::F32, dev);
        ops::augment_batch(Tensor::from_vector(images, Shape{Nt, C, H, W}, dev),
                           Tensor::from_vector(indices, Shape{N}, dev), pad, flip, mean, sd, g, out);
        EXPECT_EQ(g.offset(), offset + uint64_t(N));
        return out.to_vector<float>();
    }
    // Independent reference: explicit zero-padded image, crop window at (dy, dx), mirrored rows.
    std::vector<float> naive(int pad, bool flip, uint64_t seed, uint64_t offset = 0) const {
        std::vector<float> out;
        const int Hp = H + 2 * pad, Wp = W + 2 * pad;
        for (int n = 0; n < N; ++n) {
            const CropFlip cf = kernels::sample_crop_flip(seed, offset, n, pad, flip);
            for (int c = 0; c < C; ++c) {
                std::vector<float> padded(size_t(Hp) * Wp, 0.f);
                for (int y = 0; y < H; ++y)
                    for (int x = 0; x < W; ++x) padded[size_t(y + pad) * Wp + x + pad] = px(indices[n], c, y, x);
                for (int y = 0; y < H; ++y) {
                    std::vector<float> row(padded.begin() + size_t(y + cf.dy) * Wp + cf.dx,
                                           padded.begin() + size_t(y + cf.dy) * Wp + cf.dx + W);
                    if (cf.flip) std::reverse(row.begin(), row.end());
                    for (float v : row) out.push_back(norm(v, mean[c], sd[c]));
                }
            }
        }
        return out;
    }
};

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST(AugmentCpu, NoCropNoFlipIsTheNormalisedGather) {
    Batch b(7, 5, 3, 5, 6, 11);
    b.indices = {6, 0, 3, 3, 1};
    std::vector<float> got = b.run(Device::cpu(), 0, false, 42);
    size_t i = 0;
    for (int n = 0; n < b.N; ++n)
        for (int c = 0; c < b.C; ++c)
            for (int y = 0; y < b.H; ++y)
                for (int x = 0; x < b.W; ++x, ++i)
                    ASSERT_EQ(got[i], norm(b.px(b.indices[n], c, y, x), b.mean[c], b.sd[c])) << "element " << i;
}

TEST(AugmentCpu, CropAndFlipMatchNaiveReference) {
    for (int pad : {1, 4}) {
        Batch b(9, 80, 3, 7, 9, 21);
        std::vector<float> got = b.run(Device::cpu(), pad, true, 5, 100);
        EXPECT_TRUE(test::bits_equal(got, b.naive(pad, true, 5, 100))) << "pad " << pad;
        // The batch exercised both flips and both extreme offsets on each axis.
        int flips = 0;
        bool y0 = false, y2 = false, x0 = false, x2 = false;
        for (int n = 0; n < b.N; ++n) {
            CropFlip cf = kernels::sample_crop_flip(5, 100, n, pad, true);
            flips += cf.flip;
            y0 |= cf.dy == 0, y2 |= cf.dy == 2 * pad, x0 |= cf.dx == 0, x2 |= cf.dx == 2 * pad;
        }
        EXPECT_GT(flips, 0);
        EXPECT_LT(flips, b.N);
        EXPECT_TRUE(y0 && y2 && x0 && x2);
    }
}

TEST(AugmentCpu, CropIsAShiftedCopyWithZeroPadding) {
    // Semantics spelled out on one sample: out[y][x] = in[y + dy - pad][x + dx - pad], else raw 0.
    Batch b(1, 30, 1, 6, 6, 31);
    const int pad = 2;
    std::vector<float> got = b.run(Device::cpu(), pad, false, 77);
    for (int n = 0; n < b.N; ++n) {
        CropFlip cf = kernels::sample_crop_flip(77, 0, n, pad, false);
        ASSERT_FALSE(cf.flip);
        for (int y = 0; y < 6; ++y)
            for (int x = 0; x < 6; ++x) {
                int sy = y + cf.dy - pad, sx = x + cf.dx - pad;
                float raw = (sy >= 0 && sy < 6 && sx >= 0 && sx < 6) ? b.px(b.indices[n], 0, sy, sx) : 0.f;
                ASSERT_EQ(got[(size_t(n) * 6 + y) * 6 + x], norm(raw, b.mean[0], b.sd[0]));
            }
    }
}

TEST(AugmentCpu, FlipMirrorsEachRow) {
    Batch b(4, 32, 2, 3, 5, 41);
    std::vector<float> got = b.run(Device::cpu(), 0, true, 9);
    int flipped = 0;
    for (int n = 0; n < b.N; ++n) {
        const bool f = kernels::sample_crop_flip(9, 0, n, 0, true).flip;
        flipped += f;
        for (int c = 0; c < b.C; ++c)
            for (int y = 0; y < b.H; ++y)
                for (int x = 0; x < b.W; ++x) {
                    float raw = b.px(b.indices[n], c, y, f ? b.W - 1 - x : x);
                    ASSERT_EQ(got[((size_t(n) * b.C + c) * b.H + y) * b.W + x], norm(raw, b.mean[c], b.sd[c]));
                }
    }
    EXPECT_GT(flipped, 0);
    EXPECT_LT(flipped, b.N);
}

TEST(AugmentCpu, DeterministicPerSeedAndOffset) {
    Batch b(8, 6, 3, 8, 8, 51);
    auto a = b.run(Device::cpu(), 2, true, 123, 7);
    EXPECT_TRUE(test::bits_equal(a, b.run(Device::cpu(), 2, true, 123, 7)));
    EXPECT_FALSE(test::bits_equal(a, b.run(Device::cpu(), 2, true, 124, 7)));
    EXPECT_FALSE(test::bits_equal(a, b.run(Device::cpu(), 2, true, 123, 8)));
}

TEST(AugmentCpu, SamplerStatistics) {
    const int pad = 4, span = 2 * pad + 1, n = 90000;
    std::vector<int> hy(span), hx(span);
    int flips = 0;
    for (int i = 0; i < n; ++i) {
        CropFlip cf = kernels::sample_crop_flip(2024, 3, i, pad, true);
        ASSERT_TRUE(cf.dy >= 0 && cf.dy <= 2 * pad && cf.dx >= 0 && cf.dx <= 2 * pad);
        hy[cf.dy]++, hx[cf.dx]++, flips += cf.flip;
        ASSERT_FALSE(kernels::sample_crop_flip(2024, 3, i, pad, false).flip);
    }
    for (int k = 0; k < span; ++k) {  // expected 10000 each, sd ~ 94
        EXPECT_NEAR(hy[k], n / span, 500) << "dy " << k;
        EXPECT_NEAR(hx[k], n / span, 500) << "dx " << k;
    }
    EXPECT_NEAR(double(flips) / n, 0.5, 0.01);
    EXPECT_EQ(kernels::sample_crop_flip(1, 0, 0, 0, true).dy, 0);  // pad 0: no shift
}

TEST(AugmentCpu, RoundHalfToEvenHelper) {
    using kernels::round_half_even;
    EXPECT_EQ(round_half_even(0.5), 0.0);  // Python round(0.5) == 0: such a side is rejected (h > 0)
    EXPECT_EQ(round_half_even(1.5), 2.0);
    EXPECT_EQ(round_half_even(2.5), 2.0);  // std::round would give 3
    EXPECT_EQ(round_half_even(3.5), 4.0);
    EXPECT_EQ(round_half_even(12.5), 12.0);
    EXPECT_EQ(round_half_even(2.4999999999), 2.0);
    EXPECT_EQ(round_half_even(2.5000000001), 3.0);
    EXPECT_EQ(round_half_even(std::sqrt(6.25)), 2.0);  // sqrt(area * aspect) = 2.5 exactly -> h = 2
}

TEST(AugmentCpu, PortableExpLogMatchLibm) {
    for (double x = -60; x <= 60; x += 0.0137) {
        const double e = std::exp(x);
        ASSERT_NEAR(kernels::portable_exp(x), e, 4e-16 * e) << x;
    }
    for (double x : {1e-30, 1e-7, 0.3, 0.5, 0.70710678, 0.99999, 1.0, 1.5, 2.0, 3.3333, 1e10}) {
        ASSERT_NEAR(kernels::portable_log(x), std::log(x), 4e-16 * std::max(1.0, std::fabs(std::log(x)))) << x;
    }
    EXPECT_EQ(kernels::portable_log(1.0), 0.0);
    EXPECT_EQ(kernels::portable_exp(0.0), 1.0);
}

TEST(AugmentCpu, EraseBoxGeometry) {
    EraseDesc d;
    d.H = 32, d.W = 28, d.p = 0.5f, d.sl = 0.02f, d.sh = 0.4f, d.r1 = 0.3f;
    const double HW = d.H * d.W;
    int valid = 0, at_top = 0, at_bottom = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        Box b = kernels::sample_erase_box(d, 99, 1000, i);
        if (!b.valid) continue;
        ++valid;
        ASSERT_TRUE(b.h > 0 && b.h < d.H && b.w > 0 && b.w < d.W) << b.h << "x" << b.w;
        ASSERT_TRUE(b.top >= 0 && b.top + b.h <= d.H && b.left >= 0 && b.left + b.w <= d.W);
        // Sides are the rounded sqrt(area * aspect), sqrt(area / aspect): each within 0.5 of a real side.
        ASSERT_GE((b.h + 0.5) * (b.w + 0.5), d.sl * HW);
        ASSERT_LE((b.h - 0.5) * (b.w - 0.5), d.sh * HW);
        ASSERT_GE((b.h + 0.5) / (b.w - 0.5), d.r1 * (1 - 1e-6));
        ASSERT_LE((b.h - 0.5) / (b.w + 0.5), 1 / d.r1 * (1 + 1e-6));
        at_top += b.top == 0, at_bottom += b.top == d.H - b.h;
    }
    EXPECT_NEAR(double(valid) / n, 0.5, 0.02);  // the coin (the size search nearly always succeeds here)
    EXPECT_GT(at_top, 0);
    EXPECT_GT(at_bottom, 0);
}

TEST(AugmentCpu, EraseAttemptsAndStreamCap) {
    EraseDesc d;
    d.H = d.W = 32, d.p = 1.f, d.sl = 0.3f, d.sh = 0.99f, d.r1 = 0.1f;  // many draws rejected (side >= 32)
    auto rate = [&](int attempts) {
        d.max_attempts = attempts;
        int v = 0;
        for (int i = 0; i < 4000; ++i) v += kernels::sample_erase_box(d, 5, 0, i).valid;
        return v / 4000.0;
    };
    const double one = rate(1), many = rate(100);
    EXPECT_GT(one, 0.1);
    EXPECT_LT(one, 0.9);
    EXPECT_GT(many, one + 0.05);
    // Impossible sizes (2x2 image, area >= 3.6): never a box, whatever max_attempts (capped at 126 by
    // the 256 uniforms per sample; a larger request must not read past the sample's 64 counters).
    EraseDesc t;
    t.H = t.W = 2, t.p = 1.f, t.sl = 0.9f, t.sh = 0.99f, t.max_attempts = 100000;
    for (int i = 0; i < 50; ++i) EXPECT_FALSE(kernels::sample_erase_box(t, 1, 0, i).valid);
    EXPECT_EQ(kernels::kEraseMaxAttemptsInStream, 126);
    EXPECT_EQ(rate(126), rate(1000));
}

TEST(AugmentCpu, ErasingP0LeavesBatchUntouched) {
    std::vector<float> v = test::random_vec(4 * 3 * 10 * 10, 61);
    Tensor x = Tensor::from_vector(v, Shape{4, 3, 10, 10});
    Generator g(3, 10);
    ops::random_erasing(x, 0.f, 0.02f, 0.4f, 0.3f, 100, {9.f}, g);
    EXPECT_TRUE(test::bits_equal(x.to_vector<float>(), v));
    EXPECT_EQ(g.offset(), 10u + 4 * 64);
}

TEST(AugmentCpu, ErasingP1ErasesExactlyOneBoxPerImage) {
    const int N = 16, C = 3, H = 24, W = 20;
    std::vector<float> v = test::random_vec(size_t(N) * C * H * W, 71);  // in (-1, 1): never a fill value
    Tensor x = Tensor::from_vector(v, Shape{N, C, H, W});
    Generator g(8);
    const std::vector<float> value = {5.f, 6.f, 7.f};
    ops::random_erasing(x, 1.f, 0.02f, 0.4f, 0.3f, 100, value, g);
    std::vector<float> got = x.to_vector<float>();
    EraseDesc d;
    d.N = N, d.C = C, d.H = H, d.W = W, d.p = 1.f;
    for (int n = 0; n < N; ++n) {
        // Bounding box of the changed pixels, from channel 0; it must be filled completely.
        int y0 = H, y1 = -1, x0 = W, x1 = -1;
        for (int y = 0; y < H; ++y)
            for (int xx = 0; xx < W; ++xx)
                if (got[((size_t(n) * C) * H + y) * W + xx] != v[((size_t(n) * C) * H + y) * W + xx])
                    y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, xx), x1 = std::max(x1, xx);
        ASSERT_GE(y1, 0) << "sample " << n << " has no box";
        Box b = kernels::sample_erase_box(d, 8, 0, n);
        ASSERT_TRUE(b.valid);
        EXPECT_EQ(y0, b.top);
        EXPECT_EQ(x0, b.left);
        EXPECT_EQ(y1 - y0 + 1, b.h);
        EXPECT_EQ(x1 - x0 + 1, b.w);
        for (int c = 0; c < C; ++c)
            for (int y = 0; y < H; ++y)
                for (int xx = 0; xx < W; ++xx) {
                    size_t i = ((size_t(n) * C + c) * H + y) * W + xx;
                    bool in = y >= y0 && y <= y1 && xx >= x0 && xx <= x1;
                    ASSERT_EQ(got[i], in ? value[c] : v[i]) << "n " << n << " c " << c << " y " << y << " x " << xx;
                }
    }
}

TEST(AugmentCpu, FrontEndErrors) {
    Tensor img = Tensor::zeros(Shape{4, 3, 8, 8}, DType::U8), idx = Tensor::from_vector<int32_t>({0, 3}, Shape{2});
    Tensor out = Tensor::empty(Shape{2, 3, 8, 8});
    const std::vector<float> m3 = {0.5f, 0.5f, 0.5f}, s3 = {0.2f, 0.2f, 0.2f};
    Generator g;
    auto aug = [&](const Tensor& im, const Tensor& ix, int pad, std::vector<float> m, std::vector<float> s,
                   const Tensor& o) { return error_of([&] { ops::augment_batch(im, ix, pad, true, m, s, g, o); }); };
    EXPECT_EQ(aug(img, idx, 2, m3, s3, out), "(no error)");
    EXPECT_NE(aug(Tensor::zeros(Shape{4, 3, 8, 8}), idx, 2, m3, s3, out).find("argument 'images' has dtype f32, expected u8"), std::string::npos);
    EXPECT_NE(aug(Tensor::zeros(Shape{4, 5, 8, 8}, DType::U8), idx, 2, m3, s3, out).find("images has 5 channels"),
              std::string::npos);
    EXPECT_NE(aug(img, Tensor::zeros(Shape{2}, DType::I64), 2, m3, s3, out).find("argument 'indices' has dtype i64, expected i32"), std::string::npos);
    EXPECT_NE(aug(img, idx, 2, m3, s3, Tensor::empty(Shape{3, 3, 8, 8})).find("argument 'out' has shape [3, 3, 8, 8], expected [2, 3, 8, 8]"), std::string::npos);
    EXPECT_NE(aug(img, idx, -1, m3, s3, out).find("pad must be in [0, min(H, W)) = [0, 8) (got -1)"), std::string::npos);
    EXPECT_NE(aug(img, idx, 8, m3, s3, out).find("pad must be in [0, min(H, W)) = [0, 8) (got 8)"), std::string::npos);
    EXPECT_NE(aug(img, idx, 2, {0.5f}, s3, out).find("mean has 1 values, expected C = 3"), std::string::npos);
    EXPECT_NE(aug(img, idx, 2, m3, {0.2f, 0.f, 0.2f}, out).find("std[1]"), std::string::npos);
    EXPECT_NE(aug(img, Tensor::from_vector<int32_t>({0, -1}, Shape{2}), 2, m3, s3, out).find("indices[1]"),
              std::string::npos);
    EXPECT_NE(aug(img, Tensor::from_vector<int32_t>({4, 0}, Shape{2}), 2, m3, s3, out).find("indices[0] = 4"),
              std::string::npos);  // one past the last image

    Tensor x = Tensor::zeros(Shape{2, 3, 8, 8});
    auto er = [&](const Tensor& t, float p, float sl, float sh, float r1, int att, std::vector<float> val) {
        return error_of([&] { ops::random_erasing(t, p, sl, sh, r1, att, val, g); });
    };
    EXPECT_EQ(er(x, 0.5f, 0.02f, 0.4f, 0.3f, 100, {1.f}), "(no error)");
    EXPECT_EQ(er(x, 1.f, 0.4f, 0.4f, 1.f, 1, {1.f, 2.f, 3.f}), "(no error)");
    EXPECT_NE(er(Tensor::zeros(Shape{2, 3, 8, 8}, DType::U8), 0.5f, 0.02f, 0.4f, 0.3f, 100, {1.f}).find("random_erasing: argument 'x' has dtype u8, expected f32"),
              std::string::npos);
    EXPECT_NE(er(x, 1.5f, 0.02f, 0.4f, 0.3f, 100, {1.f}).find("p must"), std::string::npos);
    EXPECT_NE(er(x, 0.5f, 0.f, 0.4f, 0.3f, 100, {1.f}).find("need 0 < sl <= sh < 1 (got sl = 0, sh = 0.4)"), std::string::npos);
    EXPECT_NE(er(x, 0.5f, 0.5f, 0.4f, 0.3f, 100, {1.f}).find("need 0 < sl <= sh < 1 (got sl = 0.5, sh = 0.4)"), std::string::npos);
    EXPECT_NE(er(x, 0.5f, 0.02f, 1.f, 0.3f, 100, {1.f}).find("need 0 < sl <= sh < 1 (got sl = 0.02, sh = 1)"), std::string::npos);
    EXPECT_NE(er(x, 0.5f, 0.02f, 0.4f, 0.f, 100, {1.f}).find("r1 must be in (0, 1] (got 0)"), std::string::npos);
    EXPECT_NE(er(x, 0.5f, 0.02f, 0.4f, 1.5f, 100, {1.f}).find("r1 must be in (0, 1] (got 1.5)"), std::string::npos);
    EXPECT_NE(er(x, 0.5f, 0.02f, 0.4f, 0.3f, 0, {1.f}).find("max_attempts must be >= 1 (got 0)"), std::string::npos);
    EXPECT_NE(er(x, 0.5f, 0.02f, 0.4f, 0.3f, 100, {1.f, 2.f}).find("value has 2 entries, expected C = 3 or 1"), std::string::npos);
    EXPECT_NE(er(Tensor::zeros(Shape{2, 5, 8, 8}), 0.5f, 0.02f, 0.4f, 0.3f, 100, {1.f}).find("x has 5 channels"),
              std::string::npos);
}

// ---- CUDA against the CPU (bit-exact: same sampler, IEEE-exact arithmetic on both sides) ----------

TEST(AugmentCuda, AugmentBatchMatchesCpuBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    struct Cfg { int C, H, W, pad; bool flip; };
    for (Cfg cfg : {Cfg{1, 28, 28, 4, true}, Cfg{3, 32, 32, 4, true}, Cfg{3, 7, 7, 3, true}, Cfg{3, 32, 32, 0, false},
                    Cfg{1, 7, 7, 0, true}}) {
        Batch b(11, 5, cfg.C, cfg.H, cfg.W, 81 + cfg.C + cfg.H);
        kernels::AugmentDesc d;
        d.N = b.N, d.C = b.C, d.H = b.H, d.W = b.W, d.pad = cfg.pad, d.flip = cfg.flip, d.rows = b.Nt;
        for (int c = 0; c < b.C; ++c) d.mean[c] = b.mean[c], d.std[c] = b.sd[c];
        test::Guarded<float> out(dev, int64_t(b.N) * b.C * b.H * b.W);
        test::Guarded<uint8_t> img(dev, b.images);
        test::Guarded<int32_t> idx(dev, b.indices);
        kernels::cuda_ops().augment_batch(kernel_ctx(dev), d, img.ptr(), idx.ptr(), 31337, 12, out.ptr());
        synchronize(dev);
        EXPECT_TRUE(out.guards_intact());
        EXPECT_TRUE(test::bits_equal(out.read(), b.naive(cfg.pad, cfg.flip, 31337, 12))) << "C " << cfg.C << " H " << cfg.H;
        // The front end on CUDA gives the CPU front end's batch.
        EXPECT_TRUE(test::bits_equal(b.run(dev, cfg.pad, cfg.flip, 4, 2), b.run(Device::cpu(), cfg.pad, cfg.flip, 4, 2)));
    }
}

TEST(AugmentCuda, NegativeIndexGivesNaNImage) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    Batch b(3, 3, 2, 5, 5, 91);
    b.indices = {0, -4, 2};
    std::vector<float> got = b.run(dev, 1, true, 6);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(std::isnan(got[i]), i / 50 == 1) << i;
}

TEST(AugmentCuda, RandomErasingMatchesCpuBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    struct Cfg { int C, H, W; float p; };
    for (Cfg cfg : {Cfg{1, 28, 28, 1.f}, Cfg{3, 32, 32, 0.5f}, Cfg{3, 7, 7, 1.f}, Cfg{3, 32, 32, 1.f}}) {
        const int N = 5;
        EraseDesc d;
        d.N = N, d.C = cfg.C, d.H = cfg.H, d.W = cfg.W, d.p = cfg.p;
        for (int c = 0; c < cfg.C; ++c) d.value[c] = 2.5f + c;
        std::vector<float> v = test::random_vec(size_t(N) * cfg.C * cfg.H * cfg.W, 101 + cfg.H);
        std::vector<float> ref = v;
        kernels::cpu_ops().random_erasing(kernel_ctx(Device::cpu()), d, 777, 64, ref.data());
        test::Guarded<float> x(dev, v);
        kernels::cuda_ops().random_erasing(kernel_ctx(dev), d, 777, 64, x.ptr());
        synchronize(dev);
        EXPECT_TRUE(x.guards_intact());
        EXPECT_TRUE(test::bits_equal(x.read(), ref)) << "C " << cfg.C << " H " << cfg.H << " p " << cfg.p;
        EXPECT_FALSE(test::bits_equal(ref, v)) << "no sample was erased: the comparison proves little";
    }
}
