// Pooling tests: CPU max/avg pooling against double references and hand-derived PyTorch values (tie
// and NaN rules, every divisor-rule combination, ceil_mode), finite-difference checks of both backward
// passes, front-end errors, global average pooling, and CUDA-vs-CPU comparisons of every entry.
#include <algorithm>
#include <cmath>
#include <limits>

#include "lrp/kernels/ops.h"
#include "lrp/ops/pool.h"
#include "pool_test_util.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::kernels;
using lrp::ops::Pool2dParams;
using lrp::test::all_close;
using lrp::test::Tol;

namespace {

Pool2dParams pp(int k, int s, int p, bool ceil = false, bool include_pad = true, int div = 0, int dil = 1) {
    Pool2dParams r;
    r.kh = r.kw = k, r.sh = r.sw = s, r.ph = r.pw = p, r.dil_h = r.dil_w = dil;
    r.ceil_mode = ceil, r.count_include_pad = include_pad, r.divisor_override = div;
    return r;
}
Pool2dDesc desc(int N, int C, int H, int W, const Pool2dParams& p, bool is_max) {
    return ops::pool2d_desc(Shape{N, C, H, W}, p, is_max);
}
Shape in_shape(const Pool2dDesc& d) { return lrp::test::pool_in_shape(d); }
Shape out_shape(const Pool2dDesc& d) { return lrp::test::pool_out_shape(d); }
using lrp::test::run_avg;
using lrp::test::run_avg_bwd;

void run_max(const Pool2dDesc& d, const std::vector<float>& x, std::vector<float>& y, std::vector<int32_t>& idx) {
    Tensor yt = lrp::test::poisoned(out_shape(d)), it = lrp::test::poisoned(out_shape(d), DType::I32);
    ops::maxpool_fwd(d, Tensor::from_vector(x, in_shape(d)), yt, it);
    y = yt.to_vector<float>(), idx = it.to_vector<int32_t>();
}
std::vector<float> run_max_bwd(const Pool2dDesc& d, const std::vector<float>& dy, const std::vector<int32_t>& idx) {
    Tensor dx = lrp::test::poisoned(in_shape(d));
    ops::maxpool_bwd(d, Tensor::from_vector(dy, out_shape(d)), Tensor::from_vector(idx, out_shape(d)), dx);
    return dx.to_vector<float>();
}

// Double references. Max: the first strict maximum among the in-bounds taps in row-major order.
// Avg: every tap of the window is visited; taps inside the padded input (< H + p) count in the
// count_include_pad divisor, in-bounds taps are summed and counted for the other divisor.
std::vector<double> max_ref(const Pool2dDesc& d, const std::vector<double>& x) {
    std::vector<double> y;
    for (int pl = 0; pl < d.N * d.C; ++pl)
        for (int p = 0; p < d.P(); ++p)
            for (int q = 0; q < d.Q(); ++q) {
                double best = -std::numeric_limits<double>::infinity();
                for (int a = 0; a < d.kh; ++a)
                    for (int b = 0; b < d.kw; ++b) {
                        int h = p * d.sh - d.ph + a * d.dil_h, w = q * d.sw - d.pw + b * d.dil_w;
                        if (h >= 0 && h < d.H && w >= 0 && w < d.W) best = std::max(best, x[(pl * d.H + h) * d.W + w]);
                    }
                y.push_back(best);
            }
    return y;
}
std::vector<double> avg_ref(const Pool2dDesc& d, const std::vector<double>& x) {
    std::vector<double> y;
    for (int pl = 0; pl < d.N * d.C; ++pl)
        for (int p = 0; p < d.P(); ++p)
            for (int q = 0; q < d.Q(); ++q) {
                double sum = 0;
                int padded = 0, inside = 0;
                for (int a = 0; a < d.kh; ++a)
                    for (int b = 0; b < d.kw; ++b) {
                        int h = p * d.sh - d.ph + a, w = q * d.sw - d.pw + b;
                        if (h < d.H + d.ph && w < d.W + d.pw) ++padded;
                        if (h >= 0 && h < d.H && w >= 0 && w < d.W) ++inside, sum += x[(pl * d.H + h) * d.W + w];
                    }
                int div = d.divisor_override ? d.divisor_override : d.count_include_pad ? padded : inside;
                y.push_back(sum / div);
            }
    return y;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Distinct values (gap 0.05, none zero) in random order: no ties for the max-pool gradient check.
std::vector<float> distinct_vec(size_t n, uint32_t seed) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = 0.05f * static_cast<float>(i) - 0.025f * static_cast<float>(n) + 0.0125f;
    std::mt19937 gen(seed);
    std::shuffle(v.begin(), v.end(), gen);
    return v;
}

// Central differences of L(x) = <ref(x), r> in double against the kernel gradient `g`; with skip_ties,
// points with a neighbour value closer than 4h (a possible max-pool tie) are skipped.
template <class Ref>
void fd_check(Ref ref, const std::vector<float>& xf, const std::vector<float>& rf, const std::vector<float>& g,
              bool skip_ties, const char* what) {
    const double h = 1e-3;
    std::vector<double> x = to_double(xf), r = to_double(rf);
    auto loss = [&](const std::vector<double>& xx) {
        std::vector<double> y = ref(xx);
        double s = 0;
        for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
        return s;
    };
    std::vector<double> fd(x.size());
    std::vector<float> got(x.size());
    size_t checked = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        bool near_tie = false;
        for (size_t j = 0; skip_ties && j < x.size(); ++j) near_tie |= j != i && std::fabs(x[j] - x[i]) < 4 * h;
        if (near_tie) continue;
        std::vector<double> xp = x, xm = x;
        xp[i] += h, xm[i] -= h;
        fd[checked] = (loss(xp) - loss(xm)) / (2 * h);
        got[checked++] = g[i];
    }
    fd.resize(checked), got.resize(checked);
    EXPECT_GT(checked, x.size() / 2) << what;
    EXPECT_TRUE(all_close(got, fd, Tol{1e-6, 1e-5, 1e-8})) << what;
}

}  // namespace

TEST(PoolCpu, MaxForwardMatchesReference) {
    struct Case {
        int H, W;
        Pool2dParams p;
    };
    for (const Case& c :
         {Case{8, 8, pp(2, 2, 0)}, Case{7, 7, pp(3, 2, 1)}, Case{8, 8, pp(3, 2, 1)}, Case{7, 9, pp(3, 2, 1, true)},
          Case{9, 8, pp(3, 1, 1, false, true, 0, 2)}, Case{6, 7, pp(2, 3, 1, true)}}) {
        Pool2dDesc d = desc(2, 3, c.H, c.W, c.p, true);
        std::vector<float> x = lrp::test::random_vec(static_cast<size_t>(2 * 3 * c.H * c.W), 11), y;
        std::vector<int32_t> idx;
        run_max(d, x, y, idx);
        EXPECT_TRUE(all_close(y, max_ref(d, to_double(x)), Tol{0, 0, 0})) << "H " << c.H << " k " << c.p.kh;
        // the recorded index points at the value that was output
        for (size_t i = 0; i < y.size(); ++i) {
            int64_t plane = static_cast<int64_t>(i) / (d.P() * d.Q());
            ASSERT_GE(idx[i], 0);
            ASSERT_LT(idx[i], d.H * d.W);
            EXPECT_EQ(x[plane * d.H * d.W + idx[i]], y[i]) << i;
        }
    }
}

TEST(PoolCpu, MaxTiesGoToTheFirstIndex) {
    // Constant negative 4x4 input, 3x3/s2/p1: winners (0,0), (0,1), (1,0), (1,1) (PyTorch); padding
    // never wins, even against negative values.
    Pool2dDesc d = desc(1, 1, 4, 4, pp(3, 2, 1), true);
    std::vector<float> y;
    std::vector<int32_t> idx;
    run_max(d, std::vector<float>(16, -1.5f), y, idx);
    EXPECT_EQ(idx, (std::vector<int32_t>{0, 1, 4, 5}));
    EXPECT_EQ(y, std::vector<float>(4, -1.5f));
    // Backward: each window's gradient lands on its winner only.
    EXPECT_EQ(run_max_bwd(d, {1.f, 2.f, 4.f, 8.f}, idx),
              (std::vector<float>{1, 2, 0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    // A tie not at the window start: 2x2/s2 on [[1, 3], [3, 2]] picks (0, 1), the first 3.
    d = desc(1, 1, 2, 2, pp(2, 2, 0), true);
    run_max(d, {1.f, 3.f, 3.f, 2.f}, y, idx);
    EXPECT_EQ(idx, std::vector<int32_t>{1});
    // Overlapping windows sharing a winner accumulate: row [5, 9, 1], 1x2 windows at stride 1.
    Pool2dParams p = pp(2, 1, 0);
    p.kh = 1;
    d = desc(1, 1, 1, 3, p, true);
    run_max(d, {5.f, 9.f, 1.f}, y, idx);
    EXPECT_EQ(idx, (std::vector<int32_t>{1, 1}));
    EXPECT_EQ(run_max_bwd(d, {0.5f, 0.25f}, idx), (std::vector<float>{0.f, 0.75f, 0.f}));
}

TEST(PoolCpu, MaxNaNAndInfinity) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    Pool2dDesc d = desc(1, 1, 2, 4, pp(2, 2, 0), true);
    std::vector<float> y;
    std::vector<int32_t> idx;
    // window 0: NaN after a larger value still wins; window 1: all -inf -> first element, value -inf
    run_max(d, {7.f, 1.f, -inf, -inf, 2.f, nan, -inf, -inf}, y, idx);
    EXPECT_TRUE(std::isnan(y[0]));
    EXPECT_EQ(idx[0], 5);
    EXPECT_EQ(y[1], -inf);
    EXPECT_EQ(idx[1], 2);
    // a value after the NaN does not displace it
    run_max(d, {nan, 1.f, 3.f, 3.f, 9.f, 2.f, 3.f, 4.f}, y, idx);
    EXPECT_TRUE(std::isnan(y[0]));
    EXPECT_EQ(idx[0], 0);
    EXPECT_EQ(y[1], 4.f);
    EXPECT_EQ(idx[1], 7);
    // several NaNs: the last one wins, as PyTorch's `val > maxval || isnan(val)` routes it (window 0 has
    // NaNs at 0 and 5, window 1 at 2 and 3)
    run_max(d, {nan, 1.f, nan, nan, 9.f, nan, 3.f, 4.f}, y, idx);
    EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1]));
    EXPECT_EQ(idx, (std::vector<int32_t>{5, 3}));
}

TEST(PoolCpu, MaxBackwardFiniteDifferences) {
    for (const Pool2dParams& p :
         {pp(2, 2, 0), pp(3, 2, 1), pp(3, 1, 1), pp(3, 2, 1, true), pp(2, 2, 1, false, true, 0, 2)}) {
        for (int H : {7, 8}) {
            Pool2dDesc d = desc(2, 2, H, H, p, true);
            std::vector<float> x = distinct_vec(static_cast<size_t>(4 * H * H), 5 + H), y;
            std::vector<float> r = lrp::test::random_vec(static_cast<size_t>(4 * d.P() * d.Q()), 7);
            std::vector<int32_t> idx;
            run_max(d, x, y, idx);
            std::vector<float> dx = run_max_bwd(d, r, idx);
            fd_check([&](const std::vector<double>& xx) { return max_ref(d, xx); }, x, r, dx, true, "max");
        }
    }
}

// The gather at a stored routing reads x at each window's first maximum, and is maxpool_bwd's adjoint:
// <gather(v), dy> = <v, maxpool_bwd(dy)> for any v (the identity differentiable LRP relies on).
TEST(PoolCpu, MaxGatherIsTheRoutingAndTheAdjointOfBackward) {
    for (const Pool2dParams& p : {pp(2, 2, 0), pp(3, 2, 1), pp(3, 1, 1), pp(3, 2, 1, true), pp(2, 2, 1, false, true, 0, 2)}) {
        Pool2dDesc d = desc(2, 3, 9, 7, p, true);
        const size_t nin = static_cast<size_t>(6 * 9 * 7), nout = static_cast<size_t>(6 * d.P() * d.Q());
        std::vector<float> x = lrp::test::random_vec(nin, 3), y;
        std::vector<int32_t> idx;
        run_max(d, x, y, idx);
        Tensor g = Tensor::empty(out_shape(d));
        ops::maxpool_gather(d, Tensor::from_vector(x, in_shape(d)), Tensor::from_vector(idx, out_shape(d)), g);
        EXPECT_EQ(g.to_vector<float>(), y) << "gathering x itself must give the max-pool output";
        std::vector<float> v = lrp::test::random_vec(nin, 4), dy = lrp::test::random_vec(nout, 5);
        ops::maxpool_gather(d, Tensor::from_vector(v, in_shape(d)), Tensor::from_vector(idx, out_shape(d)), g);
        std::vector<float> gv = g.to_vector<float>(), dx = run_max_bwd(d, dy, idx);
        double lhs = 0, rhs = 0;
        for (size_t i = 0; i < nout; ++i) lhs += double(gv[i]) * dy[i];
        for (size_t i = 0; i < nin; ++i) rhs += double(v[i]) * dx[i];
        EXPECT_NEAR(lhs, rhs, 1e-4 * (std::fabs(lhs) + 1)) << "k " << p.kh << " s " << p.sh;
    }
    Pool2dDesc d = desc(1, 1, 4, 4, pp(2, 2, 0), true);
    try {
        ops::maxpool_gather(d, Tensor::empty(in_shape(d)), Tensor::empty(out_shape(d)), Tensor::empty(out_shape(d)));
        ADD_FAILURE() << "an f32 index tensor was accepted";
    } catch (const lrp::Error& e) {
        EXPECT_NE(std::string(e.what()).find("'idx' has dtype f32"), std::string::npos) << e.what();
    }
}

// 6x6 input x[h][w] = 1 + 6h + w, 3x3/s2/p1. Windows per dim cover rows {0,1}, {1,2,3}, {3,4,5} and,
// in ceil mode only, {5} (starts at 5, clipped to H + p = 7: two taps, one in bounds).
TEST(PoolCpu, AvgDivisorRulesEveryCombination) {
    const double S[4][4] = {{18, 36, 48, 18}, {81, 135, 153, 54}, {153, 243, 261, 90}, {63, 99, 105, 36}};
    const int padded[4] = {3, 3, 3, 2}, inside[4] = {2, 3, 3, 1};
    std::vector<float> x(36);
    for (int i = 0; i < 36; ++i) x[i] = static_cast<float>(1 + i);
    for (bool ceil : {false, true})
        for (bool include : {false, true})
            for (int div : {0, 2}) {
                Pool2dDesc d = desc(1, 1, 6, 6, pp(3, 2, 1, ceil, include, div), false);
                const int P = ceil ? 4 : 3;
                ASSERT_EQ(d.P(), P);
                ASSERT_EQ(d.Q(), P);
                std::vector<double> want;
                for (int p = 0; p < P; ++p)
                    for (int q = 0; q < P; ++q)
                        want.push_back(S[p][q] / (div ? div : include ? padded[p] * padded[q] : inside[p] * inside[q]));
                EXPECT_TRUE(all_close(run_avg(d, x), want))
                    << "ceil " << ceil << " include " << include << " div " << div;
                EXPECT_TRUE(all_close(run_avg(d, x), avg_ref(d, to_double(x))));
            }
}

// 5x5 input x = 1 + 5h + w, 3x3/s2/p1 (ceil changes nothing here): rows {0,1}, {1,2,3}, {3,4}; and
// 2x2/s2 ceil mode without padding, whose last window holds one element and divides by 1.
TEST(PoolCpu, AvgBorderWindows) {
    std::vector<float> x(25);
    for (int i = 0; i < 25; ++i) x[i] = static_cast<float>(1 + i);
    for (bool ceil : {false, true}) {
        std::vector<float> inc = run_avg(desc(1, 1, 5, 5, pp(3, 2, 1, ceil, true), false), x);
        std::vector<float> exc = run_avg(desc(1, 1, 5, 5, pp(3, 2, 1, ceil, false), false), x);
        EXPECT_TRUE(all_close(inc, std::vector<double>{16 / 9., 33 / 9., 28 / 9., 69 / 9., 117 / 9., 87 / 9., 76 / 9.,
                                                       123 / 9., 88 / 9.}));
        EXPECT_TRUE(all_close(exc, std::vector<double>{16 / 4., 33 / 6., 28 / 4., 69 / 6., 117 / 9., 87 / 6., 76 / 4.,
                                                       123 / 6., 88 / 4.}));
    }
    Pool2dDesc d = desc(1, 1, 5, 5, pp(2, 2, 0, true, true), false);
    ASSERT_EQ(d.P(), 3);
    // (0,2): x[0][4] + x[1][4] = 5 + 10 over 2; (2,2): x[4][4] = 25 over 1; (2,0): 21 + 22 over 2
    std::vector<float> y = run_avg(d, x);
    EXPECT_EQ(y[2], 7.5f);
    EXPECT_EQ(y[6], 21.5f);
    EXPECT_EQ(y[8], 25.f);
    EXPECT_TRUE(all_close(y, avg_ref(d, to_double(x))));
}

TEST(PoolCpu, AvgBackwardFiniteDifferences) {
    for (const Pool2dParams& p : {pp(2, 2, 0), pp(3, 2, 1), pp(3, 2, 1, true, false), pp(3, 2, 1, true, true),
                                  pp(3, 1, 1, false, false), pp(2, 2, 1, true, true, 3), pp(3, 3, 0, true, false)}) {
        for (int H : {7, 8}) {
            Pool2dDesc d = desc(2, 2, H, H + 1, p, false);
            std::vector<float> x = lrp::test::random_vec(static_cast<size_t>(4 * H * (H + 1)), 3);
            std::vector<float> r = lrp::test::random_vec(static_cast<size_t>(4 * d.P() * d.Q()), 4);
            EXPECT_TRUE(all_close(run_avg(d, x), avg_ref(d, to_double(x))));
            fd_check([&](const std::vector<double>& xx) { return avg_ref(d, xx); }, x, r, run_avg_bwd(d, r), false,
                     "avg");
        }
    }
}

TEST(PoolCpu, FrontEndErrors) {
    auto throws_with = [](auto f, const std::string& text) {
        try {
            f();
            ADD_FAILURE() << "no error, expected: " << text;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
        }
    };
    throws_with([] { desc(1, 1, 8, 8, pp(3, 2, 2), true); }, "pad should be at most half");
    throws_with([] { desc(1, 1, 8, 8, pp(0, 1, 0), false); }, "kernel size");
    throws_with([] { desc(1, 1, 8, 8, pp(2, 0, 0), true); }, "stride");
    throws_with([] { desc(1, 1, 8, 8, pp(3, 1, 1, false, true, 0, 2), false); }, "dilation");
    throws_with([] { desc(1, 1, 2, 2, pp(3, 1, 0), true); }, "too small");
    // PyTorch rounds the output size down (div_rtn): a window larger than the input at stride 2 gives 0 outputs, not
    // 1 (a division truncated toward zero); in ceil mode too; max and average pooling alike.
    throws_with([] { desc(1, 1, 2, 2, pp(3, 2, 0), true); }, "calculated output size 0x0 is too small");
    throws_with([] { desc(1, 1, 2, 2, pp(3, 2, 0), false); }, "calculated output size 0x0 is too small");
    throws_with([] { desc(1, 1, 1, 8, pp(5, 2, 1, true), false); }, "calculated output size 0x4 is too small");
    EXPECT_EQ(desc(1, 1, 3, 3, pp(3, 2, 0), true).P(), 1);  // the window fits exactly: one output
    EXPECT_EQ(desc(1, 1, 4, 4, pp(3, 2, 0, true), false).P(), 2);  // ceil mode: a second window starting inside
    // a kernel x dilation beyond int (the taps' offsets wrapped around): no output fits, refused
    throws_with([] { desc(1, 1, 70000, 1, pp(65537, 1, 0, false, true, 0, 65537), true); }, "too small");
    // dilated windows whose taps all fall into the padding: no maximum to route to
    throws_with([] { desc(1, 1, 2, 2, pp(2, 1, 1, false, true, 0, 3), true); }, "output row 0 covers no input row");
    throws_with([] { desc(1, 1, 8, 2, pp(2, 1, 1, false, true, 0, 3), true); }, "output column 0 covers no input");
    EXPECT_EQ(desc(1, 1, 8, 8, pp(2, 1, 1, false, true, 0, 3), true).P(), 7);  // every window reaches the image
    throws_with([] { desc(1, 1, 8, 8, pp(2, 2, 0, false, true, -1), false); }, "divisor_override");
    throws_with([] { ops::pool2d_desc(Shape{8, 8}, pp(2, 2, 0), true); }, "N x C x H x W");
    throws_with([] { ops::pool2d_desc(Shape{1, 1, 46341, 46341}, pp(2, 2, 0), true); },
                "an input plane of 46341 x 46341 pixels is too large");
    // the output plane too (the backward kernels index it in 32 bits), which an adaptive size can make large
    throws_with([] { ops::adaptive_avgpool2d_desc(Shape{1, 1, 2, 2}, 46341, 46341); },
                "an output plane of 46341 x 46341 pixels is too large");
    throws_with([] { ops::pool2d_desc(Shape{1, 1, 46340, 46340}, pp(2, 1, 1), true); },  // padding: one more row
                "an output plane of 46341 x 46341 pixels is too large");
    Pool2dDesc d = desc(1, 2, 4, 4, pp(2, 2, 0), true);
    Tensor x = Tensor::from_vector(lrp::test::random_vec(32, 1), Shape{1, 2, 4, 4});
    Tensor y = Tensor::empty(Shape{1, 2, 2, 2});
    throws_with([&] { ops::maxpool_fwd(d, x, y, Tensor::empty(Shape{1, 2, 2, 2})); }, "'idx' has dtype f32");
    throws_with(
        [&] {
            ops::maxpool_fwd(d, x, Tensor::empty(Shape{1, 2, 3, 3}), Tensor::empty(Shape{1, 2, 2, 2}, DType::I32));
        },
        "'y' has shape");
    throws_with([&] { ops::avgpool_fwd(d, x.reshape(Shape{2, 1, 4, 4}), y); }, "'x' has shape");
    throws_with([&] { ops::maxpool_bwd(d, y, Tensor::empty(Shape{1, 2, 2, 2}), x); }, "'idx' has dtype");
    throws_with([&] { ops::global_avgpool_fwd(x, Tensor::empty(Shape{2, 1})); }, "'y' has shape");
}

TEST(PoolCpu, GlobalAveragePool) {
    // Needs the reduce_rows / expand_rows entries (reduce and elementwise families).
    std::vector<float> xv = lrp::test::random_vec(2 * 3 * 5 * 7, 9);
    Tensor x = Tensor::from_vector(xv, Shape{2, 3, 5, 7});
    Tensor y = Tensor::empty(Shape{2, 3});
    ops::global_avgpool_fwd(x, y);
    std::vector<double> want(6, 0.0);
    for (int i = 0; i < 210; ++i) want[i / 35] += xv[i] / 35.0;
    EXPECT_TRUE(all_close(y.to_vector<float>(), want));
    std::vector<float> gv = lrp::test::random_vec(6, 10);
    Tensor dx = Tensor::empty(Shape{2, 3, 5, 7});
    ops::global_avgpool_bwd(Tensor::from_vector(gv, Shape{2, 3, 1, 1}), dx);
    std::vector<double> gwant(210);
    for (int i = 0; i < 210; ++i) gwant[i] = gv[i / 35] / 35.0;
    EXPECT_TRUE(all_close(dx.to_vector<float>(), gwant));
}

// ---- CUDA vs CPU ---------------------------------------------------------------------------------

namespace {
struct CudaCase {
    int H;
    Pool2dParams p;
};
std::vector<CudaCase> cuda_cases(bool is_max) {
    std::vector<CudaCase> v;
    for (int H : {7, 13, 32}) {
        for (const Pool2dParams& p : {pp(2, 2, 0), pp(3, 2, 1), pp(3, 1, 1), pp(3, 2, 1, true), pp(2, 2, 1, true)})
            v.push_back({H, p});
        if (is_max)
            v.push_back({H, pp(3, 2, 1, true, true, 0, 2)});
        else {
            v.push_back({H, pp(3, 2, 1, true, false)});
            v.push_back({H, pp(3, 2, 1, false, true, 5)});
        }
    }
    return v;
}
}  // namespace

TEST(PoolCuda, MaxMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const OpTable &cpu = cpu_ops(), &gpu = cuda_ops();
    // Continuous inputs, then ties everywhere (values in {-2, ..., 2}) with a NaN every 17th element: the
    // routing to the first maximum (and to a NaN) must be the CPU's.
    for (const bool ties : {false, true})
    for (const CudaCase& c : cuda_cases(true)) {
        Pool2dDesc d = desc(3, 5, c.H, c.H + 2, c.p, true);
        const int64_t nin = int64_t{15} * d.H * d.W, nout = int64_t{15} * d.P() * d.Q();
        std::vector<float> x = lrp::test::random_vec(nin, 21), dy = lrp::test::random_vec(nout, 22);
        if (ties)
            for (int64_t i = 0; i < nin; ++i) x[i] = i % 17 == 5 ? std::nanf("") : std::round(2 * x[i]);
        std::vector<float> y(nout), dx(nin);
        std::vector<int32_t> idx(nout);
        cpu.maxpool_fwd(kernel_ctx(Device::cpu()), d, x.data(), y.data(), idx.data());
        cpu.maxpool_bwd(kernel_ctx(Device::cpu()), d, dy.data(), idx.data(), dx.data());
        Tensor xd = Tensor::from_vector(x, in_shape(d), dev), dyd = Tensor::from_vector(dy, out_shape(d), dev);
        lrp::test::Guarded<float> gy(dev, nout), gdx(dev, nin);
        lrp::test::Guarded<int32_t> gidx(dev, nout);
        gpu.maxpool_fwd(kernel_ctx(dev), d, xd.data<float>(), gy.ptr(), gidx.ptr());
        gpu.maxpool_bwd(kernel_ctx(dev), d, dyd.data<float>(), gidx.ptr(), gdx.ptr());
        std::vector<float> gathered(nout);  // gather dx back at the routing (any input works; dx is at hand)
        cpu.maxpool_gather(kernel_ctx(Device::cpu()), d, dx.data(), idx.data(), gathered.data());
        Tensor dxd = Tensor::from_vector(dx, in_shape(d), dev), idxd = Tensor::from_vector(idx, out_shape(d), dev);
        lrp::test::Guarded<float> gg(dev, nout);
        gpu.maxpool_gather(kernel_ctx(dev), d, dxd.data<float>(), idxd.data<int32_t>(), gg.ptr());
        EXPECT_EQ(gg.read(), gathered) << "H " << c.H << " k " << c.p.kh << " s " << c.p.sh;
        EXPECT_TRUE(gg.guards_intact());
        EXPECT_TRUE(all_close(gy.read(), y)) << "H " << c.H << " k " << c.p.kh << " s " << c.p.sh;
        EXPECT_EQ(gidx.read(), idx) << "H " << c.H << " k " << c.p.kh << " s " << c.p.sh << " ties " << ties;
        EXPECT_TRUE(all_close(gdx.read(), dx)) << "H " << c.H << " k " << c.p.kh << " s " << c.p.sh;
        EXPECT_TRUE(gy.guards_intact() && gidx.guards_intact() && gdx.guards_intact());
    }
}

TEST(PoolCuda, AvgMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    for (const CudaCase& c : cuda_cases(false))
        lrp::test::expect_cuda_avg_matches_cpu(desc(3, 5, c.H, c.H + 2, c.p, false), 31,
                                               "H " + std::to_string(c.H) + " k " + std::to_string(c.p.kh) + " s " +
                                                   std::to_string(c.p.sh));
}

TEST(PoolCuda, GlobalAveragePoolMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    std::vector<float> xv = lrp::test::random_vec(3 * 5 * 13 * 13, 41), gv = lrp::test::random_vec(15, 42);
    Tensor x = Tensor::from_vector(xv, Shape{3, 5, 13, 13});
    Tensor y = Tensor::empty(Shape{3, 5}), dx = Tensor::empty(Shape{3, 5, 13, 13});
    ops::global_avgpool_fwd(x, y);
    ops::global_avgpool_bwd(Tensor::from_vector(gv, Shape{3, 5}), dx);
    Tensor yd = Tensor::empty(Shape{3, 5}, DType::F32, dev), dxd = Tensor::empty(Shape{3, 5, 13, 13}, DType::F32, dev);
    ops::global_avgpool_fwd(x.to(dev), yd);
    ops::global_avgpool_bwd(Tensor::from_vector(gv, Shape{3, 5}, dev), dxd);
    EXPECT_TRUE(all_close(yd.to_vector<float>(), y.to_vector<float>(), Tol{1e-6, 1e-5}));
    EXPECT_TRUE(all_close(dxd.to_vector<float>(), dx.to_vector<float>()));
}
