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

// The OPENBLAS_CORETYPE for this CPU when OpenBLAS, not knowing it, fell back to its generic Prescott kernels
// ("SkylakeX" with AVX-512, "Haswell" with AVX2 + FMA), else "" (a core of its own choice, or no OpenBLAS).
std::string openblas_core_override();
// Called first thing in main(): when openblas_core_override() names a core and OPENBLAS_CORETYPE is unset, sets it
// and re-executes the program (/proc/self/exe, the same arguments), since OpenBLAS reads it only as it loads.
// Returns when there is nothing to do, or (with a warning) when the restart failed.
void reexec_for_openblas_core(char** argv);

// Threads of the CPU backend's own kernels (im2col, batch norm, elementwise, ...; not OpenBLAS's): LRP_CPU_THREADS,
// or the CPUs this process may use. Their results do not depend on it. Throws naming a bad LRP_CPU_THREADS,
// LRP_CPU_MIN_WORK or LRP_CPU_TILE_WORK, so a command can check them before it starts.
int cpu_kernel_threads();

}  // namespace lrp::ops
