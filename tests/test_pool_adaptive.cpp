// Adaptive average pooling (PyTorch AdaptiveAvgPool2d for any input size): values and gradients that
// torch 1.13 printed, a double reference with finite differences, the layer (incl. torchvision VGG's
// (7, 7) head on a small input), Norm-rule conservation, front-end errors, and CUDA against CPU.
#include <cmath>

#include "lrp/kernels/ops.h"
#include "lrp/lrp/rules.h"
#include "lrp/nn/models.h"
#include "lrp/nn/pooling.h"
#include "lrp/ops/pool.h"
#include "pool_test_util.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::kernels;
using lrp::test::all_close;
using lrp::test::expect_error;
using lrp::test::Tol;

namespace {

Pool2dDesc adesc(int N, int C, int H, int W, int oh, int ow) {
    return ops::adaptive_avgpool2d_desc(Shape{N, C, H, W}, oh, ow);
}
using lrp::test::run_avg;
using lrp::test::run_avg_bwd;

// Reference written from PyTorch's definition with floating-point floor/ceil (not the kernels' integer
// arithmetic): window i of `out` over `in` = [floor(i*in/out), ceil((i+1)*in/out)).
std::vector<double> adaptive_ref(const Pool2dDesc& d, const std::vector<double>& x) {
    std::vector<double> y;
    for (int pl = 0; pl < d.N * d.C; ++pl)
        for (int p = 0; p < d.P(); ++p)
            for (int q = 0; q < d.Q(); ++q) {
                const int h0 = static_cast<int>(std::floor(double(p) * d.H / d.P()));
                const int h1 = static_cast<int>(std::ceil(double(p + 1) * d.H / d.P()));
                const int w0 = static_cast<int>(std::floor(double(q) * d.W / d.Q()));
                const int w1 = static_cast<int>(std::ceil(double(q + 1) * d.W / d.Q()));
                double s = 0;
                for (int h = h0; h < h1; ++h)
                    for (int w = w0; w < w1; ++w) s += x[(pl * d.H + h) * d.W + w];
                y.push_back(s / ((h1 - h0) * (w1 - w0)));
            }
    return y;
}

// d/dx of <ref(x), r> by central differences (the reference is linear, so this is exact up to rounding).
std::vector<double> fd_grad(const Pool2dDesc& d, const std::vector<float>& xf, const std::vector<float>& r) {
    std::vector<double> x(xf.begin(), xf.end()), g(x.size());
    auto loss = [&](const std::vector<double>& xx) {
        std::vector<double> y = adaptive_ref(d, xx);
        double s = 0;
        for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
        return s;
    };
    for (size_t i = 0; i < x.size(); ++i) {
        std::vector<double> xp = x, xm = x;
        xp[i] += 1e-3, xm[i] -= 1e-3;
        g[i] = (loss(xp) - loss(xm)) / 2e-3;
    }
    return g;
}

std::vector<float> iota(int n) {
    std::vector<float> v(n);
    for (int i = 0; i < n; ++i) v[i] = static_cast<float>(1 + i);
    return v;
}

}  // namespace

// torch.nn.functional.adaptive_avg_pool2d(arange(1, 36).reshape(1, 1, 5, 7), (3, 4)) and its gradient for
// dy = arange(1, 13): overlapping windows in both directions.
TEST(AdaptivePool, MatchesTorchOverlappingWindows) {
    Pool2dDesc d = adesc(1, 1, 5, 7, 3, 4);
    ASSERT_EQ(d.P(), 3);
    ASSERT_EQ(d.Q(), 4);
    EXPECT_TRUE(all_close(run_avg(d, iota(35)),
                          std::vector<double>{5.0, 6.5, 8.5, 10.0, 15.5, 17.0, 19.0, 20.5, 26.0, 27.5, 29.5, 31.0}));
    const std::vector<double> torch_dx = {
        0.25, 0.5833333333333333, 0.3333333333333333, 0.8333333333333333, 0.5, 1.5, 1.0, 1.0833333333333335,
        2.083333333333333, 1.0, 2.2777777777777777, 1.2777777777777777, 3.6111111111111107, 2.333333333333333,
        0.8333333333333334, 1.5, 0.6666666666666666, 1.4444444444444444, 0.7777777777777778, 2.111111111111111,
        1.3333333333333333, 3.0833333333333335, 5.416666666666667, 2.3333333333333335, 4.944444444444445,
        2.611111111111111, 6.944444444444445, 4.333333333333333, 2.25, 3.916666666666667, 1.6666666666666667, 3.5,
        1.8333333333333333, 4.833333333333333, 3.0};
    EXPECT_TRUE(all_close(run_avg_bwd(d, iota(12)), torch_dx));
}

// Output larger than the input repeats pixels: torch gives [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4] for 2x2 -> 3x3.
TEST(AdaptivePool, MatchesTorchUpsampling) {
    Pool2dDesc d = adesc(1, 1, 2, 2, 3, 3);
    EXPECT_TRUE(all_close(run_avg(d, iota(4)), std::vector<double>{1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}));
    // Each input pixel is in the windows of its 2x2 block of outputs: 1/1 + 1/2 + 1/2 + 1/4 for dy = 1.
    EXPECT_TRUE(all_close(run_avg_bwd(d, std::vector<float>(9, 1.f)), std::vector<double>{2.25, 2.25, 2.25, 2.25}));
}

TEST(AdaptivePool, ReferenceAndFiniteDifferencesOverManySizes) {
    for (int H : {1, 3, 7, 10})
        for (int oh : {1, 2, 3, 4, 7}) {
            const int W = H + 2, ow = oh == 1 ? 3 : oh - 1;
            Pool2dDesc d = adesc(2, 3, H, W, oh, ow);
            std::vector<float> x = lrp::test::random_vec(size_t(6) * H * W, uint32_t(10 * H + oh));
            std::vector<float> r = lrp::test::random_vec(size_t(6) * oh * ow, uint32_t(100 + H + oh));
            std::vector<double> xd(x.begin(), x.end());
            EXPECT_TRUE(all_close(run_avg(d, x), adaptive_ref(d, xd))) << H << "x" << W << " -> " << oh << "x" << ow;
            EXPECT_TRUE(all_close(run_avg_bwd(d, r), fd_grad(d, x, r), Tol{1e-6, 1e-5, 1e-8}))
                << H << "x" << W << " -> " << oh << "x" << ow;
        }
}

// Divisible sizes give the same numbers as AvgPool2d with kernel = stride = input / output.
TEST(AdaptivePool, DivisibleEqualsFixedWindows) {
    std::vector<float> x = lrp::test::random_vec(2 * 3 * 8 * 12, 5), r = lrp::test::random_vec(2 * 3 * 4 * 3, 6);
    ops::Pool2dParams p;
    p.kh = p.sh = 2, p.kw = p.sw = 4;
    Pool2dDesc fixed = ops::pool2d_desc(Shape{2, 3, 8, 12}, p, false), ad = adesc(2, 3, 8, 12, 4, 3);
    EXPECT_EQ(run_avg(ad, x), run_avg(fixed, x));
    EXPECT_EQ(run_avg_bwd(ad, r), run_avg_bwd(fixed, r));
}

TEST(AdaptivePool, Errors) {
    expect_error([] { adesc(1, 1, 4, 4, 0, 2); }, {"adaptive_avg_pool2d", "output size must be positive"});
    expect_error([] { ops::adaptive_avgpool2d_desc(Shape{4, 4}, 2, 2); }, {"adaptive_avg_pool2d", "N x C x H x W"});
    Pool2dDesc d = adesc(1, 1, 4, 4, 3, 3);
    Tensor x = Tensor::from_vector(lrp::test::random_vec(16, 1), Shape{1, 1, 4, 4});
    expect_error(
        [&] {
            ops::maxpool_fwd(d, x, Tensor::empty(Shape{1, 1, 3, 3}), Tensor::empty(Shape{1, 1, 3, 3}, DType::I32));
        },
        {"maxpool_fwd", "average pooling only"});
    d.kh = 2;  // a hand-edited descriptor mixing both kinds
    expect_error([&] { ops::avgpool_fwd(d, x, Tensor::empty(Shape{1, 1, 3, 3})); }, {"avgpool_fwd", "takes no kernel"});
    nn::AdaptiveAvgPool2d layer(5, 5);
    expect_error([&] { layer.forward(Tensor::from_vector(lrp::test::random_vec(16, 2), Shape{4, 4})); },
                 {"AdaptiveAvgPool2d", "expected [N, C, H, W]"});
}

// The layer on a size that does not divide, and its backward equal to the op's.
TEST(AdaptivePool, LayerAnyInputSize) {
    nn::AdaptiveAvgPool2d layer(3, 4);
    Tensor x = Tensor::from_vector(iota(35), Shape{1, 1, 5, 7});
    Tensor y = layer.forward(x);
    ASSERT_EQ(y.shape(), (Shape{1, 1, 3, 4}));
    EXPECT_EQ(y.to_vector<float>()[5], 17.f);
    Tensor dx = layer.backward(Tensor::from_vector(iota(12), Shape{1, 1, 3, 4}), false);
    EXPECT_EQ(dx.to_vector<float>(), run_avg_bwd(adesc(1, 1, 5, 7, 3, 4), iota(12)));
}

// torchvision's VGG head (AdaptiveAvgPool2d((7, 7)) then a 512*49 linear) on a 32x32 input: the 1x1
// feature map is repeated 49 times, as in PyTorch, instead of being refused.
TEST(AdaptivePool, ImageNetVggOnSmallInput) {
    nn::ModelSpec s;
    s.arch = "vgg11_imagenet";
    s.num_classes = 4;
    s.image_size = 32;
    s.base_width = 4;
    auto m = nn::make_model(s);
    m->eval();
    Tensor logits = m->forward(Tensor::from_vector(lrp::test::random_vec(2 * 3 * 32 * 32, 3), Shape{2, 3, 32, 32}));
    EXPECT_EQ(logits.shape(), (Shape{2, 4}));
    for (float v : logits.to_vector<float>()) EXPECT_TRUE(std::isfinite(v));
}

// Norm on an adaptive pool with overlapping windows conserves relevance (each window's share sums to 1).
TEST(AdaptivePool, NormRuleConserves) {
    nn::AdaptiveAvgPool2d layer(3, 3);
    std::vector<float> xv = lrp::test::random_vec(2 * 2 * 5 * 5, 8);
    for (float& v : xv) v = std::fabs(v) + 0.1f;
    layer.forward(Tensor::from_vector(xv, Shape{2, 2, 5, 5}));
    std::vector<float> rv = lrp::test::random_vec(2 * 2 * 9, 9);
    explain::Norm norm;
    Tensor rin = norm.relevance(layer, Tensor::from_vector(rv, Shape{2, 2, 3, 3}), nullptr);
    double sin = 0, sout = 0;
    for (float v : rin.to_vector<float>()) sin += v;
    for (float v : rv) sout += v;
    EXPECT_NEAR(sin, sout, 1e-4 * (1 + std::fabs(sout)));
}

TEST(AdaptivePoolCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    for (int H : {1, 5, 13, 33})
        for (int oh : {2, 3, 7})
            lrp::test::expect_cuda_avg_matches_cpu(adesc(3, 5, H, H + 2, oh, oh + 1), 51,
                                                   std::to_string(H) + " -> " + std::to_string(oh));
}
