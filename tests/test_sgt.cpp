// Saliency Guided Training's ops (lrp/ops/sgt.h): the bottom-k pixels against a sort by hand (signed and |.|,
// ties to the lower index, non-finite maps flagged), the fill element by element against the Philox draw it names,
// the KL term and both gradients against double-precision finite differences, argument errors; CUDA against CPU.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "lrp/ops/elementwise.h"
#include "lrp/ops/sgt.h"
#include "lrp/philox.h"
#include "lrp_test_util.h"
#include "test_util.h"

using namespace lrp;

namespace {

// Per sample the k pixels of smallest channel sum (|.| with abs), ties to the lower index, by hand.
std::vector<int32_t> bottom_k(const std::vector<float>& s, int N, int C, int HW, int k, bool abs_value) {
    std::vector<int32_t> out;
    for (int n = 0; n < N; ++n) {
        std::vector<float> m(HW, 0.f);
        for (int c = 0; c < C; ++c)
            for (int j = 0; j < HW; ++j) m[j] += s[(size_t(n) * C + c) * HW + j];
        if (abs_value)
            for (float& v : m) v = std::fabs(v);
        std::vector<int32_t> order(HW);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return m[a] < m[b]; });
        out.insert(out.end(), order.begin(), order.begin() + k);
    }
    return out;
}

double kl_ref(const std::vector<double>& zc, const std::vector<double>& zm) {
    const size_t K = zc.size();
    double mc = *std::max_element(zc.begin(), zc.end()), mm = *std::max_element(zm.begin(), zm.end()), sc = 0, sm = 0;
    for (size_t j = 0; j < K; ++j) {
        sc += std::exp(zc[j] - mc);
        sm += std::exp(zm[j] - mm);
    }
    double kl = 0;
    for (size_t j = 0; j < K; ++j) {
        const double lp = zc[j] - mc - std::log(sc), lq = zm[j] - mm - std::log(sm);
        kl += std::exp(lp) * (lp - lq);
    }
    return kl;
}

}  // namespace

TEST(SgtOpsCpu, BottomKIsTheSmallestChannelSumsTiesToTheLowerIndex) {
    const int N = 3, C = 2, H = 5, W = 7, HW = H * W, k = 6;
    std::vector<float> s = test::random_vec(size_t(N) * C * HW, 11, -1.f, 1.f);
    // Sample 2: pixels 4, 9 and 20 tie at the smallest sum (channel 1 holds it, channel 0 is 0 there).
    for (int j : {4, 9, 20}) {
        s[(2 * C + 0) * HW + j] = 0.f;
        s[(2 * C + 1) * HW + j] = -3.f;
    }
    const Tensor sal = Tensor::from_vector(s, Shape{N, C, H, W});
    for (bool a : {false, true}) {
        Tensor idx = lrp::test::poisoned(Shape{N, k}, DType::I32), valid = lrp::test::poisoned(Shape{N});
        ops::sgt_bottom_k(sal, k, a, idx, valid);
        EXPECT_EQ(idx.to_vector<int32_t>(), bottom_k(s, N, C, HW, k, a)) << "abs " << a;
        EXPECT_EQ(valid.to_vector<float>(), std::vector<float>(N, 1.f));
    }
    Tensor idx = lrp::test::poisoned(Shape{N, k}, DType::I32), valid = lrp::test::poisoned(Shape{N});
    ops::sgt_bottom_k(sal, k, false, idx, valid);
    const std::vector<int32_t> got = idx.to_vector<int32_t>();
    EXPECT_EQ(std::vector<int32_t>(got.begin() + 2 * k, got.begin() + 2 * k + 3), (std::vector<int32_t>{4, 9, 20}));
    // A map already reduced ([N, H, W]) is taken as is.
    std::vector<float> m(size_t(N) * HW);
    for (int n = 0; n < N; ++n)
        for (int j = 0; j < HW; ++j) m[size_t(n) * HW + j] = s[(size_t(n) * C) * HW + j] + s[(size_t(n) * C + 1) * HW + j];
    Tensor idx2 = lrp::test::poisoned(Shape{N, k}, DType::I32);
    ops::sgt_bottom_k(Tensor::from_vector(m, Shape{N, H, W}), k, false, idx2, valid);
    EXPECT_EQ(idx2.to_vector<int32_t>(), got);
}

TEST(SgtOpsCpu, NonFiniteMapsAreFlagged) {
    const int N = 4, C = 3, H = 4, W = 4, HW = H * W;
    std::vector<float> s = test::random_vec(size_t(N) * C * HW, 12, -1.f, 1.f);
    s[(1 * C + 2) * HW + 5] = std::nanf("");
    s[(3 * C + 0) * HW + 0] = -INFINITY;
    Tensor idx = lrp::test::poisoned(Shape{N, 3}, DType::I32), valid = lrp::test::poisoned(Shape{N});
    ops::sgt_bottom_k(Tensor::from_vector(s, Shape{N, C, H, W}), 3, true, idx, valid);
    EXPECT_EQ(valid.to_vector<float>(), (std::vector<float>{1.f, 0.f, 1.f, 0.f}));
}

TEST(SgtOpsCpu, FillWritesTheDrawnValueAtTheIndexedPixelsOfValidSamples) {
    const int N = 3, C = 3, H = 5, W = 4, HW = H * W, k = 4;
    const std::vector<float> x0 = test::random_vec(size_t(N) * C * HW, 13, -2.f, 2.f);
    const std::vector<int32_t> idx{0, 7, 19, 3, /**/ 5, 6, 1, 2, /**/ 11, 12, 13, 14};
    const std::vector<float> valid{1.f, 0.f, 1.f};
    std::vector<float> lo = test::random_vec(size_t(N) * C, 14, -1.f, 0.f), hi = test::random_vec(size_t(N) * C, 15, 0.5f, 1.f);
    lo[2 * C + 1] = hi[2 * C + 1] = 0.375f;  // a constant channel
    Tensor x = Tensor::from_vector(x0, Shape{N, C, H, W});
    Generator g(21, 8);
    ops::sgt_fill(x, Tensor::from_vector(idx, Shape{N, k}), Tensor::from_vector(valid, Shape{N}),
                  Tensor::from_vector(lo, Shape{N, C}), Tensor::from_vector(hi, Shape{N, C}), g);
    EXPECT_EQ(g.offset(), 8u + (N * k * C + 3) / 4);
    std::vector<float> want = x0;
    for (int n = 0; n < N; ++n)
        for (int j = 0; j < k && valid[n] != 0.f; ++j)
            for (int c = 0; c < C; ++c) {
                const float l = lo[n * C + c], h = hi[n * C + c];
                const float u = philox_uniform(21, 8, uint64_t((n * k + j) * C + c));
                want[(size_t(n) * C + c) * HW + idx[n * k + j]] = l == h ? l : std::fma(u, h - l, l);
            }
    const std::vector<float> got = x.to_vector<float>();
    EXPECT_EQ(got, want);
    for (int j = 0; j < k; ++j) {
        const float v = got[(size_t(2) * C + 1) * HW + idx[2 * k + j]];
        EXPECT_EQ(v, 0.375f);
        for (int c : {0, 2}) {
            const float w = got[(size_t(2) * C + c) * HW + idx[2 * k + j]];
            EXPECT_GE(w, lo[2 * C + c]);
            EXPECT_LT(w, hi[2 * C + c]);
        }
    }
    EXPECT_NE(got, x0);
}

TEST(SgtOpsCpu, KlAndItsGradientsMatchFiniteDifferences) {
    const int N = 4, K = 7;
    const std::vector<float> zc = test::random_vec(N * K, 16, -3.f, 3.f), zm = test::random_vec(N * K, 17, -3.f, 3.f);
    const std::vector<float> valid{1.f, 1.f, 0.f, 1.f};
    const float scale = 0.375f;
    Tensor dzc = ops::full(Shape{N, K}, 9.f), dzm = ops::full(Shape{N, K}, 9.f);  // poisoned
    const Tensor loss = ops::sgt_kl(Tensor::from_vector(zc, Shape{N, K}), Tensor::from_vector(zm, Shape{N, K}),
                                    Tensor::from_vector(valid, Shape{N}), scale, dzc, dzm);
    const std::vector<float> l = loss.to_vector<float>(), gc = dzc.to_vector<float>(), gm = dzm.to_vector<float>();
    for (int n = 0; n < N; ++n) {
        std::vector<double> c(zc.begin() + n * K, zc.begin() + (n + 1) * K), m(zm.begin() + n * K, zm.begin() + (n + 1) * K);
        if (valid[n] == 0.f) {
            EXPECT_EQ(l[n], 0.f);
            for (int j = 0; j < K; ++j) EXPECT_EQ(gc[n * K + j], 0.f) << j;
            for (int j = 0; j < K; ++j) EXPECT_EQ(gm[n * K + j], 0.f) << j;
            continue;
        }
        EXPECT_NEAR(l[n], kl_ref(c, m), 1e-6) << n;
        EXPECT_GT(l[n], 0.f);
        const double h = 1e-5;
        for (int j = 0; j < K; ++j) {
            auto fd = [&](std::vector<double>& v) {
                const double keep = v[j];
                v[j] = keep + h;
                const double up = kl_ref(c, m);
                v[j] = keep - h;
                const double down = kl_ref(c, m);
                v[j] = keep;
                return scale * (up - down) / (2 * h);
            };
            EXPECT_NEAR(gc[n * K + j], fd(c), 1e-5) << "clean " << n << ", " << j;
            EXPECT_NEAR(gm[n * K + j], fd(m), 1e-5) << "masked " << n << ", " << j;
        }
    }
    // The clean logits detached: the masked gradient alone, the same values.
    Tensor dzm2 = ops::full(Shape{N, K}, 9.f);
    ops::sgt_kl(Tensor::from_vector(zc, Shape{N, K}), Tensor::from_vector(zm, Shape{N, K}),
                Tensor::from_vector(valid, Shape{N}), scale, Tensor(), dzm2);
    EXPECT_EQ(dzm2.to_vector<float>(), gm);
    // Equal logits: KL 0 and zero gradients.
    Tensor d1 = lrp::test::poisoned(Shape{N, K}), d2 = lrp::test::poisoned(Shape{N, K});
    const Tensor z = Tensor::from_vector(zc, Shape{N, K});
    for (float v : ops::sgt_kl(z, z, ops::full(Shape{N}, 1.f), 1.f, d1, d2).to_vector<float>()) EXPECT_NEAR(v, 0.f, 1e-7);
    for (float v : d1.to_vector<float>()) EXPECT_NEAR(v, 0.f, 1e-7);
}

TEST(SgtOpsCpu, ErrorsNameTheArgument) {
    Tensor idx = Tensor::empty(Shape{2, 3}, DType::I32), valid = Tensor::empty(Shape{2});
    const Tensor s = ops::full(Shape{2, 1, 2, 2}, 1.f);
    test::expect_error([&] { ops::sgt_bottom_k(s, 5, false, Tensor::empty(Shape{2, 5}, DType::I32), valid); },
                       {"sgt_bottom_k", "k must be in [1, 4]", "got 5"});
    test::expect_error([&] { ops::sgt_bottom_k(s, 3, false, idx, Tensor::empty(Shape{3})); }, {"sgt_bottom_k", "valid"});
    test::expect_error([&] { ops::sgt_bottom_k(ops::full(Shape{4}, 1.f), 1, false, idx, valid); },
                       {"sgt_bottom_k", "[N, C, H, W] or [N, H, W]"});
    Generator g(1);
    const Tensor lo = Tensor::empty(Shape{2, 1});
    test::expect_error([&] { ops::sgt_fill(ops::full(Shape{2, 1, 2, 2}, 0.f), idx, valid, lo, Tensor::empty(Shape{2, 3}), g); },
                       {"sgt_fill", "hi"});
    test::expect_error([&] { ops::sgt_fill(ops::full(Shape{2, 1, 1, 2}, 0.f), idx, valid, lo, lo, g); },
                       {"sgt_fill", "idx must be [2, k] with 1 <= k <= 2"});
    const Tensor z = ops::full(Shape{2, 3}, 0.f);
    test::expect_error([&] { ops::sgt_kl(z, ops::full(Shape{2, 4}, 0.f), valid, 1.f, Tensor(), z); }, {"sgt_kl", "zm"});
    test::expect_error([&] { ops::sgt_kl(z, z, valid, NAN, Tensor(), z); }, {"sgt_kl", "scale must be finite"});
}

TEST(SgtOpsCuda, MatchCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const int N = 37, C = 3, H = 13, W = 11, HW = H * W, k = 29, K = 10;
    std::vector<float> s = test::random_vec(size_t(N) * C * HW, 31, -1.f, 1.f);
    s[(5 * C + 1) * HW + 17] = std::nanf("");
    const Tensor sal = Tensor::from_vector(s, Shape{N, C, H, W});
    for (bool a : {false, true}) {
        Tensor ic = lrp::test::poisoned(Shape{N, k}, DType::I32), vc = lrp::test::poisoned(Shape{N});
        Tensor ig = Tensor::from_vector(std::vector<int32_t>(size_t(N) * k, -7), Shape{N, k}, dev);  // poisoned
        Tensor vg = ops::full(Shape{N}, 5.f, dev);
        ops::sgt_bottom_k(sal, k, a, ic, vc);
        ops::sgt_bottom_k(sal.to(dev), k, a, ig, vg);
        EXPECT_EQ(vg.to_vector<float>(), vc.to_vector<float>()) << a;
        std::vector<int32_t> want = ic.to_vector<int32_t>(), got = ig.to_vector<int32_t>();
        for (int j = 0; j < k; ++j) want[5 * k + j] = got[5 * k + j] = 0;  // a non-finite map's indices mean nothing
        EXPECT_EQ(got, want) << a;
        // The fill from those indices, random and constant channels.
        std::vector<float> lo = test::random_vec(size_t(N) * C, 32, -1.f, 0.f), hi = test::random_vec(size_t(N) * C, 33, 0.f, 1.f);
        for (int n = 0; n < N; n += 4) hi[n * C] = lo[n * C];
        const Tensor x0 = test::rand_tensor({N, C, H, W}, 34, -2.f, 2.f);
        Tensor xc = x0.clone(), xg = x0.to(dev);
        Generator gc(5, 3), gg(5, 3);
        ops::sgt_fill(xc, ic, vc, Tensor::from_vector(lo, Shape{N, C}), Tensor::from_vector(hi, Shape{N, C}), gc);
        ops::sgt_fill(xg, ig, vg, Tensor::from_vector(lo, Shape{N, C}, dev), Tensor::from_vector(hi, Shape{N, C}, dev), gg);
        const std::vector<float> fg = xg.to_vector<float>(), fc = xc.to_vector<float>();
        int differ = 0;
        for (size_t i = 0; i < fc.size(); ++i)
            if (fg[i] != fc[i] && differ++ < 5)
                ADD_FAILURE() << "abs " << a << ": element " << i << " (sample " << i / (C * HW) << "): CUDA " << fg[i]
                              << ", CPU " << fc[i];
        EXPECT_EQ(differ, 0) << a;
        EXPECT_EQ(gg.offset(), gc.offset());
    }
    const Tensor zc = test::rand_tensor({N, K}, 35, -4.f, 4.f), zm = test::rand_tensor({N, K}, 36, -4.f, 4.f);
    std::vector<float> v(N, 1.f);
    v[3] = 0.f;
    const Tensor valid = Tensor::from_vector(v, Shape{N});
    Tensor cc = lrp::test::poisoned(Shape{N, K}), cm = lrp::test::poisoned(Shape{N, K});
    Tensor gcd = ops::full(Shape{N, K}, 9.f, dev), gmd = ops::full(Shape{N, K}, 9.f, dev);
    const Tensor lc = ops::sgt_kl(zc, zm, valid, 0.25f, cc, cm);
    const Tensor lg = ops::sgt_kl(zc.to(dev), zm.to(dev), valid.to(dev), 0.25f, gcd, gmd);
    const test::Tol tol{1e-6, 1e-5};
    EXPECT_TRUE(test::all_close(lg.to_vector<float>(), lc.to_vector<float>(), tol));
    EXPECT_TRUE(test::all_close(gcd.to_vector<float>(), cc.to_vector<float>(), tol));
    EXPECT_TRUE(test::all_close(gmd.to_vector<float>(), cm.to_vector<float>(), tol));
}
