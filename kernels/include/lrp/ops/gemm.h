// Checked front end for GEMM on 2-D fp32 tensors (row-major).
#pragma once
#include <string>

#include "lrp/tensor.h"

namespace lrp::ops {

// C = alpha op(A) op(B) + beta C; A, B, C 2-D; shapes checked. beta == 0 ignores C's contents.
void gemm(bool trans_a, bool trans_b, float alpha, const Tensor& A, const Tensor& B, float beta, const Tensor& C);
Tensor matmul(const Tensor& A, const Tensor& B, bool trans_a = false, bool trans_b = false);

// What computes the CPU kernels, as far as their rounding goes: the GEMM ("OpenBLAS <version> (core <kernels>, lrpcu
// tiles)", "CBLAS" for another library, or "lrpcu blocked GEMM") and the revision of lrpcu's own split of the work
// (", split v2"). OpenBLAS picks its kernels by CPU, so two runs agree bit for bit only where this string does.
std::string cpu_gemm_description();

// Threads of the CPU backend's own kernels (im2col, batch norm, elementwise, ...; not OpenBLAS's): LRP_CPU_THREADS,
// or the CPUs this process may use. Their results do not depend on it. Throws naming a bad LRP_CPU_THREADS,
// LRP_CPU_MIN_WORK or LRP_CPU_TILE_WORK, so a command can check them before it starts.
int cpu_kernel_threads();

}  // namespace lrp::ops
