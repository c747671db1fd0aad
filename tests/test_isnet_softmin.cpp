// Selective ISNet in the LRP Block's form (ops::isnet_selective_seed / _vjp with kIsnetSelectiveSoftmin): the seed's
// gradient pass through the last linear layer gives its input the relevance of the authors' LRPClassSelectiveOutputLayer
// (mode lowest), written here from their code in double; J^T g against central differences of that reference; ties,
// extreme logits; CUDA equals the CPU.
#include <cmath>
#include <vector>

#include "lrp/ops/isnet_loss.h"
#include "lrp_test_util.h"
#include "test_util.h"

using namespace lrp;
using lrp::kernels::kIsnetSelectiveSoftmin;

namespace {

double sgn0(double v) { return v >= 0 ? 1.0 : -1.0; }

// The authors' output rule for one row z of logits, as the seed u with a (W^T u) = RJ for any last layer: the
// difference layer's rows are w_c - w_k, so sum_k s_k (w_c - w_k) = W^T u with u_c = sum_k s_k, u_k = -s_k.
std::vector<double> seed_ref(const std::vector<double>& z, double e) {
    const size_t K = z.size();
    size_t c = 0;
    for (size_t j = 1; j < K; ++j)
        if (z[j] < z[c]) c = j;
    std::vector<double> Z(K), eZ(K), u(K, 0.0);
    double denom = 0;
    for (size_t k = 0; k < K; ++k) Z[k] = z[c] - z[k], eZ[k] = std::exp(-Z[k]), denom += eZ[k];
    denom -= 1;                    // e^0 of k = c
    denom += 1e-5 * sgn0(denom);   // stabilizer(denom, e=1e-5)
    for (size_t k = 0; k < K; ++k) {
        const double R = Z[k] * eZ[k] / denom;
        const double s = R / (Z[k] + e * sgn0(Z[k]));  // LRPDenseReLU, rule e, aK = Z
        u[c] += s, u[k] -= s;
    }
    return u;
}

}  // namespace

// A last layer W, b on an input a: a (W^T u) with lrpcu's seed equals the authors' RJ = a (sum_k s_k (w_c - w_k)),
// computed from the difference layer itself.
TEST(IsnetSoftminCpu, SeedGivesTheLrpBlocksRelevance) {
    const int K = 5, D = 7;
    const std::vector<float> W = test::random_vec(K * D, 31, -1.f, 1.f), b = test::random_vec(K, 32, -0.5f, 0.5f),
                             a = test::random_vec(D, 33, 0.f, 2.f);
    std::vector<float> z(K);
    for (int k = 0; k < K; ++k) {
        double v = b[k];
        for (int j = 0; j < D; ++j) v += double(W[k * D + j]) * a[j];
        z[k] = static_cast<float>(v);
    }
    const double e = 0.01;
    const std::vector<float> u = ops::isnet_selective_seed(Tensor::from_vector(z, Shape{1, K}), 0.01f,
                                                           kIsnetSelectiveSoftmin).to_vector<float>();
    // The authors' steps: Zcc' through the difference layer (w_c - w_k) a + (b_c - b_k), then RJ.
    int c = 0;
    for (int k = 1; k < K; ++k)
        if (z[k] < z[c]) c = k;
    std::vector<double> Z(K), eZ(K);
    double denom = -1;
    for (int k = 0; k < K; ++k) {
        double v = double(b[c]) - b[k];
        for (int j = 0; j < D; ++j) v += (double(W[c * D + j]) - W[k * D + j]) * a[j];
        Z[k] = v, eZ[k] = std::exp(-v), denom += eZ[k];
    }
    denom += 1e-5 * sgn0(denom);
    double norm = 0;
    for (int j = 0; j < D; ++j) {
        double RJ = 0, mine = 0;
        for (int k = 0; k < K; ++k) {
            const double s = Z[k] * eZ[k] / denom / (Z[k] + e * sgn0(Z[k]));
            RJ += a[j] * s * (double(W[c * D + j]) - W[k * D + j]);
            mine += a[j] * double(W[k * D + j]) * u[k];
        }
        EXPECT_NEAR(mine, RJ, 1e-5 + 1e-5 * std::fabs(RJ)) << j;
        norm += std::fabs(RJ);
    }
    EXPECT_GT(norm, 1e-2);
}

TEST(IsnetSoftminCpu, SeedAndVjpMatchTheReference) {
    const int N = 4, K = 6;
    const float e = 0.01f;
    const std::vector<float> zv = test::random_vec(N * K, 21, -2.f, 2.f), gv = test::random_vec(N * K, 22, -1.f, 1.f);
    const Tensor z = Tensor::from_vector(zv, Shape{N, K}), g = Tensor::from_vector(gv, Shape{N, K});
    const std::vector<float> seed = ops::isnet_selective_seed(z, e, kIsnetSelectiveSoftmin).to_vector<float>();
    const std::vector<float> vjp = ops::isnet_selective_vjp(z, e, g, kIsnetSelectiveSoftmin).to_vector<float>();
    for (int n = 0; n < N; ++n) {
        const std::vector<double> row(zv.begin() + n * K, zv.begin() + (n + 1) * K);
        const std::vector<double> u = seed_ref(row, e);
        double sum = 0, norm = 0;
        for (int j = 0; j < K; ++j) {
            EXPECT_NEAR(seed[n * K + j], u[j], 1e-6 + 1e-5 * std::fabs(u[j])) << n << "," << j;
            sum += seed[n * K + j], norm += std::fabs(u[j]);
        }
        EXPECT_GT(norm, 1e-2) << n;
        EXPECT_NEAR(sum, 0.0, 1e-6) << n;  // the differences' rows sum to 0: sum_j u_j = 0
        // (J^T g)_j = d (g . u) / dz_j by central differences.
        for (int j = 0; j < K; ++j) {
            const double h = 1e-5;
            std::vector<double> p = row, m = row;
            p[j] += h, m[j] -= h;
            const std::vector<double> up = seed_ref(p, e), um = seed_ref(m, e);
            double d = 0;
            for (int i = 0; i < K; ++i) d += gv[n * K + i] * (up[i] - um[i]) / (2 * h);
            EXPECT_NEAR(vjp[n * K + j], d, 2e-5 + 1e-4 * std::fabs(d)) << n << "," << j;
        }
    }
}

TEST(IsnetSoftminCpu, TiesAndExtremes) {
    // Row 0: the minimum 0 at columns 1 and 2: class 1 is explained, and the tie (Z = 0) gets no relevance.
    // Row 1: logits 80 apart: e^80 overflows no float in the shifted form; seed and vjp stay finite.
    const Tensor z = Tensor::from_vector(std::vector<float>{1.f, 0.f, 0.f, 2.f, 40.f, -40.f, 0.f, 3.f}, Shape{2, 4});
    const std::vector<float> s = ops::isnet_selective_seed(z, 0.01f, kIsnetSelectiveSoftmin).to_vector<float>();
    EXPECT_GT(s[1], 0.f);
    EXPECT_EQ(s[2], 0.f);
    EXPECT_LT(s[0], 0.f);
    EXPECT_LT(s[3], 0.f);
    for (float v : s) EXPECT_TRUE(std::isfinite(v));
    EXPECT_NEAR(s[4] + s[5] + s[6] + s[7], 0.0, 1e-6);
    EXPECT_GT(s[5], 0.f);
    const std::vector<float> v = ops::isnet_selective_vjp(z, 0.01f, test::rand_tensor({2, 4}, 3, -1.f, 1.f),
                                                          kIsnetSelectiveSoftmin).to_vector<float>();
    for (float x : v) EXPECT_TRUE(std::isfinite(x));
    test::expect_error([&] { ops::isnet_selective_seed(z, 0.01f, 7); }, {"isnet_selective_seed", "unknown selective form 7"});
}

TEST(IsnetSoftminCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const int N = 37, K = 10;
    const Tensor z = Tensor::from_vector(test::random_vec(N * K, 5, -3.f, 3.f), Shape{N, K});
    const Tensor g = Tensor::from_vector(test::random_vec(N * K, 6, -1.f, 1.f), Shape{N, K});
    EXPECT_TRUE(test::all_close(ops::isnet_selective_seed(z.to(dev), 0.01f, kIsnetSelectiveSoftmin).to_vector<float>(),
                                ops::isnet_selective_seed(z, 0.01f, kIsnetSelectiveSoftmin).to_vector<float>(),
                                test::Tol{1e-6, 1e-5}));
    EXPECT_TRUE(test::all_close(ops::isnet_selective_vjp(z.to(dev), 0.01f, g.to(dev), kIsnetSelectiveSoftmin)
                                    .to_vector<float>(),
                                ops::isnet_selective_vjp(z, 0.01f, g, kIsnetSelectiveSoftmin).to_vector<float>(),
                                test::Tol{1e-6, 1e-5}));
}
