// EDDA's window ops: edda_select against a naive double reference (all three channel reductions, ties,
// non-finite maps), fill_windows against a naive fill, argument errors, and CUDA against the CPU bit for bit
// on guarded, poisoned outputs (skips without a device; fails with LRP_REQUIRE_CUDA=1).
#include <cmath>

#include "lrp/ops/edda.h"
#include "lrp/ops/elementwise.h"
#include "reldrop_test_util.h"

using namespace lrp;
using namespace lrp::test;

namespace {
struct Case {
    int N, C, H, W, patch;
};
const Case kCases[] = {{3, 1, 7, 9, 3}, {2, 3, 7, 9, 1}, {2, 3, 7, 9, 7}, {4, 1, 28, 28, 7},
                       {2, 3, 32, 32, 8}, {1, 5, 13, 5, 5}, {2, 3, 40, 33, 10}};

double reduce_ref(ops::EddaReduce r, float v) {
    if (r == ops::EddaReduce::Abs) return std::fabs(double(v));
    if (r == ops::EddaReduce::Relu) return std::max(0.0, double(v));
    return v;
}

// The window scores of sample n, summed naively (window row by row); the order differs from the kernels', so
// only the choice is compared (random inputs make near ties at 1e-15 practically impossible).
std::vector<double> window_scores(const std::vector<float>& r, const Case& k, int n, ops::EddaReduce red) {
    const int wh = k.H - k.patch + 1, ww = k.W - k.patch + 1;
    std::vector<double> s(size_t(wh) * ww, 0.0);
    for (int y0 = 0; y0 < wh; ++y0)
        for (int x0 = 0; x0 < ww; ++x0)
            for (int y = y0; y < y0 + k.patch; ++y)
                for (int x = x0; x < x0 + k.patch; ++x)
                    for (int c = 0; c < k.C; ++c)
                        s[size_t(y0) * ww + x0] += reduce_ref(red, r[((size_t(n) * k.C + c) * k.H + y) * k.W + x]);
    return s;
}

std::pair<int32_t, int32_t> choose_ref(const std::vector<double>& s) {
    int32_t best = 0, least = 0;
    for (size_t i = 1; i < s.size(); ++i) {
        if (s[i] > s[best]) best = int32_t(i);
        if (std::fabs(s[i]) < std::fabs(s[least])) least = int32_t(i);
    }
    return {best, least};
}

Tensor relevance_of(const std::vector<float>& r, const Case& k, Device d = Device::cpu()) {
    return Tensor::from_vector(r, Shape{k.N, k.C, k.H, k.W}, d);
}
}  // namespace

TEST(EddaSelect, MatchesNaiveReferenceForEveryReduction) {
    for (const Case& k : kCases)
        for (auto red : {ops::EddaReduce::Sum, ops::EddaReduce::Abs, ops::EddaReduce::Relu}) {
            const std::vector<float> r = random_vec(size_t(k.N) * k.C * k.H * k.W, 11 + k.H + k.C, -1.f, 1.f);
            const std::vector<int32_t> pos = ops::edda_select(relevance_of(r, k), k.patch, red).to_vector<int32_t>();
            ASSERT_EQ(pos.size(), size_t(2 * k.N));
            for (int n = 0; n < k.N; ++n) {
                const auto [best, least] = choose_ref(window_scores(r, k, n, red));
                EXPECT_EQ(pos[n], best) << k.H << "x" << k.W << " patch " << k.patch << " " << ops::edda_reduce_name(red);
                EXPECT_EQ(pos[k.N + n], least) << k.H << "x" << k.W << " patch " << k.patch << " "
                                               << ops::edda_reduce_name(red);
            }
        }
}

TEST(EddaSelect, FindsAPlantedWindowAndPrefersTheLowerIndexOnTies) {
    const Case k{1, 1, 10, 12, 3};
    std::vector<float> r(size_t(k.H) * k.W, 0.5f);
    // A constant map: every window ties, both choices are window 0.
    std::vector<int32_t> pos = ops::edda_select(relevance_of(r, k), 3, ops::EddaReduce::Sum).to_vector<int32_t>();
    EXPECT_EQ(pos, (std::vector<int32_t>{0, 0}));
    // Two strong positive 3x3 blocks at (4, 6) and (6, 0) tie in score: the lower flat index (4 * 10 + 6 = 46 <
    // 6 * 10 + 0 = 60) is the best window. One pixel of -0.08 at (2, 5) among 0.01s: every window holding it
    // (top-left rows 0..2, columns 3..5) sums to exactly 0, the lowest of them is (0, 3) = 3.
    r.assign(r.size(), 0.01f);
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x) {
            r[size_t(4 + y) * k.W + 6 + x] = 2.f;
            r[size_t(6 + y) * k.W + 0 + x] = 2.f;
        }
    r[size_t(2) * k.W + 5] = -0.08f;
    pos = ops::edda_select(relevance_of(r, k), 3, ops::EddaReduce::Sum).to_vector<int32_t>();
    EXPECT_EQ(pos[0], 46);
    EXPECT_EQ(pos[1], 3);
    // With abs those windows hold the most relevance outside the blocks; the least is window 0 (nine 0.01s).
    pos = ops::edda_select(relevance_of(r, k), 3, ops::EddaReduce::Abs).to_vector<int32_t>();
    EXPECT_EQ(pos[0], 46);
    EXPECT_EQ(pos[1], 0);
}

TEST(EddaSelect, NegativeRelevanceIsNotSalientUnderSum) {
    const Case k{1, 1, 8, 8, 2};
    std::vector<float> r(64, 0.1f);
    r[5 * 8 + 5] = r[5 * 8 + 6] = r[6 * 8 + 5] = r[6 * 8 + 6] = -5.f;  // a strongly negative window at (5, 5)
    r[1 * 8 + 1] = 0.5f;
    const std::vector<int32_t> s = ops::edda_select(relevance_of(r, k), 2, ops::EddaReduce::Sum).to_vector<int32_t>();
    EXPECT_EQ(s[0], 0 * 7 + 0);  // (0, 0), (0, 1), (1, 0), (1, 1) all hold the 0.5: the lowest index wins
    const std::vector<int32_t> a = ops::edda_select(relevance_of(r, k), 2, ops::EddaReduce::Abs).to_vector<int32_t>();
    EXPECT_EQ(a[0], 5 * 7 + 5);
    const std::vector<int32_t> p = ops::edda_select(relevance_of(r, k), 2, ops::EddaReduce::Relu).to_vector<int32_t>();
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[1], 5 * 7 + 5);  // relu zeroes the negative window: the least relevant one
}

TEST(EddaSelect, NonFiniteSamplesGetMinusOneAndLeaveOthersAlone) {
    const Case k{3, 2, 6, 7, 2};
    std::vector<float> r = random_vec(size_t(3) * 2 * 6 * 7, 5);
    const std::vector<int32_t> clean = ops::edda_select(relevance_of(r, k), 2, ops::EddaReduce::Relu).to_vector<int32_t>();
    for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
        std::vector<float> q = r;
        q[size_t(1) * 2 * 42 + 42 + 17] = bad;  // sample 1, channel 1: relu would hide -inf, the check must not
        Tensor pos_t = Tensor::empty(Shape{2, 3}, DType::I32), valid = ops::full(Shape{3}, -5.f);
        ops::edda_select(relevance_of(q, k), 2, ops::EddaReduce::Relu, pos_t, valid);
        const std::vector<int32_t> pos = pos_t.to_vector<int32_t>();
        EXPECT_EQ(valid.to_vector<float>(), (std::vector<float>{1.f, 0.f, 1.f}));
        EXPECT_EQ(pos[1], -1);
        EXPECT_EQ(pos[4], -1);
        EXPECT_EQ(pos[0], clean[0]);
        EXPECT_EQ(pos[2], clean[2]);
        EXPECT_EQ(pos[3], clean[3]);
        EXPECT_EQ(pos[5], clean[5]);
    }
}

TEST(EddaFillWindows, FillsExactlyTheWindowInEveryChannel) {
    const std::vector<float> x = random_vec(size_t(4) * 3 * 9 * 11, 7);
    const int ww = 11 - 4 + 1, windows = (9 - 4 + 1) * ww;
    const std::vector<int32_t> pos = {0, -1, windows - 1, 2 * ww + 3};
    Tensor t = Tensor::from_vector(x, Shape{4, 3, 9, 11});
    ops::fill_windows(t, Tensor::from_vector(pos, Shape{4}), 4, {1.5f, -2.f, 3.f});
    const std::vector<float> got = t.to_vector<float>();
    for (int n = 0; n < 4; ++n)
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 9; ++y)
                for (int w = 0; w < 11; ++w) {
                    const size_t i = ((size_t(n) * 3 + c) * 9 + y) * 11 + w;
                    const bool in = pos[n] >= 0 && y >= pos[n] / ww && y < pos[n] / ww + 4 && w >= pos[n] % ww &&
                                    w < pos[n] % ww + 4;
                    const float want = in ? (c == 0 ? 1.5f : (c == 1 ? -2.f : 3.f)) : x[i];
                    ASSERT_EQ(got[i], want) << n << " " << c << " " << y << " " << w;
                }
}

TEST(EddaOps, RejectBadArguments) {
    const Tensor r = Tensor::from_vector(random_vec(2 * 1 * 5 * 6, 3), Shape{2, 1, 5, 6});
    expect_error([&] { ops::edda_select(r, 6, ops::EddaReduce::Sum); }, {"patch must be in [1, 5]", "got 6"});
    expect_error([&] { ops::edda_select(r, 0, ops::EddaReduce::Sum); }, {"patch must be in [1, 5]"});
    expect_error([&] { ops::edda_select(r.reshape(Shape{2, 5, 6}), 2, ops::EddaReduce::Sum); }, {"relevance"});
    expect_error([&] { ops::edda_select(r, 2, ops::EddaReduce::Sum, Tensor::empty(Shape{2}, DType::I32)); }, {"pos"});
    expect_error([] { ops::parse_edda_reduce("max"); }, {"'max'", "sum, abs, relu"});
    Tensor x = Tensor::from_vector(random_vec(2 * 3 * 5 * 6, 4), Shape{2, 3, 5, 6});
    const Tensor pos = Tensor::from_vector(std::vector<int32_t>{0, 8}, Shape{2});  // 4 x 5 windows of 2: 20
    expect_error([&] { ops::fill_windows(x, pos, 2, {0.f, 1.f}); }, {"fill has 2 values", "C = 3"});
    expect_error([&] { ops::fill_windows(x, pos, 2, {NAN}); }, {"not finite"});
    expect_error([&] { ops::fill_windows(x, Tensor::from_vector(std::vector<int32_t>{0, 20}, Shape{2}), 2, {0.f}); },
                 {"pos[1] = 20", "outside [-1, 20)"});
    expect_error([&] { ops::fill_windows(x, Tensor::from_vector(std::vector<int32_t>{-2, 0}, Shape{2}), 2, {0.f}); },
                 {"pos[0] = -2"});
    ops::fill_windows(x, Tensor::from_vector(std::vector<int32_t>{-1, 19}, Shape{2}), 2, {0.f});  // both ends fine
}

TEST(EddaCuda, SelectMatchesCpuOnPoisonedGuardedOutputs) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    for (const Case& k : kCases)
        for (auto red : {ops::EddaReduce::Sum, ops::EddaReduce::Abs, ops::EddaReduce::Relu}) {
            std::vector<float> r = random_vec(size_t(k.N) * k.C * k.H * k.W, 90 + k.W + k.patch, -1.f, 1.f);
            if (k.N > 1) r[size_t(k.C) * k.H * k.W + 3] = std::nanf("");  // sample 1 non-finite
            if (k.N > 2) r[size_t(2) * k.C * k.H * k.W + 5] = -INFINITY;  // sample 2 too (relu would hide it)
            kernels::EddaSelectDesc d;
            d.N = k.N, d.C = k.C, d.H = k.H, d.W = k.W, d.patch = k.patch, d.reduce = red;
            std::vector<int32_t> ref(size_t(2 * k.N));
            std::vector<float> ref_valid(size_t(k.N));
            kernels::cpu_ops().edda_select(kernel_ctx(Device::cpu()), d, r.data(), ref.data(), ref_valid.data());
            const Tensor gr = Tensor::from_vector(r, Shape{k.N, k.C, k.H, k.W}, dev);
            Guarded<int32_t> pos(dev, 2 * k.N);
            Guarded<float> valid(dev, k.N);
            kernels::cuda_ops().edda_select(kernel_ctx(dev), d, gr.data<float>(), pos.ptr(), valid.ptr());
            EXPECT_TRUE(pos.guards_intact() && valid.guards_intact());
            EXPECT_TRUE(bits_equal(valid.read(), ref_valid));
            EXPECT_EQ(pos.read(), ref) << k.H << "x" << k.W << " C " << k.C << " patch " << k.patch << " "
                                       << ops::edda_reduce_name(red);
        }
}

// Exact ties (a constant map, two planted equal blocks, and more windows than a block has threads) are where
// the CUDA reduction's order could split from the CPU's scan: both must take the lower index.
TEST(EddaCuda, TiesGoToTheLowerIndexAsOnTheCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    struct Tie {
        int H, W, patch;
        std::vector<float> map;
    };
    std::vector<Tie> ties;
    ties.push_back({28, 28, 1, std::vector<float>(28 * 28, 0.25f)});  // 784 windows > 256 threads, all equal
    ties.push_back({10, 12, 3, std::vector<float>(120, 0.01f)});
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x) ties.back().map[size_t(4 + y) * 12 + 6 + x] = ties.back().map[size_t(6 + y) * 12 + x] = 2.f;
    ties.back().map[2 * 12 + 5] = -0.08f;  // zero-sum windows, nine of them
    ties.push_back({32, 32, 8, std::vector<float>(32 * 32, -1.f)});  // negative and equal everywhere
    for (const Tie& t : ties)
        for (auto red : {ops::EddaReduce::Sum, ops::EddaReduce::Abs, ops::EddaReduce::Relu}) {
            const Tensor r = Tensor::from_vector(t.map, Shape{1, 1, t.H, t.W});
            const std::vector<int32_t> want = ops::edda_select(r, t.patch, red).to_vector<int32_t>();
            EXPECT_EQ(ops::edda_select(r.to(dev), t.patch, red).to_vector<int32_t>(), want)
                << t.H << "x" << t.W << " patch " << t.patch << " " << ops::edda_reduce_name(red);
        }
}

TEST(EddaCuda, FillWindowsMatchesCpuBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    for (const Case& k : kCases) {
        if (k.C > 4) continue;
        const int windows = (k.H - k.patch + 1) * (k.W - k.patch + 1);
        const std::vector<float> x = random_vec(size_t(k.N) * k.C * k.H * k.W, 30 + k.H);
        std::vector<int32_t> pos = random_ints(size_t(k.N), 40 + k.W, -1, windows - 1);
        pos[0] = windows - 1;  // the bottom-right window reaches the last pixel
        kernels::WindowFillDesc d;
        d.N = k.N, d.C = k.C, d.H = k.H, d.W = k.W, d.patch = k.patch;
        const float fill[4] = {0.5f, -1.25f, 2.f, 7.f};
        std::copy(fill, fill + 4, d.fill);
        std::vector<float> ref = x;
        kernels::cpu_ops().fill_windows(kernel_ctx(Device::cpu()), d, pos.data(), ref.data());
        Guarded<float> gx(dev, x);
        Guarded<int32_t> gp(dev, pos);
        kernels::cuda_ops().fill_windows(kernel_ctx(dev), d, gp.ptr(), gx.ptr());
        EXPECT_TRUE(gx.guards_intact());
        EXPECT_TRUE(bits_equal(gx.read(), ref)) << k.H << "x" << k.W << " patch " << k.patch;
    }
}
