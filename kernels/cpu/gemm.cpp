// CPU GEMM entry: OpenBLAS cblas_sgemm when the build found CBLAS (LRP_HAVE_CBLAS), otherwise lrpcu's
// own cache-blocked kernel (gemm_blocked.cpp). This file is the CPU GEMM backend selection.
#include <algorithm>

#include "families.h"
#include "gemm_blocked.h"
#include "lrp/config.h"

#if LRP_HAVE_CBLAS
#include <cblas.h>
#endif

namespace lrp::kernels::cpu {
namespace {

void gemm(const Ctx&, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
#if LRP_HAVE_CBLAS
    if (K > 0) {
        // BLAS rejects leading dimensions below 1 even where they are never used.
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N,
                    K, alpha, A, std::max(lda, 1), B, std::max(ldb, 1), beta, C, std::max(ldc, 1));
        return;
    }
    // K == 0: C = beta * C (some BLAS builds skip the beta pass or reject lda = 0); handled below.
#endif
    gemm_blocked(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

void register_gemm(OpTable& t) { t.gemm = gemm; }

}  // namespace lrp::kernels::cpu
