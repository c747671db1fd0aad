// GEMM tests: the CPU table entry (OpenBLAS when built with it) and lrpcu's blocked kernel against a
// naive double reference (all transposes, alpha/beta, padded leading dimensions, NaN-poisoned C with
// beta = 0, exact integer cases), the front ends' checks, and CUDA (cuBLAS) against the CPU.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../kernels/cpu/gemm_blocked.h"
#include "lrp/kernels/ops.h"
#include "lrp/ops/gemm.h"
#include "test_util.h"

using namespace lrp;
using lrp::test::all_close;
using lrp::test::Tol;

namespace {

using GemmFn = std::function<void(bool, bool, int, int, int, float, const float*, int, const float*, int, float,
                                  float*, int)>;

GemmFn table_gemm() {
    return [](bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
              float beta, float* C, int ldc) {
        kernels::cpu_ops().gemm(kernel_ctx(Device::cpu()), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    };
}
GemmFn blocked_gemm() { return kernels::cpu::gemm_blocked; }

// Operands of one case: A stored (ta ? K x M : M x K) with row stride lda, B likewise, C M x ldc.
struct Case {
    bool ta, tb;
    int M, N, K, pad;  // pad: extra elements per row beyond the stored width
    float alpha, beta;
    int lda() const { return (ta ? M : K) + pad; }
    int ldb() const { return (tb ? K : N) + pad; }
    int ldc() const { return N + pad; }
    size_t a_size() const { return static_cast<size_t>(ta ? K : M) * lda(); }
    size_t b_size() const { return static_cast<size_t>(tb ? N : K) * ldb(); }
    size_t c_size() const { return static_cast<size_t>(M) * ldc(); }
    std::string str() const {
        return lrp::str("ta=", ta, " tb=", tb, " M=", M, " N=", N, " K=", K, " pad=", pad, " alpha=", alpha,
                        " beta=", beta);
    }
};

// The full C buffer (padding columns carried over from c0) in double.
std::vector<double> reference(const Case& c, const std::vector<float>& A, const std::vector<float>& B,
                              const std::vector<float>& c0) {
    std::vector<double> out(c0.begin(), c0.end());
    for (int i = 0; i < c.M; ++i)
        for (int j = 0; j < c.N; ++j) {
            double s = 0;
            for (int k = 0; k < c.K; ++k) {
                double a = c.ta ? A[static_cast<size_t>(k) * c.lda() + i] : A[static_cast<size_t>(i) * c.lda() + k];
                double b = c.tb ? B[static_cast<size_t>(j) * c.ldb() + k] : B[static_cast<size_t>(k) * c.ldb() + j];
                s += a * b;
            }
            double& o = out[static_cast<size_t>(i) * c.ldc() + j];
            o = c.alpha * s + (c.beta == 0.f ? 0.0 : c.beta * o);
        }
    return out;
}

Tol gemm_tol(int K) { return Tol{1e-5, std::max(1e-4, 1e-5 * std::sqrt(double(K))), 1e-8, false}; }

// Runs `fn` on random operands (C NaN-poisoned when beta == 0) and compares all of C, padding included.
void check_case(const GemmFn& fn, const Case& c, uint32_t seed) {
    SCOPED_TRACE(c.str() + " seed=" + std::to_string(seed));
    auto A = test::random_vec(c.a_size(), seed);
    auto B = test::random_vec(c.b_size(), seed + 1);
    auto C = test::random_vec(c.c_size(), seed + 2);
    if (c.beta == 0.f)
        for (int i = 0; i < c.M; ++i)
            for (int j = 0; j < c.N; ++j)
                C[static_cast<size_t>(i) * c.ldc() + j] = std::numeric_limits<float>::quiet_NaN();
    auto ref = reference(c, A, B, C);
    fn(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), c.lda(), B.data(), c.ldb(), c.beta, C.data(), c.ldc());
    Tol tol = gemm_tol(c.K);
    tol.allow_zero_ref = c.K == 0 && c.beta == 0.f;
    EXPECT_TRUE(all_close(C, ref, tol));
}

void check_grid(const GemmFn& fn) {
    const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 70}, {130, 67, 300}, {5, 2100, 3}, {3, 4, 0}};
    const float ab[][2] = {{1.f, 0.f}, {0.5f, -1.5f}, {-2.f, 1.f}};
    uint32_t seed = 100;
    for (auto& s : shapes)
        for (int t = 0; t < 4; ++t)
            for (auto& a : ab)
                for (int pad : {0, 3})
                    check_case(fn, Case{bool(t & 1), bool(t & 2), s[0], s[1], s[2], pad, a[0], a[1]}, seed++);
}

// Integer operands in [-4, 4]: every product and partial sum is exact in fp32, so results are bitwise.
void check_exact(const GemmFn& fn) {
    for (int t = 0; t < 4; ++t) {
        Case c{bool(t & 1), bool(t & 2), 9, 11, 40, 2, 1.f, 0.f};
        SCOPED_TRACE(c.str());
        auto ai = test::random_ints(c.a_size(), 7 + t, -4, 4), bi = test::random_ints(c.b_size(), 17 + t, -4, 4);
        std::vector<float> A(ai.begin(), ai.end()), B(bi.begin(), bi.end());
        std::vector<float> C(c.c_size(), std::numeric_limits<float>::quiet_NaN());
        auto ref = reference(c, A, B, C);
        fn(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), c.lda(), B.data(), c.ldb(), c.beta, C.data(), c.ldc());
        EXPECT_TRUE(all_close(C, ref, Tol{0, 0, 0, false}));
    }
}

using lrp::test::expect_error;

}  // namespace

TEST(GemmCpu, TableMatchesReference) { check_grid(table_gemm()); }
TEST(GemmCpu, BlockedMatchesReference) { check_grid(blocked_gemm()); }
TEST(GemmCpu, TableExactIntegers) { check_exact(table_gemm()); }
TEST(GemmCpu, BlockedExactIntegers) { check_exact(blocked_gemm()); }

TEST(GemmCpu, FrontEndMatmulAndGemm) {
    auto a = test::random_vec(6 * 4, 1), b = test::random_vec(4 * 5, 2);
    Tensor A = Tensor::from_vector(a, Shape{6, 4}), B = Tensor::from_vector(b, Shape{4, 5});
    Tensor C = ops::matmul(A, B);
    ASSERT_EQ(C.shape(), (Shape{6, 5}));
    Case c{false, false, 6, 5, 4, 0, 1.f, 0.f};
    std::vector<float> c0(30, 0.f);
    EXPECT_TRUE(all_close(C.to_vector<float>(), reference(c, a, b, c0), gemm_tol(4)));
    // C^T = B^T A^T through the transpose flags: (5 x 4)(4 x 6) with both operands stored untransposed.
    Tensor Ct = Tensor::from_vector(std::vector<float>(30, 7.f), Shape{5, 6});
    ops::gemm(true, true, 1.f, B, A, 0.f, Ct);
    auto ct = Ct.to_vector<float>(), cv = C.to_vector<float>();
    for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 5; ++j) EXPECT_NEAR(ct[j * 6 + i], cv[i * 5 + j], 1e-5);
}

TEST(GemmCpu, FrontEndErrors) {
    Tensor A = Tensor::zeros(Shape{3, 4}), B = Tensor::zeros(Shape{5, 2}), C = Tensor::zeros(Shape{3, 2});
    expect_error([&] { ops::matmul(A, B); }, {"matmul", "inner dimensions", "[3, 4]", "[5, 2]"});
    expect_error([&] { ops::gemm(false, true, 1.f, A, Tensor::zeros(Shape{2, 4}), 0.f, Tensor::zeros(Shape{3, 3})); },
                 {"gemm", "'C'", "[3, 3]", "expected [3, 2]"});
    expect_error([&] { ops::matmul(Tensor::zeros(Shape{3, 4, 1}), B); }, {"matmul", "'A'", "2 dims"});
    expect_error([&] { ops::matmul(A, Tensor::zeros(Shape{4, 2}, DType::F64)); }, {"matmul", "'B'", "f64"});
    expect_error([&] { ops::gemm(false, false, 1.f, A, Tensor(), 0.f, C); }, {"gemm", "'B'", "undefined"});
}

TEST(GemmCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const bool tf32 = allow_tf32();
    set_allow_tf32(false);
    const Device dev = Device::cuda(0);
    const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 70}, {129, 65, 301}, {3, 4, 0}};
    const float ab[][2] = {{1.f, 0.f}, {0.5f, -1.5f}};
    uint32_t seed = 500;
    for (auto& s : shapes)
        for (int t = 0; t < 4; ++t)
            for (auto& a : ab)
                for (int pad : {0, 3}) {
                    Case c{bool(t & 1), bool(t & 2), s[0], s[1], s[2], pad, a[0], a[1]};
                    SCOPED_TRACE(c.str());
                    auto A = test::random_vec(c.a_size(), seed++), B = test::random_vec(c.b_size(), seed++);
                    auto C = test::random_vec(c.c_size(), seed++);
                    if (c.beta == 0.f) std::fill(C.begin(), C.end(), std::numeric_limits<float>::quiet_NaN());
                    if (A.empty()) A.push_back(1.f);  // K == 0: never read, but keep the allocations non-empty
                    if (B.empty()) B.push_back(1.f);
                    std::vector<float> cpu = C;
                    table_gemm()(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), c.lda(), B.data(), c.ldb(), c.beta,
                                 cpu.data(), c.ldc());
                    Tensor dA = Tensor::from_vector(A, Shape{int64_t(A.size())}, dev);
                    Tensor dB = Tensor::from_vector(B, Shape{int64_t(B.size())}, dev);
                    test::Guarded<float> dC(dev, C);
                    kernels::cuda_ops().gemm(kernel_ctx(dev), c.ta, c.tb, c.M, c.N, c.K, c.alpha, dA.data<float>(),
                                             c.lda(), dB.data<float>(), c.ldb(), c.beta, dC.ptr(), c.ldc());
                    Tol tol = gemm_tol(c.K);
                    tol.allow_zero_ref = c.K == 0 && c.beta == 0.f;
                    // Padding columns stay as they were (NaN where poisoned: NaN parity checks them).
                    EXPECT_TRUE(all_close(dC.read(), cpu, tol));
                    EXPECT_TRUE(dC.guards_intact());
                }
    set_allow_tf32(tf32);
}

TEST(GemmCuda, ExactIntegersBitwise) {
    LRP_SKIP_WITHOUT_CUDA();
    const bool tf32 = allow_tf32();
    set_allow_tf32(false);
    const Device dev = Device::cuda(0);
    for (int t = 0; t < 4; ++t) {
        Case c{bool(t & 1), bool(t & 2), 9, 11, 40, 2, 1.f, 0.f};
        SCOPED_TRACE(c.str());
        auto ai = test::random_ints(c.a_size(), 7 + t, -4, 4), bi = test::random_ints(c.b_size(), 17 + t, -4, 4);
        std::vector<float> A(ai.begin(), ai.end()), B(bi.begin(), bi.end());
        std::vector<float> C(c.c_size(), std::numeric_limits<float>::quiet_NaN());
        auto ref = reference(c, A, B, C);
        Tensor dA = Tensor::from_vector(A, Shape{int64_t(A.size())}, dev);
        Tensor dB = Tensor::from_vector(B, Shape{int64_t(B.size())}, dev);
        test::Guarded<float> dC(dev, C);
        kernels::cuda_ops().gemm(kernel_ctx(dev), c.ta, c.tb, c.M, c.N, c.K, 1.f, dA.data<float>(), c.lda(),
                                 dB.data<float>(), c.ldb(), 0.f, dC.ptr(), c.ldc());
        EXPECT_TRUE(all_close(dC.read(), ref, Tol{0, 0, 0, false}));
        EXPECT_TRUE(dC.guards_intact());
    }
    set_allow_tf32(tf32);
}

TEST(GemmCuda, FrontEndMatmulMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    auto a = test::random_vec(37 * 19, 3), b = test::random_vec(23 * 19, 4);
    Tensor A = Tensor::from_vector(a, Shape{37, 19}), B = Tensor::from_vector(b, Shape{23, 19});
    Tensor ref = ops::matmul(A, B, false, true);
    Tensor got = ops::matmul(A.to(dev), B.to(dev), false, true);
    EXPECT_EQ(got.device(), dev);
    EXPECT_TRUE(all_close(got.to_vector<float>(), ref.to_vector<float>(), gemm_tol(19)));
    expect_error([&] { ops::matmul(A, B.to(dev), false, true); }, {"matmul", "'B'", "cuda:0", "expected cpu"});
}
