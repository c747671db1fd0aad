// lrpcu's own cache-blocked single-precision GEMM (the CPU GEMM backend when no CBLAS is found);
// always compiled so it is tested directly even when OpenBLAS serves the op table.
#pragma once

namespace lrp::kernels::cpu {

// Row-major C[M x N] = alpha * op(A) op(B) + beta * C; op(A) M x K, op(B) K x N; lda/ldb/ldc are the
// row strides of A, B, C as stored. beta == 0 never reads C; alpha == 0 or K == 0 never reads A or B.
void gemm_blocked(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace lrp::kernels::cpu
