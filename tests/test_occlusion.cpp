// Patch occlusion ops on the CPU: occlude_patches and patch_relevance against naive references (odd sizes,
// partial patches, m = 0 and m = P), the MoRF order from topk_rows, and the front ends' errors.
#include "lrp/ops/occlusion.h"

#include "lrp/ops/reldrop.h"
#include "occlusion_test_util.h"

using namespace lrp;
using namespace lrp::test;

namespace {
struct Case {
    int N, C, H, W, patch;
};
// 7 x 9 with patch 4: a 2 x 3 grid whose last row and column are partial.
const Case kCases[] = {{3, 1, 7, 9, 4}, {3, 3, 7, 9, 4}, {2, 4, 7, 9, 2}, {2, 3, 7, 9, 1}, {2, 3, 7, 9, 7},
                       {2, 1, 28, 28, 4}, {2, 3, 32, 32, 16}, {1, 3, 13, 5, 3}};

Tensor cpu_tensor(const std::vector<float>& v, const Shape& s) { return Tensor::from_vector(v, s); }
}  // namespace

TEST(OcclusionCpu, PatchGridCountsPartialPatches) {
    const ops::PatchGrid g = ops::patch_grid(7, 9, 4);
    EXPECT_EQ(g.ph, 2);
    EXPECT_EQ(g.pw, 3);
    EXPECT_EQ(g.P(), 6);
    EXPECT_EQ(ops::patch_grid(28, 28, 4).P(), 49);
    EXPECT_EQ(ops::patch_grid(224, 224, 16).P(), 196);
    EXPECT_EQ(ops::patch_grid(5, 5, 5).P(), 1);
}

TEST(OcclusionCpu, MatchesNaiveReference) {
    for (const Case& k : kCases) {
        const int P = ops::patch_grid(k.H, k.W, k.patch).P();
        const std::vector<float> x = random_vec(size_t(k.N) * k.C * k.H * k.W, 10 + k.H + k.patch);
        const std::vector<int32_t> order = random_orders(k.N, P, 20 + P);
        std::vector<float> fill = {2.5f, -3.f, 4.f, -5.f};
        fill.resize(k.C);
        for (int m : {0, 1, P / 2, P - 1, P}) {
            if (m < 0) continue;
            Tensor t = cpu_tensor(x, Shape{k.N, k.C, k.H, k.W});
            ops::occlude_patches(t, Tensor::from_vector(order, Shape{k.N, P}), m, k.patch, fill);
            EXPECT_TRUE(bits_equal(t.to_vector<float>(),
                                   occlude_reference(x, order, k.N, k.C, k.H, k.W, k.patch, m, fill)))
                << "N " << k.N << " C " << k.C << " " << k.H << "x" << k.W << " patch " << k.patch << " m " << m;
        }
    }
}

TEST(OcclusionCpu, ZeroPatchesLeaveInputBitIdenticalAllPatchesFillEverything) {
    const int N = 2, C = 3, H = 7, W = 9, patch = 4, P = 6;
    std::vector<float> x = random_vec(size_t(N) * C * H * W, 5);
    x[3] = std::nanf("");  // left alone as well
    x[4] = -0.f;
    const Tensor order = Tensor::from_vector(random_orders(N, P, 6), Shape{N, P});
    Tensor t = cpu_tensor(x, Shape{N, C, H, W});
    ops::occlude_patches(t, order, 0, patch, {1.f, 2.f, 3.f});
    EXPECT_TRUE(bits_equal(t.to_vector<float>(), x));
    ops::occlude_patches(t, order, P, patch, {1.f, 2.f, 3.f});
    const std::vector<float> all = t.to_vector<float>();
    for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], 1.f + (i / (H * W)) % C) << "element " << i;
    ops::occlude_patches(t, order, P, patch, {-7.f});  // one value for every channel
    for (float v : t.to_vector<float>()) ASSERT_EQ(v, -7.f);
}

TEST(OcclusionCpu, PatchRelevanceMatchesNaiveMeans) {
    for (const Case& k : kCases) {
        const std::vector<float> map = random_vec(size_t(k.N) * k.H * k.W, 30 + k.W + k.patch, -3.f, 3.f);
        const Tensor rel = ops::patch_relevance(cpu_tensor(map, Shape{k.N, k.H, k.W}), k.patch);
        const ops::PatchGrid g = ops::patch_grid(k.H, k.W, k.patch);
        EXPECT_EQ(rel.shape(), Shape({k.N, g.P()}));
        EXPECT_TRUE(bits_equal(rel.to_vector<float>(), patch_relevance_reference(map, k.N, k.H, k.W, k.patch)))
            << k.H << "x" << k.W << " patch " << k.patch;
    }
}

TEST(OcclusionCpu, PatchRelevanceKeepsNaNAndInf) {
    std::vector<float> map(2 * 4 * 4, 1.f);
    map[5] = std::nanf("");     // sample 0, patch (0, 0) of a 2 x 2 grid of 2 px patches
    map[16 + 15] = INFINITY;    // sample 1, patch (1, 1)
    const std::vector<float> rel = ops::patch_relevance(cpu_tensor(map, Shape{2, 4, 4}), 2).to_vector<float>();
    EXPECT_TRUE(std::isnan(rel[0]));
    EXPECT_EQ(rel[1], 1.f);
    EXPECT_EQ(rel[7], INFINITY);
}

// The MoRF order: the patch means sorted descending by topk_rows, ties by lower patch index.
TEST(OcclusionCpu, MorfOrderFromPatchMeans) {
    // 4 x 4 map, 2 px patches: means 1 (patch 0), 2 (1), 1 (2), 3 (3)
    std::vector<float> map = {1, 1, 2, 2,  //
                              1, 1, 2, 2,  //
                              1, 1, 3, 3,  //
                              1, 1, 3, 3};
    const Tensor rel = ops::patch_relevance(cpu_tensor(map, Shape{1, 4, 4}), 2);
    Tensor order = Tensor::empty(Shape{1, 4}, DType::I32);
    ops::topk_rows(rel, 4, order);
    EXPECT_EQ(order.to_vector<int32_t>(), (std::vector<int32_t>{3, 1, 0, 2}));
    // 5 x 5 with 4 px patches: the 1-pixel corner patch 3 holds 2 per pixel, more than the full patch 0's 1 per
    // pixel (a sum would rank it last: 2 against 16).
    std::vector<float> edge(25, 0.f);
    for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 4; ++w) edge[h * 5 + w] = 1.f;
    edge[24] = 2.f;
    Tensor eorder = Tensor::empty(Shape{1, 4}, DType::I32);
    ops::topk_rows(ops::patch_relevance(cpu_tensor(edge, Shape{1, 5, 5}), 4), 4, eorder);
    EXPECT_EQ(eorder.to_vector<int32_t>(), (std::vector<int32_t>{3, 0, 1, 2}));
    Tensor x = Tensor::zeros(Shape{1, 1, 4, 4});
    ops::occlude_patches(x, order, 2, 2, {1.f});
    EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}));
}

TEST(OcclusionCpu, FrontEndErrorsAreClear) {
    const Tensor x = Tensor::zeros(Shape{2, 3, 7, 9});
    const Tensor order = Tensor::from_vector(random_orders(2, 6, 1), Shape{2, 6});
    const std::vector<float> fill = {0.f};
    expect_error([&] { ops::occlude_patches(Tensor::zeros(Shape{2, 7, 9}), order, 1, 4, fill); },
                 {"occlude_patches", "'x'", "4"});
    expect_error([&] { ops::occlude_patches(Tensor::zeros(Shape{2, 5, 7, 9}), order, 1, 4, fill); },
                 {"occlude_patches", "5 channels", "1 to 4"});
    expect_error([&] { ops::occlude_patches(x, Tensor::from_vector(random_orders(2, 4, 1), Shape{2, 4}), 1, 4, fill); },
                 {"occlude_patches", "order", "[2, 6]"});
    expect_error([&] { ops::occlude_patches(x, Tensor::zeros(Shape{2, 6}), 1, 4, fill); },
                 {"occlude_patches", "order", "i32"});
    expect_error([&] { ops::occlude_patches(x, order, 7, 4, fill); }, {"m must be in [0, P] = [0, 6]", "got 7"});
    expect_error([&] { ops::occlude_patches(x, order, -1, 4, fill); }, {"m must be in", "got -1"});
    expect_error([&] { ops::occlude_patches(x, order, 1, 4, {1.f, 2.f}); }, {"fill has 2 values", "C = 3 or 1"});
    expect_error([&] { ops::occlude_patches(x, order, 1, 4, {NAN}); }, {"fill[0]", "not finite"});
    expect_error([&] { ops::occlude_patches(x, order, 1, 0, fill); }, {"patch must be in [1, 7]", "got 0"});
    expect_error([&] { ops::occlude_patches(x, order, 1, 8, fill); }, {"patch must be in [1, 7]", "got 8"});
    const Tensor bad = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 5, 6, 0, 1, 2, 3}, Shape{2, 6});
    expect_error([&] { ops::occlude_patches(x, bad, 2, 4, fill); }, {"order[1, 1] = 6", "outside [0, 6)"});
    ops::occlude_patches(x, bad, 1, 4, fill);  // only the used entries are checked
    expect_error([&] { ops::patch_relevance(Tensor::zeros(Shape{2, 1, 7, 9}), 4); }, {"patch_relevance", "'map'"});
    expect_error([&] { ops::patch_relevance(Tensor::zeros(Shape{2, 7, 9}), 4, Tensor::zeros(Shape{2, 5})); },
                 {"patch_relevance", "rel", "[2, 6]"});
}
