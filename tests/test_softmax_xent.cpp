// Softmax cross-entropy: hand-computed values, a double reference with label smoothing (PyTorch
// semantics), a float64 finite-difference check of dlogits, NaN rows for bad labels, error paths,
// and the CUDA entry against the CPU.
#include <cmath>
#include <functional>
#include <limits>

#include "lrp/kernels/ops.h"
#include "lrp/ops/loss.h"
#include "test_util.h"

using namespace lrp;
using lrp::kernels::cpu_ops;
using lrp::kernels::cuda_ops;
using lrp::test::all_close;
using lrp::test::Guarded;
using lrp::test::random_vec;
using lrp::test::Tol;

namespace {

using lrp::test::expect_error;

// -sum_k t_k log softmax_k(x), t = (1 - s) onehot(label) + s / K, straight from the definition.
double ref_loss(const double* x, int K, int label, double s) {
    double z = 0;
    for (int k = 0; k < K; ++k) z += std::exp(x[k]);
    double loss = 0;
    for (int k = 0; k < K; ++k) loss -= ((k == label ? 1.0 - s : 0.0) + s / K) * std::log(std::exp(x[k]) / z);
    return loss;
}

struct Result {
    std::vector<float> loss, dlogits;
};

Result run_cpu(const std::vector<float>& logits, const std::vector<int32_t>& labels, int K, float s, float gs) {
    const int64_t N = static_cast<int64_t>(labels.size());
    Tensor loss = lrp::test::poisoned(Shape{N}), d = lrp::test::poisoned(Shape{N, K});
    ops::softmax_xent(Tensor::from_vector(logits, Shape{N, K}), Tensor::from_vector(labels, Shape{N}), s, gs, loss,
                      d);
    return {loss.to_vector<float>(), d.to_vector<float>()};
}

}  // namespace

TEST(SoftmaxXentCpu, HandComputed) {
    // logits [0, ln 3] -> softmax [1/4, 3/4]
    const float l3 = static_cast<float>(std::log(3.0));
    auto r = run_cpu({0.f, l3}, {1}, 2, 0.f, 1.f);
    EXPECT_NEAR(r.loss[0], -std::log(0.75), 1e-6);
    EXPECT_NEAR(r.dlogits[0], 0.25, 1e-6);
    EXPECT_NEAR(r.dlogits[1], -0.25, 1e-6);
    // smoothing 0.2: target [0.1, 0.9]
    r = run_cpu({0.f, l3}, {1}, 2, 0.2f, 0.5f);
    EXPECT_NEAR(r.loss[0], -(0.1 * std::log(0.25) + 0.9 * std::log(0.75)), 1e-6);
    EXPECT_NEAR(r.dlogits[0], 0.5 * 0.15, 1e-6);
    EXPECT_NEAR(r.dlogits[1], 0.5 * -0.15, 1e-6);
}

TEST(SoftmaxXentCpu, MatchesDoubleReferenceWithSmoothing) {
    const int N = 9, K = 7;
    auto x = random_vec(N * K, 3, -3.f, 3.f);
    auto labels = lrp::test::random_ints(N, 4, 0, K - 1);
    for (float s : {0.f, 0.1f, 0.5f}) {
        const float gs = 1.f / N;
        auto r = run_cpu(x, labels, K, s, gs);
        std::vector<double> loss(N), grad(N * K);
        for (int n = 0; n < N; ++n) {
            std::vector<double> xd(x.begin() + n * K, x.begin() + (n + 1) * K);
            loss[n] = ref_loss(xd.data(), K, labels[n], s);
            double z = 0;
            for (double v : xd) z += std::exp(v);
            for (int k = 0; k < K; ++k)
                grad[n * K + k] = gs * (std::exp(xd[k]) / z - ((k == labels[n] ? 1.0 - s : 0.0) + double(s) / K));
        }
        EXPECT_TRUE(all_close(r.loss, loss, Tol{1e-6, 1e-5})) << "smoothing " << s;
        EXPECT_TRUE(all_close(r.dlogits, grad, Tol{1e-6, 1e-5})) << "smoothing " << s;
    }
}

TEST(SoftmaxXentCpu, GradientMatchesFiniteDifferences) {
    const int N = 4, K = 6;
    auto x = random_vec(N * K, 5, -2.f, 2.f);
    auto labels = lrp::test::random_ints(N, 6, 0, K - 1);
    for (float s : {0.f, 0.3f}) {
        auto r = run_cpu(x, labels, K, s, 1.f);
        std::vector<double> fd(N * K);
        const double h = 1e-5;
        for (int n = 0; n < N; ++n) {
            std::vector<double> xd(x.begin() + n * K, x.begin() + (n + 1) * K);
            for (int k = 0; k < K; ++k) {
                const double x0 = xd[k];
                xd[k] = x0 + h;
                const double fp = ref_loss(xd.data(), K, labels[n], s);
                xd[k] = x0 - h;
                const double fm = ref_loss(xd.data(), K, labels[n], s);
                xd[k] = x0;
                fd[n * K + k] = (fp - fm) / (2 * h);
            }
        }
        EXPECT_TRUE(all_close(r.dlogits, fd, Tol{1e-6, 1e-5})) << "smoothing " << s;
    }
}

TEST(SoftmaxXentCpu, LargeLogitsStayFinite) {
    auto r = run_cpu({1000.f, 0.f, -1000.f}, {0}, 3, 0.1f, 1.f);
    // lse = 1000: loss = 0.9 * 0 + (0.1 / 3) * (3 * 1000 - 0) = 100
    EXPECT_NEAR(r.loss[0], 100.0, 1e-3);
    for (float d : r.dlogits) EXPECT_TRUE(std::isfinite(d));
    EXPECT_NEAR(r.dlogits[0], 1.0 - (0.9 + 0.1 / 3), 1e-6);
    EXPECT_NEAR(r.dlogits[2], -0.1 / 3, 1e-6);
}

// A -inf logit (a masked class) is a class of probability 0: without smoothing the loss stays finite
// (PyTorch's value); with smoothing its share of the target makes the loss +inf, never NaN.
TEST(SoftmaxXentCpu, MinusInfinityLogit) {
    const float l3 = static_cast<float>(std::log(3.0)), inf = std::numeric_limits<float>::infinity();
    auto r = run_cpu({-inf, 0.f, l3}, {2}, 3, 0.f, 1.f);
    EXPECT_NEAR(r.loss[0], -std::log(0.75), 1e-6);
    EXPECT_EQ(r.dlogits[0], 0.f);
    EXPECT_NEAR(r.dlogits[1], 0.25, 1e-6);
    EXPECT_NEAR(r.dlogits[2], -0.25, 1e-6);
    r = run_cpu({-inf, 0.f, l3}, {2}, 3, 0.1f, 1.f);
    EXPECT_EQ(r.loss[0], inf);
}

TEST(SoftmaxXentCpu, OutOfRangeLabelGivesNaNRow) {
    const int K = 3;
    auto r = run_cpu(random_vec(3 * K, 7), {-1, 1, K}, K, 0.f, 1.f);
    EXPECT_TRUE(std::isnan(r.loss[0]));
    EXPECT_TRUE(std::isfinite(r.loss[1]));
    EXPECT_TRUE(std::isnan(r.loss[2]));
    for (int k = 0; k < K; ++k) {
        EXPECT_TRUE(std::isnan(r.dlogits[k]));
        EXPECT_TRUE(std::isfinite(r.dlogits[K + k]));
        EXPECT_TRUE(std::isnan(r.dlogits[2 * K + k]));
    }
}

TEST(SoftmaxXentCpu, LossOnlyWhenDlogitsUndefined) {
    auto x = random_vec(2 * 5, 8);
    auto full = run_cpu(x, {3, 0}, 5, 0.1f, 1.f);
    Tensor loss = Tensor::empty(Shape{2});
    ops::softmax_xent(Tensor::from_vector(x, Shape{2, 5}),
                      Tensor::from_vector(std::vector<int32_t>{3, 0}, Shape{2}), 0.1f, 1.f, loss, Tensor());
    EXPECT_EQ(loss.to_vector<float>(), full.loss);
}

TEST(SoftmaxXentCpu, FrontEndErrors) {
    Tensor x = Tensor::from_vector(random_vec(6, 1), Shape{2, 3});
    Tensor lab = Tensor::from_vector(std::vector<int32_t>{0, 2}, Shape{2});
    Tensor loss = Tensor::empty(Shape{2}), d = Tensor::empty(Shape{2, 3});
    expect_error([&] { ops::softmax_xent(x, Tensor::empty(Shape{2}), 0.f, 1.f, loss, d); },
                 {"softmax_xent", "'labels'", "dtype", "i32"});
    expect_error([&] { ops::softmax_xent(x, Tensor::empty(Shape{3}, DType::I32), 0.f, 1.f, loss, d); },
                 {"softmax_xent", "'labels'", "shape"});
    expect_error([&] { ops::softmax_xent(x, lab, 0.f, 1.f, Tensor::empty(Shape{3}), d); },
                 {"softmax_xent", "'loss'"});
    expect_error(
        [&] {
            ops::softmax_xent(x, lab, 0.f, 1.f, loss, Tensor::empty(Shape{3, 2}));
        },
        {"softmax_xent", "'dlogits'", "shape"});
    expect_error([&] { ops::softmax_xent(x.reshape(Shape{6}), lab, 0.f, 1.f, loss, d); },
                 {"softmax_xent", "'logits'"});
    expect_error([&] { ops::softmax_xent(x, lab, 1.5f, 1.f, loss, d); }, {"softmax_xent", "smoothing"});
}

TEST(SoftmaxXentCuda, DeviceMismatchIsAnError) {
    LRP_SKIP_WITHOUT_CUDA();
    Tensor x = Tensor::from_vector(random_vec(6, 1), Shape{2, 3}, Device::cuda(0));
    Tensor lab = Tensor::from_vector(std::vector<int32_t>{0, 2}, Shape{2});
    expect_error(
        [&] {
            ops::softmax_xent(x, lab, 0.f, 1.f, Tensor::empty(Shape{2}, DType::F32, Device::cuda(0)), Tensor());
        },
        {"softmax_xent", "'labels'", "cpu"});
}

TEST(SoftmaxXentCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const std::vector<std::pair<int, int>> shapes = {{3, 1},    {1, 7},     {7, 10},   {128, 1000},
                                                     {1000, 7}, {3, 65537}, {257, 100}};
    for (auto [N, K] : shapes) {
        for (float s : {0.f, 0.1f}) {
            SCOPED_TRACE(testing::Message() << "N=" << N << " K=" << K << " smoothing=" << s);
            auto x = random_vec(int64_t(N) * K, 11 + K, -4.f, 4.f);
            auto labels = lrp::test::random_ints(N, 12 + N, 0, K - 1);
            if (N >= 7) labels[N / 2] = K;  // one invalid label: a NaN row on both backends
            if (s == 0.f && K >= 2) x[static_cast<size_t>(N - 1) * K + (labels[N - 1] + 1) % K] = -INFINITY;
            const float gs = 1.f / N;
            std::vector<float> loss(N), d(int64_t(N) * K);
            cpu_ops().softmax_xent(kernel_ctx(Device::cpu()), x.data(), labels.data(), N, K, s, gs, loss.data(),
                                   d.data());

            Tensor dx = Tensor::from_vector(x, Shape{N, K}, Device::cuda(0));
            Tensor dl = Tensor::from_vector(labels, Shape{N}, Device::cuda(0));
            Guarded<float> gl(Device::cuda(0), N), gd(Device::cuda(0), int64_t(N) * K);
            cuda_ops().softmax_xent(kernel_ctx(Device::cuda(0)), dx.data<float>(), dl.data<int32_t>(), N, K, s, gs,
                                    gl.ptr(), gd.ptr());
            Tol tol{1e-6, 1e-5};
            tol.allow_zero_ref = K == 1;  // one class: loss and gradient are exactly 0
            EXPECT_TRUE(all_close(gl.read(), loss, tol));
            EXPECT_TRUE(all_close(gd.read(), d, tol));
            EXPECT_TRUE(gl.guards_intact());
            EXPECT_TRUE(gd.guards_intact());

            Guarded<float> gl2(Device::cuda(0), N);  // loss only
            cuda_ops().softmax_xent(kernel_ctx(Device::cuda(0)), dx.data<float>(), dl.data<int32_t>(), N, K, s, gs,
                                    gl2.ptr(), nullptr);
            EXPECT_TRUE(all_close(gl2.read(), loss, tol));
        }
    }
}
