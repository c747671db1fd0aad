// CUDA GEMM entry: cublasSgemm (FP32 compute; TF32 only when lrp::allow_tf32(), via the handle's math
// mode). Row-major C = op(A) op(B) is computed as column-major C^T = op(B)^T op(A)^T.
#include <algorithm>

#include "common.cuh"
#include "families.h"

namespace lrp::kernels::cuda {
namespace {

// C = beta * C over M x N (row stride ldc); beta == 0 writes zeros without reading C (NaN does not survive).
__global__ void scale_c_k(float* C, int64_t M, int64_t N, int64_t ldc, float beta) {
    LRP_CUDA_LOOP(i, M * N) {
        float& c = C[(i / N) * ldc + i % N];
        c = beta == 0.f ? 0.f : beta * c;
    }
}

void gemm(const Ctx& ctx, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    ctx.cuda->make_current();
    if (K <= 0) {  // an empty product: C = beta * C, as the CPU does (cuBLAS builds have skipped C here)
        const int64_t total = int64_t{M} * N;
        scale_c_k<<<grid_for(total), kBlock, 0, stream_of(ctx)>>>(C, M, N, ldc, beta);
        LRP_CUDA_CHECK_LAUNCH("gemm (K = 0)", stream_of(ctx));
        return;
    }
    cublasHandle_t h = ctx.cuda->cublas();  // bound to the context stream; math mode set from allow_tf32()
    // A row-major R x Cc matrix with row stride ld is, read column-major, its transpose (Cc x R, ld).
    // So the column-major product N x M = op(B)^T op(A)^T takes B first: with trans_b false the stored
    // B (K x N row-major) already reads as op(B)^T (N x K), hence CUBLAS_OP_N; likewise for A.
    // cuBLAS never reads C when beta == 0.
    LRP_CUBLAS_CHECK(cublasSgemm(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M,
                                 K, &alpha, B, std::max(ldb, 1), A, std::max(lda, 1), &beta, C, std::max(ldc, 1)));
}

}  // namespace

void register_gemm(OpTable& t) { t.gemm = gemm; }

}  // namespace lrp::kernels::cuda
