// Per-channel ops and the accuracy counter: channel_affine, pixel_scale, bn_eval_affine, dropout_mask and count_equal
// against double references on the CPU (aliasing, null shift/gamma/beta, the Philox stream), front-end
// errors, and every CUDA entry against the CPU table on odd sizes with NaN-poisoned, guarded outputs.
#include <cmath>

#include "lrp/kernels/ops.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/metrics.h"
#include "lrp/philox.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::test;  // all_close, Guarded, random_vec, Tol, expect_error
using kernels::cpu_ops, kernels::cuda_ops;

namespace {

Tensor vec(const std::vector<float>& v) { return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())}); }

// x * scale[c] + shift[c] in double over N x C x HW.
std::vector<double> affine_ref(const std::vector<float>& x, const std::vector<float>& scale,
                               const std::vector<float>& shift, int N, int C, int64_t HW) {
    std::vector<double> y(x.size());
    for (int n = 0; n < N; ++n)
        for (int c = 0; c < C; ++c)
            for (int64_t i = 0; i < HW; ++i) {
                const size_t o = (static_cast<size_t>(n) * C + c) * HW + i;
                y[o] = double(x[o]) * scale[c] + (shift.empty() ? 0.0 : double(shift[c]));
            }
    return y;
}

std::vector<int32_t> ints(size_t n, uint32_t seed, int32_t classes) {
    std::vector<float> u = random_vec(n, seed, 0.f, static_cast<float>(classes));
    std::vector<int32_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = std::min(classes - 1, static_cast<int32_t>(u[i]));
    return v;
}

}  // namespace

TEST(ChannelOpsCpu, ChannelAffineMatchesReferenceWithAndWithoutShift) {
    const int N = 3, C = 5;
    const int64_t HW = 7;
    const std::vector<float> x = random_vec(N * C * HW, 1), scale = random_vec(C, 2), shift = random_vec(C, 3);
    Tensor xt = Tensor::from_vector(x, Shape{N, C, 7, 1}), y = lrp::test::poisoned(Shape{N, C, 7, 1});
    ops::channel_affine(xt, vec(scale), vec(shift), y);
    EXPECT_TRUE(all_close(y.to_vector<float>(), affine_ref(x, scale, shift, N, C, HW), Tol{1e-6, 1e-6, 1e-12}));
    ops::channel_affine(xt, vec(scale), Tensor(), y);  // no shift
    EXPECT_TRUE(all_close(y.to_vector<float>(), affine_ref(x, scale, {}, N, C, HW), Tol{1e-6, 1e-6, 1e-12}));
    ops::channel_affine(xt, vec(scale), vec(shift), xt);  // in place
    EXPECT_TRUE(all_close(xt.to_vector<float>(), affine_ref(x, scale, shift, N, C, HW), Tol{1e-6, 1e-6, 1e-12}));
    // N x C (a linear layer's output) too
    Tensor x2 = Tensor::from_vector(random_vec(N * C, 4), Shape{N, C}), y2 = lrp::test::poisoned(Shape{N, C});
    ops::channel_affine(x2, vec(scale), vec(shift), y2);
    EXPECT_TRUE(all_close(y2.to_vector<float>(), affine_ref(x2.to_vector<float>(), scale, shift, N, C, 1),
                          Tol{1e-6, 1e-6, 1e-12}));
}

TEST(ChannelOpsCpu, PixelScaleSharesTheFactorAcrossChannels) {
    const int N = 3, C = 4, H = 5, W = 3;
    const std::vector<float> x = random_vec(N * C * H * W, 11), m = random_vec(N * H * W, 12);
    Tensor xt = Tensor::from_vector(x, Shape{N, C, H, W});
    std::vector<double> want(x.size());
    for (int n = 0; n < N; ++n)
        for (int c = 0; c < C; ++c)
            for (int p = 0; p < H * W; ++p) want[(n * C + c) * H * W + p] = double(x[(n * C + c) * H * W + p]) * m[n * H * W + p];
    EXPECT_TRUE(all_close(ops::pixel_scale(xt, Tensor::from_vector(m, Shape{N, H, W})).to_vector<float>(), want,
                          Tol{1e-6, 1e-6, 1e-12}));
    ops::pixel_scale(xt, Tensor::from_vector(m, Shape{N, 1, H, W}), xt);  // a channel of 1, in place
    EXPECT_TRUE(all_close(xt.to_vector<float>(), want, Tol{1e-6, 1e-6, 1e-12}));
    expect_error([&] { ops::pixel_scale(xt, Tensor::from_vector(m, Shape{N, H * W, 1})); },
                 {"pixel_scale: m has shape [3, 15, 1], expected [3, 5, 3]"});
}

TEST(ChannelOpsCpu, BnEvalAffineIsPyTorchsEvalBatchNorm) {
    const int C = 6;
    const std::vector<float> g = random_vec(C, 5), b = random_vec(C, 6), m = random_vec(C, 7),
                             v = random_vec(C, 8, 0.1f, 2.f);
    const float eps = 1e-5f;
    Tensor scale = lrp::test::poisoned(Shape{C}), shift = lrp::test::poisoned(Shape{C});
    ops::bn_eval_affine(vec(g), vec(b), vec(m), vec(v), eps, scale, shift);
    std::vector<double> s_ref(C), t_ref(C), s1(C), t0(C);
    for (int c = 0; c < C; ++c) {
        s_ref[c] = g[c] / std::sqrt(double(v[c]) + eps);
        t_ref[c] = b[c] - m[c] * s_ref[c];
        s1[c] = 1.0 / std::sqrt(double(v[c]) + eps);
        t0[c] = -m[c] * s1[c];
    }
    EXPECT_TRUE(all_close(scale.to_vector<float>(), s_ref, Tol{1e-6, 1e-6, 1e-12}));
    EXPECT_TRUE(all_close(shift.to_vector<float>(), t_ref, Tol{1e-6, 1e-6, 1e-12}));
    ops::bn_eval_affine(Tensor(), Tensor(), vec(m), vec(v), eps, scale, shift);  // affine=False: gamma 1, beta 0
    EXPECT_TRUE(all_close(scale.to_vector<float>(), s1, Tol{1e-6, 1e-6, 1e-12}));
    EXPECT_TRUE(all_close(shift.to_vector<float>(), t0, Tol{1e-6, 1e-6, 1e-12}));
}

TEST(ChannelOpsCpu, DropoutMaskFollowsThePhiloxStream) {
    const float p = 0.3f;
    Generator g(42, 5);
    Tensor mask = lrp::test::poisoned(Shape{1001});
    ops::dropout_mask(mask, g, p);
    const std::vector<float> got = mask.to_vector<float>();
    int64_t zeros = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const float want = philox_uniform(42, 5, i) >= p ? 1.f / (1.f - p) : 0.f;
        ASSERT_EQ(got[i], want) << i;
        zeros += got[i] == 0.f;
    }
    EXPECT_NEAR(double(zeros) / got.size(), p, 0.05);
    EXPECT_EQ(g.offset(), 5 + philox_uniform_counters(1001));  // the counters it used are reserved
    ops::dropout_mask(mask, g, 0.f);
    EXPECT_EQ(mask.to_vector<float>(), std::vector<float>(1001, 1.f));
    test::expect_error([&] { ops::dropout_mask(mask, g, 1.f); }, {"dropout_mask", "[0, 1)"});
}

TEST(ChannelOpsCpu, CountEqual) {
    const std::vector<int32_t> a{3, 1, 4, 1, 5, 9, 2}, b{3, 0, 4, 1, 0, 9, 7};
    Tensor out = lrp::test::poisoned(Shape{1});
    ops::count_equal(Tensor::from_vector(a, Shape{7}), Tensor::from_vector(b, Shape{7}), out);
    EXPECT_EQ(out.to_vector<float>()[0], 4.f);
    test::expect_error([&] { ops::count_equal(Tensor::from_vector(a, Shape{7}), Tensor::from_vector(b, Shape{7}).slice(0, 6), out); },
                       {"count_equal"});
}

TEST(ChannelOpsCuda, EveryEntryMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const KernelCtx cpu = kernel_ctx(Device::cpu()), gpu = kernel_ctx(dev);
    uint32_t seed = 300;
    for (auto [N, C, HW] : std::vector<std::tuple<int, int, int64_t>>{{1, 1, 1}, {3, 5, 7}, {2, 64, 1023}, {7, 3, 4097}}) {
        SCOPED_TRACE(testing::Message() << N << "x" << C << "x" << HW);
        const int64_t n = int64_t{N} * C * HW;
        const std::vector<float> x = random_vec(n, seed++), scale = random_vec(C, seed++), shift = random_vec(C, seed++);
        for (bool with_shift : {true, false}) {
            std::vector<float> want(n);
            cpu_ops().channel_affine(cpu, x.data(), scale.data(), with_shift ? shift.data() : nullptr, want.data(), N,
                                     C, HW);
            Guarded<float> xs(dev, x), sc(dev, scale), sh(dev, shift), y(dev, n);
            cuda_ops().channel_affine(gpu, xs.ptr(), sc.ptr(), with_shift ? sh.ptr() : nullptr, y.ptr(), N, C, HW);
            EXPECT_TRUE(all_close(y.read(), std::vector<double>(want.begin(), want.end()), Tol{1e-6, 1e-6, 1e-12}));
            EXPECT_TRUE(y.guards_intact());
        }
        {  // pixel_scale
            const std::vector<float> m = random_vec(int64_t{N} * HW, seed++);
            std::vector<float> want(n);
            cpu_ops().pixel_scale(cpu, x.data(), m.data(), want.data(), N, C, HW);
            Guarded<float> xs(dev, x), ms(dev, m), y(dev, n);
            cuda_ops().pixel_scale(gpu, xs.ptr(), ms.ptr(), y.ptr(), N, C, HW);
            EXPECT_TRUE(all_close(y.read(), std::vector<double>(want.begin(), want.end()), Tol{0, 0, 0}));
            EXPECT_TRUE(y.guards_intact());
        }
        // bn_eval_affine, with and without gamma/beta
        const std::vector<float> g = random_vec(C, seed++), b = random_vec(C, seed++), m = random_vec(C, seed++),
                                 v = random_vec(C, seed++, 0.05f, 3.f);
        for (bool affine : {true, false}) {
            std::vector<float> s_want(C), t_want(C);
            cpu_ops().bn_eval_affine(cpu, C, 1e-5f, affine ? g.data() : nullptr, affine ? b.data() : nullptr, m.data(),
                                     v.data(), s_want.data(), t_want.data());
            Guarded<float> gd(dev, g), bd(dev, b), md(dev, m), vd(dev, v), s(dev, C), t(dev, C);
            cuda_ops().bn_eval_affine(gpu, C, 1e-5f, affine ? gd.ptr() : nullptr, affine ? bd.ptr() : nullptr, md.ptr(),
                                      vd.ptr(), s.ptr(), t.ptr());
            EXPECT_TRUE(all_close(s.read(), std::vector<double>(s_want.begin(), s_want.end()), Tol{1e-6, 1e-6, 1e-12}));
            EXPECT_TRUE(all_close(t.read(), std::vector<double>(t_want.begin(), t_want.end()), Tol{1e-6, 1e-6, 1e-12}));
            EXPECT_TRUE(s.guards_intact() && t.guards_intact());
        }
        // dropout_mask: the same Philox stream, bit for bit
        std::vector<float> m_want(n);
        cpu_ops().dropout_mask(cpu, 7, 11, 0.4f, m_want.data(), n);
        Guarded<float> mk(dev, n);
        cuda_ops().dropout_mask(gpu, 7, 11, 0.4f, mk.ptr(), n);
        EXPECT_EQ(mk.read(), m_want);
        EXPECT_TRUE(mk.guards_intact());
        // count_equal
        const std::vector<int32_t> a = ints(n, seed++, 4), bb = ints(n, seed++, 4);
        float c_want = -1.f;
        cpu_ops().count_equal(cpu, a.data(), bb.data(), n, &c_want);
        Guarded<int32_t> ad(dev, a), bd2(dev, bb);
        Guarded<float> cnt(dev, 1);
        cuda_ops().count_equal(gpu, ad.ptr(), bd2.ptr(), n, cnt.ptr());
        EXPECT_EQ(cnt.read()[0], c_want);
        EXPECT_TRUE(cnt.guards_intact());
    }
}
