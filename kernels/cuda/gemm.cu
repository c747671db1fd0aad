// CUDA GEMM entry: cublasSgemm (FP32 compute; TF32 only when lrp::allow_tf32(), via the handle's math
// mode). Row-major C = op(A) op(B) is computed as column-major C^T = op(B)^T op(A)^T.
#include <algorithm>

#include "common.cuh"
#include "families.h"

namespace lrp::kernels::cuda {
namespace {

void gemm(const Ctx& ctx, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    ctx.cuda->make_current();
    cublasHandle_t h = ctx.cuda->cublas();  // bound to the context stream; math mode set from allow_tf32()
    // A row-major R x Cc matrix with row stride ld is, read column-major, its transpose (Cc x R, ld).
    // So the column-major product N x M = op(B)^T op(A)^T takes B first: with trans_b false the stored
    // B (K x N row-major) already reads as op(B)^T (N x K), hence CUBLAS_OP_N; likewise for A.
    // cuBLAS never reads C when beta == 0. Leading dimensions must be >= 1 even when K == 0.
    LRP_CUBLAS_CHECK(cublasSgemm(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M,
                                 K, &alpha, B, std::max(ldb, 1), A, std::max(lda, 1), &beta, C, std::max(ldc, 1)));
}

}  // namespace

void register_gemm(OpTable& t) { t.gemm = gemm; }

}  // namespace lrp::kernels::cuda
