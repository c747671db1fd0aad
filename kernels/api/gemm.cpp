// Checked front ends for GEMM on 2-D fp32 tensors (row-major, contiguous): gemm (C = alpha op(A) op(B)
// + beta C) and matmul (a new C). Shapes, dtypes and devices are checked here once.
#include <algorithm>
#include <climits>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"
#include "lrp/ops/gemm.h"

namespace lrp::ops {
namespace {

struct GemmDims {
    int M, N, K;
};

// Checks A, B (and C when defined) and returns op(A) op(B)'s dimensions.
GemmDims check_operands(const char* op, bool trans_a, bool trans_b, const Tensor& A, const Tensor& B) {
    check_defined(op, "A", A);
    check_defined(op, "B", B);
    check_dtype(op, "A", A, DType::F32);
    check_dtype(op, "B", B, DType::F32);
    check_ndim(op, "A", A, 2);
    check_ndim(op, "B", B, 2);
    check_device(op, "B", B, A.device());
    const int64_t M = trans_a ? A.dim(1) : A.dim(0), Ka = trans_a ? A.dim(0) : A.dim(1);
    const int64_t Kb = trans_b ? B.dim(1) : B.dim(0), N = trans_b ? B.dim(0) : B.dim(1);
    LRP_CHECK(Ka == Kb, op, ": inner dimensions differ: op(A) is ", M, " x ", Ka, " (A ", A.shape().str(),
              trans_a ? " transposed" : "", "), op(B) is ", Kb, " x ", N, " (B ", B.shape().str(),
              trans_b ? " transposed" : "", ")");
    LRP_CHECK(A.dim(0) <= INT_MAX && A.dim(1) <= INT_MAX && B.dim(0) <= INT_MAX && B.dim(1) <= INT_MAX, op,
              ": dimensions exceed the int range: A ", A.shape().str(), ", B ", B.shape().str());
    return {static_cast<int>(M), static_cast<int>(N), static_cast<int>(Ka)};
}

}  // namespace

void gemm(bool trans_a, bool trans_b, float alpha, const Tensor& A, const Tensor& B, float beta, const Tensor& C) {
    const GemmDims g = check_operands("gemm", trans_a, trans_b, A, B);
    check_dtype("gemm", "C", C, DType::F32);
    check_shape("gemm", "C", C, Shape{g.M, g.N});
    check_device("gemm", "C", C, A.device());
    if (g.M == 0 || g.N == 0) return;
    LRP_NVTX_RANGE("gemm");
    // Leading dimensions of contiguous row-major storage: the stored widths (at least 1 for BLAS).
    const int lda = static_cast<int>(std::max<int64_t>(A.dim(1), 1));
    const int ldb = static_cast<int>(std::max<int64_t>(B.dim(1), 1));
    LRP_OP(A.device(), gemm)(kernel_ctx(A.device()), trans_a, trans_b, g.M, g.N, g.K, alpha, A.data<float>(), lda,
                             B.data<float>(), ldb, beta, C.data<float>(), g.N);
}

Tensor matmul(const Tensor& A, const Tensor& B, bool trans_a, bool trans_b) {
    const GemmDims g = check_operands("matmul", trans_a, trans_b, A, B);
    Tensor C = Tensor::empty(Shape{g.M, g.N}, DType::F32, A.device());
    gemm(trans_a, trans_b, 1.f, A, B, 0.f, C);
    return C;
}

}  // namespace lrp::ops
