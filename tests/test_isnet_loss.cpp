// ISNet's heatmap loss (lrp/ops/isnet_loss.h): hand-computed cases (GWRP decay 0 is the maximum, 1 the mean;
// the foreground range terms), a naive double reference written from isnet-edda.md A.1 (its -log(1 - min(u, 1 -
// 1e-7)) form) for the loss, central differences of that reference for the gradient, non-finite samples, argument
// errors, and CUDA against the CPU (ties, odd sizes, empty and full masks, a bad sample, poisoned outputs).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "lrp/kernels/ops.h"
#include "lrp/ops/isnet_loss.h"
#include "test_util.h"

using namespace lrp;
using lrp::ops::IsnetLossParams;

namespace {

struct Result {
    std::vector<float> loss, dmaps;
    std::vector<int32_t> bad;
};

Result run(const std::vector<float>& maps, const Shape& ms, const std::vector<float>& mask, const Shape& mks,
           const IsnetLossParams& p, Device d = Device::cpu()) {
    const int64_t N = ms[0];
    Tensor loss = Tensor::empty(Shape{N}, DType::F32, d), dm = Tensor::empty(ms, DType::F32, d);
    Tensor bad = Tensor::empty(Shape{N}, DType::I32, d);
    ops::isnet_heat_loss(Tensor::from_vector(maps, ms, d), Tensor::from_vector(mask, mks, d), p, loss, dm, bad);
    return {loss.to_vector<float>(), dm.to_vector<float>(), bad.to_vector<int32_t>()};
}

// Sample n's loss straight from isnet-edda.md A.1 (maps [N, K, C, H, W] flattened, mask [N, H, W]).
double reference(const std::vector<double>& h, const std::vector<float>& mask, int n, int K, int C, int HW,
                 const IsnetLossParams& p) {
    double msum = 0;
    for (int j = 0; j < HW; ++j) msum += mask[n * HW + j] != 0.f;
    double bg = 0, fg = 0;
    for (int k = 0; k < K; ++k) {
        const double* hk = h.data() + (static_cast<size_t>(n) * K + k) * C * HW;
        double F = 0;
        for (int c = 0; c < C; ++c)
            for (int j = 0; j < HW; ++j) F += std::fabs(hk[c * HW + j]) * (mask[n * HW + j] != 0.f);
        const double mu = F / (C * msum + 1e-10);
        for (int c = 0; c < C; ++c) {
            std::vector<double> v;
            for (int j = 0; j < HW; ++j) v.push_back(std::fabs(hk[c * HW + j]) / (mu + 1e-10) * (mask[n * HW + j] == 0.f));
            std::sort(v.begin(), v.end(), std::greater<double>());
            double num = 0, den = 0;
            for (int i = 0; i < HW; ++i) {
                const double w = std::pow(static_cast<double>(p.decay), i);
                num += w * v[i];
                den += w;
            }
            const double g = num / den;
            bg += -std::log(1 - std::min(g / (g + p.E), 1 - 1e-7));
        }
        // The authors' forms (LRPLossCEValleysGWRP, alternativeForeground): mse and l1 of clamped values.
        const double C1 = p.C1, C2 = p.C2, lo = std::min(F / C1, 1.0) - 1;
        double hi = 0;
        if (p.foreground == kernels::kIsnetForegroundL2) {
            hi = std::pow(std::max(F / C1, C2 / C1) - C2 / C1, 2);
        } else if (p.foreground == kernels::kIsnetForegroundL1) {
            hi = std::fabs(std::max(F, C2) - C2);
        } else {
            const double high = F > C1 + C2 ? 1 : 0, low = 1 - high;
            const double l2 = std::pow(std::max(low * F / C1, C2 / C1) - C2 / C1, 2);
            const double l1 = std::fabs(std::max(high * F, C1 + C2) - (C1 + C2)) + 1;
            hi = l2 * low + l1 * high;
        }
        fg += lo * lo + hi;
    }
    return p.A * bg / (K * C) + p.B * fg / K;
}

}  // namespace

TEST(IsnetLossCpu, HandComputedCases) {
    // One 2x2 map: foreground pixels 0 and 1 (|h| 2 and 2: F = 4, mean 2), background values 1 and 3 -> 0.5, 1.5.
    const std::vector<float> maps{2.f, -2.f, 1.f, 3.f}, mask{1.f, 1.f, 0.f, 0.f};
    IsnetLossParams p;
    p.decay = 0.f;
    EXPECT_NEAR(run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 2, 2}, p).loss[0], std::log(2.5), 1e-6);  // g = max = 1.5
    p.decay = 1.f;
    EXPECT_NEAR(run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 2, 2}, p).loss[0], std::log(1.5), 1e-6);  // g = mean = 0.5
    // Foreground total F = 4: with C1 = 8 the low term (4/8 - 1)^2 = 0.25 (times B = 3); with C2 = 2 (C1 = 1) the
    // high term (4 - 2)^2 = 4. A = 0 leaves the foreground terms alone.
    p.A = 0.f, p.C1 = 8.f, p.C2 = 25.f;
    EXPECT_NEAR(run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 2, 2}, p).loss[0], 0.75, 1e-6);
    p.C1 = 1.f, p.C2 = 2.f;
    Result r = run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 1, 2, 2}, p);
    EXPECT_NEAR(r.loss[0], 12.0, 1e-5);
    // dL/dh = B * 2 (F - C2) / C1^2 * sign(h) on the foreground, 0 on the background (A = 0).
    EXPECT_EQ(r.dmaps, (std::vector<float>{12.f, -12.f, 0.f, 0.f}));
    // L1 above C2: B (F - C2) = 6, dL/dh = B sign(h). Hybrid past C1 + C2 = 3: B (F - C1 - C2 + 1) = 6, the same slope.
    for (const int mode : {kernels::kIsnetForegroundL1, kernels::kIsnetForegroundHybrid}) {
        p.foreground = mode;
        r = run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 1, 2, 2}, p);
        EXPECT_NEAR(r.loss[0], 6.0, 1e-5) << mode;
        EXPECT_EQ(r.dmaps, (std::vector<float>{3.f, -3.f, 0.f, 0.f})) << mode;
    }
    // Hybrid up to C1 + C2 = 5 is L2: B ((4 - 3) / 2)^2 = 0.75, dL/dh = B 2 (F - C2) / C1^2 = 1.5.
    p.C1 = 2.f, p.C2 = 3.f;
    r = run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 1, 2, 2}, p);
    EXPECT_NEAR(r.loss[0], 0.75, 1e-6);
    EXPECT_EQ(r.dmaps, (std::vector<float>{1.5f, -1.5f, 0.f, 0.f}));
    // The boundaries, as the authors' strict F > C1 + C2 and clamps: at F = C1 + C2 = 4 (C1 1, C2 3) hybrid is still
    // the square (B 1 = 3, slope B 2 = 6); at F = C2 = 4 L1 costs nothing and has no slope.
    p.C1 = 1.f, p.C2 = 3.f;
    r = run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 1, 2, 2}, p);
    EXPECT_NEAR(r.loss[0], 3.0, 1e-6);
    EXPECT_EQ(r.dmaps, (std::vector<float>{6.f, -6.f, 0.f, 0.f}));
    p.foreground = kernels::kIsnetForegroundL1, p.C2 = 4.f;
    r = run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 1, 2, 2}, p);
    EXPECT_EQ(r.loss[0], 0.f);
    EXPECT_EQ(r.dmaps, (std::vector<float>(4, 0.f)));
}

// No foreground pixel: mu = 0, so any background relevance saturates the clamp (log 1e7, no gradient), and F = 0
// costs the full low term B * 1; the gradient is 0 everywhere.
TEST(IsnetLossCpu, ImageWithoutForeground) {
    const std::vector<float> maps{0.5f, -1.f, 0.f, 2.f}, mask(4, 0.f);
    IsnetLossParams p;
    Result r = run(maps, Shape{1, 1, 2, 2}, mask, Shape{1, 2, 2}, p);
    EXPECT_NEAR(r.loss[0], std::log(1e7) + 3.0, 1e-5);
    EXPECT_EQ(r.dmaps, (std::vector<float>(4, 0.f)));
    std::vector<double> h(maps.begin(), maps.end());
    EXPECT_NEAR(r.loss[0], reference(h, mask, 0, 1, 1, 4, p), 1e-5);
}

TEST(IsnetLossCpu, LossMatchesReferenceAndGradientMatchesFiniteDifferences) {
    const int N = 3, K = 2, C = 2, H = 5, W = 4, HW = H * W;
    const Shape ms{N, K, C, H, W};
    std::vector<float> maps = test::random_vec(static_cast<size_t>(ms.numel()), 5, -1.f, 1.f);
    std::vector<float> mask(static_cast<size_t>(N * HW));
    for (int i = 0; i < N * HW; ++i) mask[i] = (i * 7 + i / 5) % 3 == 0 ? 1.f : 0.f;
    // Decays, then the foreground modes (hybrid with C1 + C2 = 8.2: some maps' F lie in (C2, C1 + C2], some above).
    struct Case {
        float decay;
        int foreground;
    };
    for (const Case cs : {Case{0.f, 0}, Case{0.6f, 0}, Case{0.9f, 0}, Case{1.f, 0},
                          Case{0.9f, kernels::kIsnetForegroundL1}, Case{0.9f, kernels::kIsnetForegroundHybrid}}) {
        const float decay = cs.decay;
        IsnetLossParams p;
        p.decay = decay, p.E = 0.7f, p.A = 1.3f, p.B = 2.f, p.C1 = 2.5f, p.C2 = 3.5f;  // F straddles C1 and C2
        p.foreground = cs.foreground;
        if (cs.foreground == kernels::kIsnetForegroundHybrid) {
            p.C1 = 4.f, p.C2 = 4.2f;  // the maps' F lie in 7.4 .. 9.9
            int square = 0, linear = 0;
            for (int nk = 0; nk < N * K; ++nk) {
                double F = 0;
                for (int c = 0; c < C; ++c)
                    for (int j = 0; j < HW; ++j) F += std::fabs(maps[(nk * C + c) * HW + j]) * mask[(nk / K) * HW + j];
                square += F > p.C2 && F <= p.C1 + p.C2, linear += F > p.C1 + p.C2;
            }
            EXPECT_GT(square, 0);
            EXPECT_GT(linear, 0);
        }
        Result r = run(maps, ms, mask, Shape{N, H, W}, p);
        std::vector<double> h(maps.begin(), maps.end());
        for (int n = 0; n < N; ++n) EXPECT_NEAR(r.loss[n], reference(h, mask, n, K, C, HW, p), 1e-5) << decay;
        auto mean_loss = [&](const std::vector<double>& hh) {
            double s = 0;
            for (int n = 0; n < N; ++n) s += reference(hh, mask, n, K, C, HW, p);
            return s / N;
        };
        double err2 = 0, ref2 = 0;
        for (size_t i = 0; i < maps.size(); i += 3) {
            std::vector<double> hp = h, hm = h;
            hp[i] += 1e-6, hm[i] -= 1e-6;
            const double fd = (mean_loss(hp) - mean_loss(hm)) / 2e-6;
            err2 += (fd - r.dmaps[i]) * (fd - r.dmaps[i]);
            ref2 += fd * fd;
        }
        EXPECT_GT(ref2, 0.0);
        EXPECT_LT(std::sqrt(err2 / ref2), 1e-4) << "decay " << decay << " foreground " << cs.foreground;
        EXPECT_EQ(r.bad, (std::vector<int32_t>{0, 0, 0}));
    }
}

TEST(IsnetLossCpu, NonFiniteSampleIsZeroedAndFlagged) {
    const Shape ms{3, 1, 4, 4};
    std::vector<float> maps = test::random_vec(48, 9), mask(48, 0.f);
    for (int i = 0; i < 48; i += 3) mask[i] = 1.f;
    IsnetLossParams p;
    Result clean = run(maps, ms, mask, Shape{3, 4, 4}, p);
    maps[16 + 5] = std::nanf("");
    maps[32 + 7] = INFINITY;
    Result r = run(maps, ms, mask, Shape{3, 4, 4}, p);
    EXPECT_EQ(r.bad, (std::vector<int32_t>{0, 1, 1}));
    EXPECT_EQ(r.loss[0], clean.loss[0]);
    EXPECT_EQ(r.loss[1], 0.f);
    EXPECT_EQ(r.loss[2], 0.f);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(r.dmaps[i], clean.dmaps[i]);
    for (int i = 16; i < 48; ++i) EXPECT_EQ(r.dmaps[i], 0.f);
}

TEST(IsnetLossCpu, Errors) {
    auto call = [](const Shape& ms, const Shape& mks, IsnetLossParams p) {
        const int64_t N = ms[0];
        ops::isnet_heat_loss(Tensor::zeros(ms), Tensor::zeros(mks), p, Tensor::empty(Shape{N}), Tensor::empty(ms),
                             Tensor::empty(Shape{N}, DType::I32));
    };
    IsnetLossParams p;
    p.decay = 1.5f;
    test::expect_error([&] { call(Shape{1, 1, 2, 2}, Shape{1, 2, 2}, p); }, {"GWRP decay must be in [0, 1]", "1.5"});
    p = {};
    p.C1 = 30.f;
    test::expect_error([&] { call(Shape{1, 1, 2, 2}, Shape{1, 2, 2}, p); }, {"need 0 < C1 <= C2"});
    p = {};
    p.E = 0.f;
    test::expect_error([&] { call(Shape{1, 1, 2, 2}, Shape{1, 2, 2}, p); }, {"E must be positive"});
    p = {};
    p.foreground = 3;
    test::expect_error([&] { call(Shape{1, 1, 2, 2}, Shape{1, 2, 2}, p); }, {"unknown foreground mode 3"});
    EXPECT_EQ(ops::isnet_foreground_mode("hybrid", "x"), kernels::kIsnetForegroundHybrid);
    EXPECT_EQ(std::string(ops::isnet_foreground_name(kernels::kIsnetForegroundL1)), "l1");
    test::expect_error([&] { ops::isnet_foreground_mode("L2", "--isnet-foreground"); },
                       {"--isnet-foreground must be l2, l1 or hybrid (got 'L2')"});
    test::expect_error([&] { call(Shape{2, 3, 4, 4}, Shape{2, 4, 5}, {}); }, {"mask must be [2, 4, 4]", "[2, 4, 5]"});
    test::expect_error([&] { call(Shape{2, 4, 4}, Shape{2, 4, 4}, {}); }, {"maps must be [N, K, C, H, W]"});
}

TEST(IsnetLossCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const kernels::OpTable &cpu = kernels::cpu_ops(), &gpu = kernels::cuda_ops();
    // Decays with the L2 foreground, then decay 0.9 with L1 and with hybrid (C1 20, C2 60: the maps' F of about 65
    // take its square branch, the all-foreground sample's about 190 its linear one).
    struct Case {
        float decay;
        int foreground;
        float C1, C2;
    };
    const Case cases[] = {{0.f, kernels::kIsnetForegroundL2, 2.f, 40.f},
                          {0.9f, kernels::kIsnetForegroundL2, 2.f, 40.f},
                          {1.f, kernels::kIsnetForegroundL2, 2.f, 40.f},
                          {0.9f, kernels::kIsnetForegroundL1, 2.f, 40.f},
                          {0.9f, kernels::kIsnetForegroundHybrid, 20.f, 60.f}};
    for (const bool ties : {false, true})
        for (const Case& cs : cases) {
            const int N = 5, K = 2, C = 3, H = 7, W = 9, HW = H * W;  // 63 pixels: padded to 64 for the sort
            std::vector<float> maps = test::random_vec(static_cast<size_t>(N * K * C * HW), 11, -2.f, 2.f);
            if (ties)
                for (float& v : maps) v = std::round(v * 2.f) / 2.f;  // many equal values and exact zeros
            std::vector<float> mask(static_cast<size_t>(N * HW));
            for (int i = 0; i < N * HW; ++i) mask[i] = (i % 5 == 0 || i % 7 == 1) ? 1.f : 0.f;
            for (int j = 0; j < HW; ++j) mask[1 * HW + j] = 0.f, mask[2 * HW + j] = 1.f;  // no / all foreground
            maps[static_cast<size_t>(3 * K * C * HW + 17)] = std::nanf("");                  // sample 3 is bad
            kernels::IsnetLossDesc d;
            d.N = N, d.K = K, d.C = C, d.H = H, d.W = W, d.decay = cs.decay, d.E = 0.8f, d.A = 1.f, d.B = 3.f;
            d.C1 = cs.C1, d.C2 = cs.C2, d.foreground = cs.foreground;
            std::vector<float> loss(N), dm(maps.size());
            std::vector<int32_t> bad(N);
            cpu.isnet_heat_loss(kernel_ctx(Device::cpu()), d, maps.data(), mask.data(), loss.data(), dm.data(), bad.data());
            Tensor md = Tensor::from_vector(maps, Shape{int64_t(maps.size())}, dev);
            Tensor kd = Tensor::from_vector(mask, Shape{int64_t(mask.size())}, dev);
            test::Guarded<float> gl(dev, N), gd(dev, static_cast<int64_t>(maps.size()));
            test::Guarded<int32_t> gb(dev, N);
            gpu.isnet_heat_loss(kernel_ctx(dev), d, md.data<float>(), kd.data<float>(), gl.ptr(), gd.ptr(), gb.ptr());
            const std::string what = "ties " + std::to_string(ties) + " decay " + std::to_string(cs.decay) +
                                     " foreground " + std::to_string(cs.foreground);
            EXPECT_EQ(gb.read(), bad);
            EXPECT_EQ(bad[3], 1);
            EXPECT_TRUE(test::all_close(gl.read(), loss, test::Tol{1e-6, 1e-5})) << what;
            EXPECT_TRUE(test::all_close(gd.read(), dm, test::Tol{1e-6, 1e-5})) << what;
            EXPECT_TRUE(gl.guards_intact() && gd.guards_intact() && gb.guards_intact());
        }
}

// Stochastic ISNet's class: the arg-max about half the time, otherwise every other class about equally often
// and never the arg-max; reproducible from the generator state; the same on CUDA.
TEST(IsnetLossCpu, StochasticClassDraw) {
    const int N = 4000, K = 5;
    std::vector<float> lv(static_cast<size_t>(N * K));
    for (int n = 0; n < N; ++n)
        for (int k = 0; k < K; ++k) lv[n * K + k] = k == n % K ? 2.f : static_cast<float>(k) * 0.1f;
    Tensor logits = Tensor::from_vector(lv, Shape{N, K});
    Generator g(7, 3);
    std::vector<int32_t> cls = ops::isnet_pick_class(logits, g).to_vector<int32_t>();
    EXPECT_EQ(g.offset(), 3u + 2u * N / 4u);
    int top = 0;
    std::vector<int> other(K, 0);
    for (int n = 0; n < N; ++n) {
        ASSERT_GE(cls[n], 0);
        ASSERT_LT(cls[n], K);
        if (cls[n] == n % K) ++top;
        else ++other[(cls[n] - n % K + K) % K];  // offset from the arg-max: 1 .. K-1
    }
    EXPECT_NEAR(top / double(N), 0.5, 0.03);
    for (int o = 1; o < K; ++o) EXPECT_NEAR(other[o] / double(N), 0.5 / (K - 1), 0.03) << o;
    Generator again(7, 3);
    EXPECT_EQ(ops::isnet_pick_class(logits, again).to_vector<int32_t>(), cls);
    Generator one(7, 3);  // one class: always it
    EXPECT_EQ(ops::isnet_pick_class(Tensor::from_vector(std::vector<float>{0.3f, -1.f}, Shape{2, 1}), one).to_vector<int32_t>(),
              (std::vector<int32_t>{0, 0}));
}

TEST(IsnetLossCuda, StochasticClassMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const int N = 1001, K = 7;
    Tensor logits = Tensor::from_vector(test::random_vec(static_cast<size_t>(N * K), 3), Shape{N, K});
    Generator gc(11, 5), gd(11, 5);
    EXPECT_EQ(ops::isnet_pick_class(logits.to(Device::cuda(0)), gd).to_vector<int32_t>(),
              ops::isnet_pick_class(logits, gc).to_vector<int32_t>());
    EXPECT_EQ(gc.offset(), gd.offset());
}

// GWRP over rows (LRP deep supervision's reduction over layers): a sorted-descending reference in double, ties taken
// lower index first (the weights differ per position, the total not), decay 0 the maximum and 1 the mean; errors.
TEST(IsnetLossCpu, GwrpRows) {
    const int M = 4, L = 5;
    std::vector<float> v = test::random_vec(static_cast<size_t>(M * L), 21, -1.f, 3.f);
    v[static_cast<size_t>(1 * L + 3)] = v[static_cast<size_t>(1 * L + 1)];  // a tie in row 1
    for (const float d : {0.f, 0.8f, 1.f}) {
        Tensor total = lrp::test::poisoned(Shape{M}), w = lrp::test::poisoned(Shape{M, L});
        ops::gwrp_rows(Tensor::from_vector(v, Shape{M, L}), d, total, w);
        const std::vector<float> t = total.to_vector<float>(), wv = w.to_vector<float>();
        for (int m = 0; m < M; ++m) {
            std::vector<int> order(L);
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return v[m * L + a] > v[m * L + b]; });
            double num = 0, den = 0, p = 1;
            std::vector<double> want(L);
            for (int r = 0; r < L; ++r) want[order[r]] = p, num += p * v[m * L + order[r]], den += p, p *= d;
            EXPECT_NEAR(t[m], num / den, 1e-6) << "row " << m << " decay " << d;
            for (int i = 0; i < L; ++i) EXPECT_NEAR(wv[m * L + i], want[i] / den, 1e-7) << m << " " << i << " " << d;
            if (d == 0.f) {
                EXPECT_FLOAT_EQ(t[m], *std::max_element(v.begin() + m * L, v.begin() + (m + 1) * L));
            }
        }
    }
    Tensor total = lrp::test::poisoned(Shape{M}), w = lrp::test::poisoned(Shape{M, L});
    test::expect_error([&] { ops::gwrp_rows(Tensor::zeros(Shape{M, L}), 1.5f, total, w); }, {"GWRP decay must be in [0, 1]"});
    test::expect_error([&] { ops::gwrp_rows(Tensor::zeros(Shape{M, L + 1}), 0.5f, total, w); }, {"w"});
}

TEST(IsnetLossCuda, GwrpRowsMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const int M = 37, L = 6;
    std::vector<float> v = test::random_vec(static_cast<size_t>(M * L), 5, -2.f, 2.f);
    for (size_t i = 0; i < v.size(); i += 4) v[i] = std::round(v[i]);  // ties
    std::vector<float> t(M), w(v.size());
    kernels::cpu_ops().gwrp_rows(kernel_ctx(Device::cpu()), M, L, v.data(), 0.8f, t.data(), w.data());
    Tensor vd = Tensor::from_vector(v, Shape{M * L}, dev);
    test::Guarded<float> gt(dev, M), gw(dev, M * L);
    kernels::cuda_ops().gwrp_rows(kernel_ctx(dev), M, L, vd.data<float>(), 0.8f, gt.ptr(), gw.ptr());
    EXPECT_TRUE(test::all_close(gt.read(), t, test::Tol{1e-6, 1e-6}));
    EXPECT_TRUE(test::all_close(gw.read(), w, test::Tol{1e-7, 1e-6}));
    EXPECT_TRUE(gt.guards_intact() && gw.guards_intact());
}
