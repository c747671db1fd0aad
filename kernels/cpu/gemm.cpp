// CPU GEMM entry: OpenBLAS cblas_sgemm when the build found CBLAS (LRP_HAVE_CBLAS), otherwise lrpcu's own
// cache-blocked kernel (gemm_blocked.cpp); large products split into tiles over the CPU pool (parallel.h), fixed by
// the shape so results do not depend on the thread count. Also says which library computes.
#include <algorithm>
#include <string>

#include "families.h"
#include "gemm_blocked.h"
#include "parallel.h"
#include "lrp/config.h"
#include "lrp/ops/gemm.h"

#if LRP_HAVE_CBLAS
#include <cblas.h>
#endif

namespace lrp::kernels::cpu {
namespace {

void gemm_one(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
              int ldb, float beta, float* C, int ldc) {
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

// True when the GEMM library runs on the calling thread only and may be called from several threads at once: a
// threaded OpenBLAS (pthreads or OpenMP), held at one thread from here on, or the built-in kernel. lrpcu then splits
// C into tiles itself. A sequential OpenBLAS (which such calls may corrupt unless built with USE_LOCKING) and other
// CBLAS libraries get whole calls.
bool tiles_itself() {
#if LRP_HAVE_OPENBLAS_INFO
    static const bool threaded = [] {
        openblas_set_num_threads(1);
        return openblas_get_parallel() != 0;
    }();
    return threaded;
#else
    return !LRP_HAVE_CBLAS;
#endif
}

bool gemm_threads_itself() { return !LRP_HAVE_OPENBLAS_INFO && LRP_HAVE_CBLAS; }

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// C's tiles, from the shape alone (so each element is computed by the same call whatever the thread count: results
// are bit-identical on any number of threads): a product of 2 w multiply-adds or more (w = gemm_tile_work(), 2^24)
// splits along C's longer side into about w each, at least 64 columns or 16 rows, so that only the smaller operand
// is packed again per tile.
// (bench/results/2026-12-06-cpu-threads.md, 2 cores: 2-D tiles of 2^22 were slower than OpenBLAS's own threads,
// packing the larger operand again per tile; these were as fast or faster.)
void plan_tiles(int M, int N, int K, int& mb, int& nb) {
    const int64_t kTileWork = gemm_tile_work();
    mb = M;
    nb = N;
    const int64_t work = int64_t{M} * N * std::max(K, 1);
    if (work < 2 * kTileWork) return;
    const int64_t tiles = ceil_div(work, kTileWork);
    if (N >= M)
        nb = static_cast<int>(std::min<int64_t>(N, std::max<int64_t>(64, ceil_div(ceil_div(N, tiles), 16) * 16)));
    else
        mb = static_cast<int>(std::min<int64_t>(M, std::max<int64_t>(16, ceil_div(ceil_div(M, tiles), 16) * 16)));
}

void gemm(const Ctx&, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    int mb = M, nb = N;
    if (tiles_itself()) plan_tiles(M, N, K, mb, nb);
    const int64_t rows = ceil_div(M, mb), cols = ceil_div(N, nb);
    if (rows * cols == 1) {
        gemm_one(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    // A's row block i starts at row i*mb (column i*mb when transposed); B's column block j likewise.
    parallel_for(rows * cols, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t i = t / cols * mb, j = t % cols * nb;
            const float* a = trans_a ? A + i : A + i * lda;
            const float* b = trans_b ? B + j * ldb : B + j;
            gemm_one(trans_a, trans_b, static_cast<int>(std::min<int64_t>(mb, M - i)),
                     static_cast<int>(std::min<int64_t>(nb, N - j)), K, alpha, a, lda, b, ldb, beta, C + i * ldc + j,
                     ldc);
        }
    });
}

}  // namespace

void register_gemm(OpTable& t) { t.gemm = gemm; }

}  // namespace lrp::kernels::cpu

namespace lrp::ops {

// How lrpcu itself splits CPU work (GEMM tiles, convolution chunks and weight-gradient slices), which decides the
// rounding as much as the library does; bumped whenever a change to it changes results (v2, 2026-12-06: cache-sized
// convolution chunks).
constexpr const char* kCpuSplit = ", split v2";

// The split plus a GEMM tile size other than the default (LRP_CPU_TILE_WORK: other tiles round differently), so that
// a resumed run warns when it changed.
static std::string cpu_split() {
    const int64_t w = kernels::cpu::gemm_tile_work();
    return w == (int64_t{1} << 24) ? std::string(kCpuSplit) : kCpuSplit + (", tile work " + std::to_string(w));
}

std::string cpu_gemm_description() {
#if LRP_HAVE_OPENBLAS_INFO
    // openblas_get_config(): "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... MAX_THREADS=64": its name and version. Held
    // at one thread (tiles_itself), its thread count no longer enters the rounding.
    const bool tiles = kernels::cpu::tiles_itself();
    const std::string config = openblas_get_config();
    const size_t end = config.find(' ', config.find(' ') == std::string::npos ? 0 : config.find(' ') + 1);
    return config.substr(0, end) + " (core " + openblas_get_corename() + (tiles ? ", lrpcu tiles)" : ", one thread)") +
           cpu_split();
#elif LRP_HAVE_CBLAS
    return "CBLAS" + cpu_split();
#else
    return "lrpcu blocked GEMM (lrpcu tiles)" + cpu_split();
#endif
}

}  // namespace lrp::ops
