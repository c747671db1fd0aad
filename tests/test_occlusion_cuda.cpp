// Patch occlusion, CUDA against the CPU bit for bit: occlude_patches (guard bands catch out-of-bounds writes),
// patch_relevance into NaN-poisoned outputs and the Philox random order (occlusion_curves on CUDA:
// test_occlusion_curves.cpp). Skips without a device; fails with LRP_REQUIRE_CUDA=1.
#include "lrp/ops/elementwise.h"
#include "lrp/ops/occlusion.h"
#include "occlusion_test_util.h"

using namespace lrp;
using namespace lrp::test;

namespace {
struct Case {
    int N, C, H, W, patch;
};
const Case kCases[] = {{3, 1, 7, 9, 4}, {3, 3, 7, 9, 4}, {2, 4, 7, 9, 1}, {2, 3, 28, 28, 4}, {5, 3, 32, 32, 16},
                       {2, 3, 224, 224, 16}, {1, 3, 13, 5, 3}};
}  // namespace

TEST(OcclusionCuda, OccludeMatchesCpuBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    for (const Case& k : kCases) {
        const ops::PatchGrid g = ops::patch_grid(k.H, k.W, k.patch);
        const std::vector<float> x = random_vec(size_t(k.N) * k.C * k.H * k.W, 40 + k.H + k.patch);
        const std::vector<int32_t> order = random_orders(k.N, g.P(), 50 + g.P());
        std::vector<float> fill = {1.5f, -2.f, 3.f, -4.f};
        fill.resize(k.C);
        for (int m : {0, 1, g.P() / 3, g.P() - 1, g.P()}) {
            kernels::OcclusionDesc d;
            d.N = k.N, d.C = k.C, d.H = k.H, d.W = k.W, d.patch = k.patch, d.m = m;
            std::copy(fill.begin(), fill.end(), d.fill);
            std::vector<float> ref = x;
            kernels::cpu_ops().occlude_patches(kernel_ctx(Device::cpu()), d, order.data(), ref.data());
            Guarded<float> gx(dev, x);
            Guarded<int32_t> go(dev, order);
            kernels::cuda_ops().occlude_patches(kernel_ctx(dev), d, go.ptr(), gx.ptr());
            EXPECT_TRUE(gx.guards_intact());
            EXPECT_TRUE(bits_equal(gx.read(), ref)) << k.H << "x" << k.W << " C " << k.C << " patch " << k.patch
                                                    << " m " << m;
            EXPECT_TRUE(bits_equal(ref, occlude_reference(x, order, k.N, k.C, k.H, k.W, k.patch, m, fill)));
        }
    }
}

TEST(OcclusionCuda, FrontEndsMatchCpuWithPoisonedOutputs) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    for (const Case& k : kCases) {
        const ops::PatchGrid g = ops::patch_grid(k.H, k.W, k.patch);
        std::vector<float> map = random_vec(size_t(k.N) * k.H * k.W, 60 + k.W, -2.f, 2.f);
        map[1] = std::nanf("");  // sample 0's first patch sum is NaN on both
        const Tensor cmap = Tensor::from_vector(map, Shape{k.N, k.H, k.W});
        const std::vector<float> poison(size_t(k.N) * g.P(), std::nanf(""));
        Tensor crel = Tensor::from_vector(poison, Shape{k.N, g.P()});
        Tensor grel = Tensor::from_vector(poison, Shape{k.N, g.P()}, dev);
        ops::patch_relevance(cmap, k.patch, crel);
        ops::patch_relevance(cmap.to(dev), k.patch, grel);
        EXPECT_TRUE(bits_equal(grel.to_vector<float>(), crel.to_vector<float>()));
        Tensor corder = Tensor::empty(Shape{k.N, g.P()}, DType::I32);
        Tensor gorder = Tensor::from_vector(std::vector<int32_t>(size_t(k.N) * g.P(), -1), Shape{k.N, g.P()}, dev);
        ops::topk_rows(crel, g.P(), corder);
        ops::topk_rows(grel, g.P(), gorder);
        EXPECT_EQ(gorder.to_vector<int32_t>(), corder.to_vector<int32_t>());
        const std::vector<float> x = random_vec(size_t(k.N) * k.C * k.H * k.W, 70 + k.C);
        Tensor cx = Tensor::from_vector(x, Shape{k.N, k.C, k.H, k.W}), gx = cx.to(dev);
        ops::occlude_patches(cx, corder, g.P() / 2, k.patch, {0.25f});
        ops::occlude_patches(gx, gorder, g.P() / 2, k.patch, {0.25f});
        EXPECT_TRUE(bits_equal(gx.to_vector<float>(), cx.to_vector<float>()));
    }
}

// The random control order: Philox uniforms from one seed, ranked by topk_rows, on both backends.
TEST(OcclusionCuda, RandomOrderMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    for (int P : {6, 49, 196, 3136}) {
        Generator gc(1234, 7), gg(1234, 7);
        Tensor uc = Tensor::empty(Shape{3, P});
        Tensor ug = Tensor::from_vector(std::vector<float>(3 * P, NAN), Shape{3, P}, dev);  // poisoned
        ops::uniform(uc, gc, 0.f, 1.f);
        ops::uniform(ug, gg, 0.f, 1.f);
        Tensor oc = Tensor::empty(Shape{3, P}, DType::I32), og = Tensor::empty(Shape{3, P}, DType::I32, dev);
        ops::topk_rows(uc, P, oc);
        ops::topk_rows(ug, P, og);
        EXPECT_EQ(og.to_vector<int32_t>(), oc.to_vector<int32_t>()) << "P " << P;
        EXPECT_EQ(gg.offset(), gc.offset());
    }
}
