// Checked front end for GEMM on 2-D fp32 tensors (row-major).
#pragma once
#include "lrp/tensor.h"

namespace lrp::ops {

// C = alpha op(A) op(B) + beta C; A, B, C 2-D; shapes checked. beta == 0 ignores C's contents.
void gemm(bool trans_a, bool trans_b, float alpha, const Tensor& A, const Tensor& B, float beta, const Tensor& C);
Tensor matmul(const Tensor& A, const Tensor& B, bool trans_a = false, bool trans_b = false);

}  // namespace lrp::ops
