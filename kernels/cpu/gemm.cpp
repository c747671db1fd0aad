// CPU GEMM entry: OpenBLAS cblas_sgemm when the build found CBLAS (LRP_HAVE_CBLAS), otherwise lrpcu's
// own cache-blocked kernel (gemm_blocked.cpp). This file is the CPU GEMM backend selection (and says which it is).
#include <algorithm>
#include <string>

#include "families.h"
#include "gemm_blocked.h"
#include "lrp/config.h"
#include "lrp/ops/gemm.h"

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

namespace lrp::ops {

std::string cpu_gemm_description() {
#if LRP_HAVE_OPENBLAS_INFO
    // openblas_get_config(): "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... MAX_THREADS=64": its name and version.
    const std::string config = openblas_get_config();
    const size_t end = config.find(' ', config.find(' ') == std::string::npos ? 0 : config.find(' ') + 1);
    const int threads = openblas_get_num_threads();
    return config.substr(0, end) + " (core " + openblas_get_corename() + ", " + std::to_string(threads) +
           (threads == 1 ? " thread)" : " threads)");
#elif LRP_HAVE_CBLAS
    return "CBLAS";
#else
    return "lrpcu blocked GEMM";
#endif
}

}  // namespace lrp::ops
