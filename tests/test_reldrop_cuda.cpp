// RelDrop masking, CUDA against the CPU reference bit for bit (same seed/offset; odd sizes; guarded
// outputs catch unwritten elements and out-of-bounds writes). Skips without a device.
#include "reldrop_test_util.h"

using namespace lrp;
using namespace lrp::test;

namespace {
struct Size {
    int C, H, W;
};
const Size kSizes[] = {{1, 7, 7}, {3, 7, 7}, {1, 28, 28}, {3, 28, 28}, {3, 32, 32}};

// Rows with many ties, NaN of both signs, +-Inf and signed zeros.
std::vector<float> nasty_rows(int rows, int cols, uint32_t seed) {
    std::vector<float> x = random_vec(size_t(rows) * cols, seed);
    for (size_t i = 0; i < x.size(); ++i) {
        if (i % 5 == 0) x[i] = std::floor(x[i] * 4.f);  // ties
        if (i % 97 == 3) x[i] = std::nanf("");
        if (i % 89 == 1) x[i] = -std::nanf("");
        if (i % 83 == 2) x[i] = INFINITY;
        if (i % 79 == 4) x[i] = -INFINITY;
        if (i % 73 == 5) x[i] = (i & 1) ? -0.f : 0.f;
    }
    return x;
}

TEST(RelDropCuda, ChannelSumMatchesCpuBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    for (Size s : kSizes) {
        RdBatch b(3, s.C, s.H, s.W, 200 + s.H);
        std::vector<float> ref(b.map.size());
        kernels::cpu_ops().channel_sum(kernel_ctx(Device::cpu()), b.x.data(), 3, s.C, b.HW(), ref.data());
        Guarded<float> x(dev, b.x), map(dev, int64_t(ref.size()));
        kernels::cuda_ops().channel_sum(kernel_ctx(dev), x.ptr(), 3, s.C, b.HW(), map.ptr());
        EXPECT_TRUE(map.guards_intact());
        EXPECT_TRUE(bits_equal(map.read(), ref)) << "C " << s.C << " H " << s.H;
    }
}

TEST(RelDropCuda, TopkMatchesCpuIncludingTiesNaNAndChunks) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    struct Cfg {
        int rows, cols, k;
    };
    // k > 2048 crosses the kernel's shared-memory chunk; 224 * 224 is an ImageNet map.
    for (Cfg c : {Cfg{3, 49, 1}, Cfg{3, 49, 49}, Cfg{3, 784, 5}, Cfg{5, 1024, 64}, Cfg{3, 1024, 1024},
                  Cfg{3, 224 * 224, 10}, Cfg{2, 224 * 224, 2500}, Cfg{1, 5000, 4100}}) {
        for (bool constant : {false, true}) {
            std::vector<float> x = nasty_rows(c.rows, c.cols, 300 + c.cols + c.k);
            if (constant) std::fill(x.begin(), x.end(), 0.5f);  // every value tied: indices 0..k-1
            std::vector<int32_t> ri(size_t(c.rows) * c.k);
            std::vector<float> rv(ri.size());
            const auto cpu = kernel_ctx(Device::cpu());
            kernels::cpu_ops().topk_rows(cpu, x.data(), c.rows, c.cols, c.k, ri.data(), rv.data());
            Guarded<float> in(dev, x), vals(dev, int64_t(ri.size()));
            Guarded<int32_t> idx(dev, int64_t(ri.size()));
            kernels::cuda_ops().topk_rows(kernel_ctx(dev), in.ptr(), c.rows, c.cols, c.k, idx.ptr(), vals.ptr());
            EXPECT_TRUE(idx.guards_intact() && vals.guards_intact());
            EXPECT_EQ(idx.read(), ri) << "rows " << c.rows << " cols " << c.cols << " k " << c.k;
            EXPECT_TRUE(bits_equal(vals.read(), rv));
            for (int r = 0; r < c.rows && c.k <= 64; ++r) {  // and the CPU agrees with the reference
                std::vector<float> row(x.begin() + size_t(r) * c.cols, x.begin() + size_t(r + 1) * c.cols);
                EXPECT_EQ(std::vector<int32_t>(ri.begin() + size_t(r) * c.k, ri.begin() + size_t(r + 1) * c.k),
                          topk_reference(row, c.k));
            }
        }
    }
}

// Runs `variant` through both tables from the same map and compares x and status bit for bit.
void compare_variant(const char* variant, int k, const char* coin, float p, Size s, uint64_t seed,
                     const char* pixel_norm = "signed_minmax", const char* box_clip = "truncate",
                     const char* patch_count = "1") {
    const Device dev = Device::cuda(0);
    const int N = 4;
    RdBatch b(N, s.C, s.H, s.W, 400 + s.H + s.C);
    b.map[b.HW() + 2] = std::nanf("");  // sample 1: non-finite map, skipped
    for (int64_t i = 0; i < b.HW(); ++i) b.map[3 * b.HW() + i] = i % 2 ? -0.f : 0.f;  // sample 3: flat
    auto prm = rd_params(variant, p, k, coin, {5.f, 6.f, 7.f});
    prm.fill.resize(s.C);
    prm.pixel_norm = pixel_norm;
    prm.box_clip = box_clip;
    prm.patch_count = patch_count;
    const kernels::RelDropDesc d = ops::reldrop_desc(prm, Tensor::empty(Shape{N, s.C, s.H, s.W}));
    const bool boxes = kernels::reldrop_is_boxes(d);
    std::vector<float> ref = b.x;
    std::vector<int32_t> ref_st(N), centres(size_t(N) * k);
    const auto cpu = kernel_ctx(Device::cpu());
    if (boxes) {
        kernels::cpu_ops().topk_rows(cpu, b.map.data(), N, b.HW(), k, centres.data(), nullptr);
        kernels::cpu_ops().reldrop_boxes(cpu, d, b.map.data(), centres.data(), seed, 11, ref.data(), ref_st.data());
    } else {
        kernels::cpu_ops().reldrop_pixel(cpu, d, b.map.data(), seed, 11, ref.data(), ref_st.data());
    }
    Guarded<float> x(dev, b.x), map(dev, b.map);
    Guarded<int32_t> st(dev, N), cen(dev, int64_t(centres.size()));
    if (boxes) {
        kernels::cuda_ops().topk_rows(kernel_ctx(dev), map.ptr(), N, b.HW(), k, cen.ptr(), nullptr);
        kernels::cuda_ops().reldrop_boxes(kernel_ctx(dev), d, map.ptr(), cen.ptr(), seed, 11, x.ptr(), st.ptr());
    } else {
        kernels::cuda_ops().reldrop_pixel(kernel_ctx(dev), d, map.ptr(), seed, 11, x.ptr(), st.ptr());
    }
    synchronize(dev);
    const std::string what = std::string(variant) + " " + coin + " " + pixel_norm + " " + box_clip + " patches " +
                             patch_count + " C " + std::to_string(s.C) + " H " + std::to_string(s.H) + " seed " +
                             std::to_string(seed);
    EXPECT_TRUE(x.guards_intact() && st.guards_intact()) << what;
    EXPECT_TRUE(bits_equal(x.read(), ref)) << what;
    EXPECT_EQ(st.read(), ref_st) << what;
    if (boxes) {
        EXPECT_EQ(cen.read(), centres) << what;
    }
}
}  // namespace

TEST(RelDropCuda, PixelMatchesCpuBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    for (Size s : kSizes)
        for (uint64_t seed : {1u, 2u, 3u}) {
            compare_variant("pixel", 1, "per_sample", 0.6f, s, seed);
            compare_variant("pixel", 1, "per_batch", 1.f, s, seed);
            compare_variant("pixel", 1, "per_sample", 0.8f, s, seed, "positive_max");
            compare_variant("pixel", 1, "per_sample", 0.8f, s, seed, "abs_max");
        }
}

TEST(RelDropCuda, BlockAndPatchMatchCpuBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    for (Size s : kSizes)
        for (uint64_t seed : {1u, 2u, 3u}) {
            compare_variant("block", 1, "per_batch", 1.f, s, seed);
            compare_variant("block", 5, "per_sample", 0.7f, s, seed);
            compare_variant("patch", 5, "per_batch", 1.f, s, seed);
            compare_variant("patch", 20, "per_sample", 1.f, s, seed);  // 7x7: many rejected sizes
            compare_variant("block", 3, "per_sample", 1.f, s, seed, "signed_minmax", "shift");
            compare_variant("patch", 5, "per_batch", 1.f, s, seed, "signed_minmax", "shift");
            compare_variant("patch", 5, "per_sample", 1.f, s, seed, "signed_minmax", "truncate", "k");
            compare_variant("patch", 3, "per_batch", 1.f, s, seed, "signed_minmax", "shift", "k");
        }
}

TEST(RelDropCuda, FrontEndMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    for (const char* v : {"pixel", "block", "patch"}) {
        RdBatch b(4, 3, 28, 28, 500);
        std::vector<float> rel = random_vec(b.x.size(), 501);
        auto run = [&](Device d, std::vector<int32_t>& st) {
            Tensor x = Tensor::from_vector(b.x, Shape{4, 3, 28, 28}, d), s = Tensor::empty(Shape{4}, DType::I32, d);
            Generator g(42, 9);
            ops::reldrop_apply(x, Tensor::from_vector(rel, Shape{4, 3, 28, 28}, d),
                               rd_params(v, 1.f, 3, "per_sample", {5.f, 6.f, 7.f}), g, s);
            st = s.to_vector<int32_t>();
            return x.to_vector<float>();
        };
        std::vector<int32_t> sc, sg;
        const auto cpu = run(Device::cpu(), sc);
        EXPECT_TRUE(bits_equal(run(dev, sg), cpu)) << v;
        EXPECT_EQ(sg, sc) << v;
        EXPECT_FALSE(bits_equal(cpu, b.x)) << v;
    }
}
