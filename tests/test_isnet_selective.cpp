// Selective ISNet's seed (ops::isnet_selective_seed / _vjp): the seed is d eta/dz of eta = log(q + e) - log(1 - q + e),
// q the softmax probability of the lowest logit, checked against central differences of a double-precision eta; the
// vjp is the seed's derivative along u (differences of those differences); ties take the first minimum; extreme
// logits stay finite; errors; CUDA equals the CPU.
#include <cmath>
#include <vector>

#include "lrp/ops/isnet_loss.h"
#include "test_util.h"

using namespace lrp;

namespace {

double eta(std::vector<double> z, double e) {
    size_t c = 0;
    double m = z[0];
    for (size_t j = 1; j < z.size(); ++j) {
        if (z[j] < z[c]) c = j;
        m = std::max(m, z[j]);
    }
    double S = 0;
    for (double v : z) S += std::exp(v - m);
    const double q = std::exp(z[c] - m) / S;
    return std::log(q + e) - std::log(1 - q + e);
}

// d eta / dz by central differences.
std::vector<double> seed_ref(const std::vector<double>& z, double e, double h = 1e-5) {
    std::vector<double> s(z.size());
    for (size_t j = 0; j < z.size(); ++j) {
        std::vector<double> a = z, b = z;
        a[j] += h, b[j] -= h;
        s[j] = (eta(a, e) - eta(b, e)) / (2 * h);
    }
    return s;
}

}  // namespace

TEST(IsnetSelectiveCpu, SeedAndVjpMatchFiniteDifferences) {
    const int N = 4, K = 6;
    const float e = 0.01f;
    const std::vector<float> zv = test::random_vec(N * K, 21, -2.f, 2.f), uv = test::random_vec(N * K, 22, -1.f, 1.f);
    const Tensor z = Tensor::from_vector(zv, Shape{N, K}), u = Tensor::from_vector(uv, Shape{N, K});
    const std::vector<float> seed = ops::isnet_selective_seed(z, e).to_vector<float>();
    const std::vector<float> vjp = ops::isnet_selective_vjp(z, e, u).to_vector<float>();
    for (int n = 0; n < N; ++n) {
        std::vector<double> row(zv.begin() + n * K, zv.begin() + (n + 1) * K), dir(uv.begin() + n * K, uv.begin() + (n + 1) * K);
        const std::vector<double> s = seed_ref(row, e);
        // H u = (seed(z + h u) - seed(z - h u)) / 2h (H is symmetric).
        const double h = 1e-4;
        std::vector<double> a = row, b = row;
        for (int j = 0; j < K; ++j) a[j] += h * dir[j], b[j] -= h * dir[j];
        const std::vector<double> sa = seed_ref(a, e), sb = seed_ref(b, e);
        double norm = 0;
        for (int j = 0; j < K; ++j) norm += std::fabs(s[j]);
        EXPECT_GT(norm, 1e-3) << n;
        for (int j = 0; j < K; ++j) {
            EXPECT_NEAR(seed[n * K + j], s[j], 1e-5 + 1e-5 * std::fabs(s[j])) << n << "," << j;
            const double hu = (sa[j] - sb[j]) / (2 * h);
            EXPECT_NEAR(vjp[n * K + j], hu, 2e-4 + 1e-4 * std::fabs(hu)) << n << "," << j;
        }
    }
}

TEST(IsnetSelectiveCpu, TiesTakeTheFirstMinimumAndExtremesStayFinite) {
    // Row 0: the minimum 0 at columns 1 and 2: class 1 is explained (its seed entry is the positive one).
    // Row 1: logits 80 apart: q ~ e^-80, still finite (e bounds 1/(q + e)).
    const Tensor z = Tensor::from_vector(std::vector<float>{1.f, 0.f, 0.f, 2.f, 40.f, -40.f, 0.f, 3.f}, Shape{2, 4});
    const std::vector<float> s = ops::isnet_selective_seed(z, 0.01f).to_vector<float>();
    EXPECT_GT(s[1], 0.f);
    EXPECT_LT(s[2], 0.f);
    EXPECT_LT(s[0], 0.f);
    double sum = 0;
    for (int j = 0; j < 4; ++j) sum += s[j];
    EXPECT_NEAR(sum, 0.0, 1e-6);  // softmax gradients sum to 0
    for (float v : s) EXPECT_TRUE(std::isfinite(v));
    const std::vector<float> v =
        ops::isnet_selective_vjp(z, 0.01f, Tensor::from_vector(std::vector<float>(8, 1.f), Shape{2, 4})).to_vector<float>();
    for (float x : v) EXPECT_TRUE(std::isfinite(x));
    EXPECT_NEAR(v[0] + v[1] + v[2] + v[3], 0.0, 1e-5);  // u = 1 is the softmax's null direction
}

TEST(IsnetSelectiveCpu, Errors) {
    const Tensor z = Tensor::from_vector(std::vector<float>{1.f, 2.f}, Shape{1, 2});
    test::expect_error([&] { ops::isnet_selective_seed(z, 0.f); }, {"isnet_selective_seed", "eps must be positive"});
    test::expect_error([&] { ops::isnet_selective_seed(Tensor::zeros(Shape{2}), 0.1f); }, {"isnet_selective_seed"});
    test::expect_error([&] { ops::isnet_selective_vjp(z, 0.1f, Tensor::zeros(Shape{1, 3})); }, {"isnet_selective_vjp", "u"});
}

TEST(IsnetSelectiveCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const int N = 37, K = 10;
    const Tensor z = Tensor::from_vector(test::random_vec(N * K, 5, -3.f, 3.f), Shape{N, K});
    const Tensor u = Tensor::from_vector(test::random_vec(N * K, 6, -1.f, 1.f), Shape{N, K});
    for (const float e : {0.01f, 1e-7f}) {
        EXPECT_TRUE(test::all_close(ops::isnet_selective_seed(z.to(dev), e).to_vector<float>(),
                                    ops::isnet_selective_seed(z, e).to_vector<float>(), test::Tol{1e-6, 1e-5}))
            << e;
        EXPECT_TRUE(test::all_close(ops::isnet_selective_vjp(z.to(dev), e, u.to(dev)).to_vector<float>(),
                                    ops::isnet_selective_vjp(z, e, u).to_vector<float>(), test::Tol{1e-6, 1e-5}))
            << e;
    }
}
