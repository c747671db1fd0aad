// Cache-blocked SGEMM in the GotoBLAS style: op(B) is packed into KC x NC panels (L3), op(A) into
// MC x KC panels (L2), and a fixed-size MR x NR register-tile micro-kernel (auto-vectorised) runs over
// the packed panels. Edge tiles are zero-padded in the packs and clipped on write-back.
#include "gemm_blocked.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace lrp::kernels::cpu {
namespace {

constexpr int MR = 4;     // micro-tile rows
constexpr int NR = 8;     // micro-tile columns (two SSE vectors, one AVX vector)
constexpr int KC = 256;   // depth of a packed panel
constexpr int MC = 128;   // rows of packed A per block (multiple of MR)
constexpr int NC = 2048;  // columns of packed B per block (multiple of NR)

// Packs op(A)[i0 .. i0+mc, k0 .. k0+kc) as ceil(mc/MR) panels of kc x MR (row index fastest), zero-padded.
// Loops run along the stored rows of A so the reads are contiguous.
void pack_a(bool trans, const float* A, int64_t lda, int i0, int mc, int k0, int kc, float* dst) {
    for (int ip = 0; ip < mc; ip += MR) {
        const int rows = std::min(MR, mc - ip);
        float* panel = dst + static_cast<int64_t>(ip) * kc;
        if (rows < MR) std::fill(panel, panel + static_cast<int64_t>(kc) * MR, 0.f);
        if (!trans) {  // op(A)[r][c] = A[r * lda + c]
            for (int i = 0; i < rows; ++i) {
                const float* src = A + static_cast<int64_t>(i0 + ip + i) * lda + k0;
                for (int k = 0; k < kc; ++k) panel[k * MR + i] = src[k];
            }
        } else {  // op(A)[r][c] = A[c * lda + r]
            for (int k = 0; k < kc; ++k) {
                const float* src = A + static_cast<int64_t>(k0 + k) * lda + i0 + ip;
                for (int i = 0; i < rows; ++i) panel[k * MR + i] = src[i];
            }
        }
    }
}

// Packs op(B)[k0 .. k0+kc, j0 .. j0+nc) as ceil(nc/NR) panels of kc x NR (column index fastest), zero-padded.
void pack_b(bool trans, const float* B, int64_t ldb, int k0, int kc, int j0, int nc, float* dst) {
    for (int jp = 0; jp < nc; jp += NR) {
        const int cols = std::min(NR, nc - jp);
        float* panel = dst + static_cast<int64_t>(jp) * kc;
        if (cols < NR) std::fill(panel, panel + static_cast<int64_t>(kc) * NR, 0.f);
        if (!trans) {  // op(B)[r][c] = B[r * ldb + c]
            for (int k = 0; k < kc; ++k) {
                const float* src = B + static_cast<int64_t>(k0 + k) * ldb + j0 + jp;
                for (int j = 0; j < cols; ++j) panel[k * NR + j] = src[j];
            }
        } else {  // op(B)[r][c] = B[c * ldb + r]
            for (int j = 0; j < cols; ++j) {
                const float* src = B + static_cast<int64_t>(j0 + jp + j) * ldb + k0;
                for (int k = 0; k < kc; ++k) panel[k * NR + j] = src[k];
            }
        }
    }
}

// acc = sum_k a[k][0..MR) x b[k][0..NR); then C (rows x cols tile) += alpha * acc.
inline void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, float alpha, float* C,
                         int64_t ldc, int rows, int cols) {
    float acc[MR][NR] = {};
    for (int k = 0; k < kc; ++k) {
        const float* ak = a + k * MR;
        const float* bk = b + k * NR;
        for (int i = 0; i < MR; ++i)
            for (int j = 0; j < NR; ++j) acc[i][j] += ak[i] * bk[j];
    }
    for (int i = 0; i < rows; ++i) {
        float* c = C + i * ldc;
        for (int j = 0; j < cols; ++j) c[j] += alpha * acc[i][j];
    }
}

// C = beta * C without reading C when beta == 0.
void scale_c(int M, int N, float beta, float* C, int64_t ldc) {
    if (beta == 1.f) return;
    for (int i = 0; i < M; ++i) {
        float* c = C + i * ldc;
        if (beta == 0.f) std::fill(c, c + N, 0.f);
        else
            for (int j = 0; j < N; ++j) c[j] *= beta;
    }
}

}  // namespace

void gemm_blocked(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    scale_c(M, N, beta, C, ldc);
    if (K <= 0 || alpha == 0.f) return;

    const int kc_max = std::min(KC, K);
    const int mc_max = std::min(MC, (M + MR - 1) / MR * MR);
    const int nc_max = std::min(NC, (N + NR - 1) / NR * NR);
    std::vector<float> a_pack(static_cast<size_t>(mc_max) * kc_max);
    std::vector<float> b_pack(static_cast<size_t>(nc_max) * kc_max);

    for (int jc = 0; jc < N; jc += NC) {
        const int nc = std::min(NC, N - jc);
        for (int pc = 0; pc < K; pc += KC) {
            const int kc = std::min(KC, K - pc);
            pack_b(trans_b, B, ldb, pc, kc, jc, nc, b_pack.data());
            for (int ic = 0; ic < M; ic += MC) {
                const int mc = std::min(MC, M - ic);
                pack_a(trans_a, A, lda, ic, mc, pc, kc, a_pack.data());
                for (int jr = 0; jr < nc; jr += NR) {
                    const float* bp = b_pack.data() + static_cast<int64_t>(jr) * kc;
                    for (int ir = 0; ir < mc; ir += MR) {
                        const float* ap = a_pack.data() + static_cast<int64_t>(ir) * kc;
                        float* c = C + static_cast<int64_t>(ic + ir) * ldc + jc + jr;
                        micro_kernel(kc, ap, bp, alpha, c, ldc, std::min(MR, mc - ir), std::min(NR, nc - jr));
                    }
                }
            }
        }
    }
}

}  // namespace lrp::kernels::cpu
