// augment_batch with a random resized crop (torchvision's RandomResizedCrop to the image's own size): the window
// sampler's geometry and fallback, bilinear and nearest resampling against double references, counters, front-end
// errors, and CUDA against the CPU bit for bit.
#include <cmath>
#include <algorithm>
#include <set>

#include "lrp/generator.h"
#include "lrp/kernels/augment_sampler.h"
#include "lrp/kernels/ops.h"
#include "lrp/ops/augment.h"
#include "test_util.h"

using namespace lrp;
using lrp::kernels::AugmentDesc;
using lrp::kernels::CropBox;

namespace {
struct Data {
    int Nt, N, C, H, W;
    std::vector<uint8_t> images;
    std::vector<int32_t> indices;
    std::vector<float> mean, sd;
    Data(int nt, int n, int c, int h, int w, uint32_t seed) : Nt(nt), N(n), C(c), H(h), W(w) {
        for (int32_t v : test::random_ints(size_t(nt) * c * h * w, seed, 1, 255)) images.push_back(uint8_t(v));
        indices = test::random_ints(n, seed + 1, 0, nt - 1);
        for (int i = 0; i < c; ++i) mean.push_back(0.45f - 0.05f * i), sd.push_back(0.25f + 0.01f * i);
    }
    double px(int row, int c, int y, int x) const { return images[((size_t(row) * C + c) * H + y) * W + x]; }
    std::vector<float> run(Device dev, const ops::ResizedCrop& rc, bool flip, uint64_t seed, uint64_t offset,
                           Generator* after = nullptr) const {
        Generator g(seed, offset);
        Tensor out = Tensor::empty(Shape{N, C, H, W}, DType::F32, dev);
        ops::augment_batch(Tensor::from_vector(images, Shape{Nt, C, H, W}, dev),
                           Tensor::from_vector(indices, Shape{N}, dev), 0, flip, mean, sd, g, out, rc);
        if (after) *after = g;
        return out.to_vector<float>();
    }
    AugmentDesc desc(const ops::ResizedCrop& rc, bool flip) const {
        AugmentDesc d;
        d.N = N, d.rows = Nt, d.C = C, d.H = H, d.W = W, d.flip = flip, d.resized_crop = true, d.nearest = rc.nearest;
        d.scale_lo = rc.scale_lo, d.scale_hi = rc.scale_hi, d.ratio_lo = rc.ratio_lo, d.ratio_hi = rc.ratio_hi;
        d.log_ratio_lo = kernels::portable_log(d.ratio_lo), d.log_ratio_hi = kernels::portable_log(d.ratio_hi);
        for (int c = 0; c < C; ++c) d.mean[c] = mean[c], d.std[c] = sd[c];
        return d;
    }
    // Double-precision reference of the resampling, in the window the sampler chose: PyTorch's bilinear
    // (align_corners=False, source coordinate clamped at 0, last pixel repeated) or nearest (floor(y * h / H)).
    std::vector<double> reference(const ops::ResizedCrop& rc, bool flip, uint64_t seed, uint64_t offset) const {
        const AugmentDesc d = desc(rc, flip);
        std::vector<double> out;
        for (int n = 0; n < N; ++n) {
            const CropBox b = kernels::sample_resized_crop(d, seed, offset, n);
            const double sy = double(b.h) / H, sx = double(b.w) / W;
            for (int c = 0; c < C; ++c)
                for (int y = 0; y < H; ++y)
                    for (int xo = 0; xo < W; ++xo) {
                        const int x = b.flip ? W - 1 - xo : xo;
                        double v;
                        if (rc.nearest) {  // PyTorch's float scale and product (exact in float otherwise)
                            const float fy = float(y) * (float(b.h) / float(H)), fx = float(x) * (float(b.w) / float(W));
                            v = px(indices[n], c, b.top + std::min(int(std::floor(fy)), b.h - 1),
                                   b.left + std::min(int(std::floor(fx)), b.w - 1));
                        } else {
                            const double fy = std::max((y + 0.5) * sy - 0.5, 0.0), fx = std::max((x + 0.5) * sx - 0.5, 0.0);
                            const int y0 = std::min(int(fy), b.h - 1), x0 = std::min(int(fx), b.w - 1);
                            const int y1 = std::min(y0 + 1, b.h - 1), x1 = std::min(x0 + 1, b.w - 1);
                            const double ly = fy - y0, lx = fx - x0;
                            auto at = [&](int yy, int xx) { return px(indices[n], c, b.top + yy, b.left + xx); };
                            v = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) +
                                ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
                        }
                        out.push_back((v / 255.0 - mean[c]) / sd[c]);
                    }
        }
        return out;
    }
};

ops::ResizedCrop resized(float s0 = 0.08f, float s1 = 1.f, float r0 = 0.75f, float r1 = 4.f / 3.f,
                         bool nearest = false) {
    ops::ResizedCrop rc;
    rc.enabled = true, rc.scale_lo = s0, rc.scale_hi = s1, rc.ratio_lo = r0, rc.ratio_hi = r1, rc.nearest = nearest;
    return rc;
}

}  // namespace

TEST(ResizedCropCpu, WholeImageWindowIsThePlainGather) {
    // scale 1 and the image's own aspect: every window is the whole image, resampled 1:1 (bit for bit the
    // normalised gather of the padded crop's pad = 0 path).
    Data b(6, 9, 3, 5, 7, 3);
    const std::vector<float> got = b.run(Device::cpu(), resized(1.f, 1.f, 1.4f, 1.4f), false, 8, 0);
    Generator g(8, 0);
    Tensor out = Tensor::empty(Shape{b.N, b.C, b.H, b.W});
    ops::augment_batch(Tensor::from_vector(b.images, Shape{b.Nt, b.C, b.H, b.W}),
                       Tensor::from_vector(b.indices, Shape{b.N}), 0, false, b.mean, b.sd, g, out);
    EXPECT_TRUE(test::bits_equal(got, out.to_vector<float>()));
}

TEST(ResizedCropCpu, BilinearAndNearestMatchDoubleReferences) {
    for (bool nearest : {false, true}) {
        Data b(7, 40, 3, 9, 13, 17);
        const ops::ResizedCrop rc = resized(0.08f, 1.f, 0.75f, 4.f / 3.f, nearest);
        const std::vector<float> got = b.run(Device::cpu(), rc, true, 21, 5);
        const std::vector<double> ref = b.reference(rc, true, 21, 5);
        ASSERT_EQ(got.size(), ref.size());
        double worst = 0;
        for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - ref[i]));
        EXPECT_LT(worst, nearest ? 1e-6 : 2e-5) << "nearest " << nearest;
        // The batch upsampled (windows smaller than the image) and flipped some samples, not all.
        const AugmentDesc d = b.desc(rc, true);
        int flips = 0, smaller = 0;
        for (int n = 0; n < b.N; ++n) {
            const CropBox c = kernels::sample_resized_crop(d, 21, 5, n);
            flips += c.flip, smaller += c.h < b.H || c.w < b.W;
        }
        EXPECT_GT(flips, 0);
        EXPECT_LT(flips, b.N);
        EXPECT_GT(smaller, b.N / 2);
    }
}

TEST(ResizedCropCpu, WindowsFollowTorchvisionsGeometry) {
    AugmentDesc d = Data(1, 1, 1, 32, 24, 1).desc(resized(), true);
    int top0 = 0, bottom = 0, left0 = 0, right = 0;
    for (int n = 0; n < 4000; ++n) {
        const CropBox b = kernels::sample_resized_crop(d, 99, 7, n);
        ASSERT_TRUE(b.h >= 1 && b.w >= 1 && b.top >= 0 && b.left >= 0 && b.top + b.h <= 32 && b.left + b.w <= 24)
            << n << ": " << b.top << "," << b.left << " " << b.h << "x" << b.w;
        // An accepted draw: area >= 8 % and aspect in [3/4, 4/3], each side rounded by at most 1/2 pixel.
        const double h = b.h, w = b.w, area = h * w / (32.0 * 24.0), aspect = w / h;
        EXPECT_GE(area, 0.08 * h / (h + 0.5) * w / (w + 0.5) - 1e-12) << n;
        EXPECT_GE(aspect, 0.75 * w / (w + 0.5) * (h - 0.5) / h - 1e-12) << n;
        EXPECT_LE(aspect, 4.0 / 3 * w / (w - 0.5) * (h + 0.5) / h + 1e-12) << n;
        top0 += b.top == 0, bottom += b.top + b.h == 32, left0 += b.left == 0, right += b.left + b.w == 24;
    }
    EXPECT_TRUE(top0 > 0 && bottom > 0 && left0 > 0 && right > 0);  // windows reach every edge
    // A fixed size: area 50 % of 10 x 10, aspect 1 -> 7 x 7 (rint(sqrt(50))) at uniform positions in [0, 3].
    d = Data(1, 1, 1, 10, 10, 1).desc(resized(0.5f, 0.5f, 1.f, 1.f), false);
    std::set<int> pos;
    for (int n = 0; n < 200; ++n) {
        const CropBox b = kernels::sample_resized_crop(d, 3, 0, n);
        ASSERT_EQ(b.h, 7);
        ASSERT_EQ(b.w, 7);
        ASSERT_FALSE(b.flip);
        pos.insert(b.top * 4 + b.left);
    }
    EXPECT_EQ(pos.size(), 16u);
}

TEST(ResizedCropCpu, TenRejectionsFallBackToTheCentralCrop) {
    // Aspect in [3, 4] on a square image at scale 1: every draw is wider than the image. torchvision's fallback:
    // the whole width, height round(W / 3), centred.
    const AugmentDesc d = Data(1, 1, 1, 8, 8, 1).desc(resized(1.f, 1.f, 3.f, 4.f), false);
    const CropBox b = kernels::sample_resized_crop(d, 5, 0, 0);
    EXPECT_EQ(b.w, 8);
    EXPECT_EQ(b.h, 3);  // 8 / 3 = 2.67
    EXPECT_EQ(b.top, 2);
    EXPECT_EQ(b.left, 0);
    // Narrower than the range: the whole height, width round(H * max ratio).
    const AugmentDesc t = Data(1, 1, 1, 4, 12, 1).desc(resized(1.f, 1.f, 0.5f, 2.f), false);
    const CropBox c = kernels::sample_resized_crop(t, 5, 0, 0);
    EXPECT_EQ(c.h, 4);
    EXPECT_EQ(c.w, 8);
    EXPECT_EQ(c.left, 2);
    EXPECT_EQ(c.top, 0);
}

TEST(ResizedCropCpu, CountersAndDeterminism) {
    Data b(5, 6, 2, 11, 10, 41);
    Generator after;
    const std::vector<float> one = b.run(Device::cpu(), resized(), true, 4, 10, &after);
    EXPECT_EQ(after.offset(), 10u + 6u * kernels::kResizedCropCountersPerSample);
    EXPECT_TRUE(test::bits_equal(one, b.run(Device::cpu(), resized(), true, 4, 10)));
    EXPECT_FALSE(test::bits_equal(one, b.run(Device::cpu(), resized(), true, 5, 10)));
    // Sample n's window depends on its own counters only: a batch one sample longer starts with the same images.
    Data longer = b;
    longer.N = 7, longer.indices.push_back(0);
    const std::vector<float> two = longer.run(Device::cpu(), resized(), true, 4, 10);
    EXPECT_TRUE(test::bits_equal(std::vector<float>(two.begin(), two.begin() + one.size()), one));
}

TEST(ResizedCropCpu, FrontEndErrors) {
    Data b(3, 2, 3, 8, 8, 2);
    Tensor img = Tensor::from_vector(b.images, Shape{3, 3, 8, 8}), idx = Tensor::from_vector(b.indices, Shape{2});
    Tensor out = Tensor::empty(Shape{2, 3, 8, 8});
    Generator g;
    auto aug = [&](int pad, const ops::ResizedCrop& rc) {
        return [&, pad, rc] { ops::augment_batch(img, idx, pad, true, b.mean, b.sd, g, out, rc); };
    };
    aug(0, resized())();  // valid
    test::expect_error(aug(2, resized()), {"pad must be 0"});
    for (const ops::ResizedCrop& rc : {resized(0.f, 1.f), resized(0.5f, 0.4f), resized(0.5f, 1.5f),
                                       resized(NAN, 1.f)})
        test::expect_error(aug(0, rc), {"scale needs 0 < min <= max <= 1"});
    for (const ops::ResizedCrop& rc : {resized(0.08f, 1.f, 0.f, 1.f), resized(0.08f, 1.f, 2.f, 1.f),
                                       resized(0.08f, 1.f, 1.f, INFINITY), resized(0.08f, 1.f, NAN, 1.f)})
        test::expect_error(aug(0, rc), {"ratio needs 0 < min <= max, finite"});
}

// ---- CUDA against the CPU (bit-exact: the same sampler and explicit fmaf on both sides) ----------

TEST(ResizedCropCuda, MatchesCpuBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    struct Cfg { int C, H, W; bool flip, nearest; };
    for (Cfg cfg : {Cfg{1, 28, 28, true, false}, Cfg{3, 32, 32, true, false}, Cfg{3, 7, 9, true, false},
                    Cfg{1, 13, 11, true, true}, Cfg{3, 40, 37, false, false}}) {
        Data b(9, 70, cfg.C, cfg.H, cfg.W, 55 + cfg.H);
        const ops::ResizedCrop rc = resized(0.08f, 1.f, 0.75f, 4.f / 3.f, cfg.nearest);
        const AugmentDesc d = b.desc(rc, cfg.flip);
        test::Guarded<float> out(dev, int64_t(b.N) * b.C * b.H * b.W);
        test::Guarded<uint8_t> img(dev, b.images);
        test::Guarded<int32_t> idx(dev, b.indices);
        kernels::cuda_ops().augment_batch(kernel_ctx(dev), d, img.ptr(), idx.ptr(), 31337, 12, out.ptr());
        synchronize(dev);
        EXPECT_TRUE(out.guards_intact());
        std::vector<float> ref(size_t(b.N) * b.C * b.H * b.W, -7.f);
        kernels::cpu_ops().augment_batch(kernel_ctx(Device::cpu()), d, b.images.data(), b.indices.data(), 31337, 12,
                                         ref.data());
        EXPECT_TRUE(test::bits_equal(out.read(), ref)) << "C " << cfg.C << " H " << cfg.H << " nearest " << cfg.nearest;
        EXPECT_TRUE(test::bits_equal(b.run(dev, rc, cfg.flip, 4, 2), b.run(Device::cpu(), rc, cfg.flip, 4, 2)));
    }
}

TEST(ResizedCropCuda, BadIndexGivesNaNImage) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    Data b(3, 3, 2, 5, 6, 91);
    b.indices = {0, 3, 2};
    const std::vector<float> got = b.run(dev, resized(), true, 6, 0);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(std::isnan(got[i]), i / 60 == 1) << i;
}
