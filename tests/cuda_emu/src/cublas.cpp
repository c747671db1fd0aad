// CUDA emulation (tests only): the cuBLAS calls lrpcu makes. Sgemm is column-major with cuBLAS's argument
// rules (leading dimensions, host-pointer alpha/beta, C unread when beta = 0), its operands bounds-checked
// against the emulated device allocations, and accumulated in double.
#include <cublas_v2.h>

#include <cstdio>
#include <string>

#include "lrp_emu/memory.h"
#include "lrp_emu/scheduler.h"

struct cublasContext {
    cudaStream_t stream = nullptr;
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {
// Column-major rows x cols with leading dimension ld: its last element lies at (cols - 1) * ld + rows - 1.
bool in_bounds(const float* p, int rows, int cols, int ld, const char* name) {
    const size_t bytes = (static_cast<size_t>(cols - 1) * ld + rows) * sizeof(float);
    const std::string bad = lrp_emu::check_range(p, bytes);
    if (bad.empty()) return true;
    std::fprintf(stderr, "lrp_emu: cublasSgemm: matrix %s (%d x %d, ld %d): %s\n", name, rows, cols, ld, bad.c_str());
    return false;
}
}  // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* h) {
    *h = new cublasContext;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->math = m;
    return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusName(cublasStatus_t s) {
    switch (s) {
        case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
        case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
        default: return "CUBLAS_STATUS_UNKNOWN";
    }
}
const char* cublasGetStatusString(cublasStatus_t s) { return cublasGetStatusName(s); }
cublasStatus_t cublasGetProperty(libraryPropertyType t, int* v) {
    *v = t == MAJOR_VERSION ? CUBLAS_VER_MAJOR : t == MINOR_VERSION ? CUBLAS_VER_MINOR : CUBLAS_VER_PATCH;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const float* alpha, const float* A, int lda, const float* B, int ldb,
                              const float* beta, float* C, int ldc) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    const bool at = ta != CUBLAS_OP_N, bt = tb != CUBLAS_OP_N;
    const int a_rows = at ? k : m, b_rows = bt ? n : k;
    if (m < 0 || n < 0 || k < 0 || lda < std::max(1, a_rows) || ldb < std::max(1, b_rows) || ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    const float al = *alpha, be = *beta;  // host pointer mode: read at the call
    if (k > 0 && (!in_bounds(A, a_rows, at ? m : k, lda, "A") || !in_bounds(B, b_rows, bt ? k : n, ldb, "B")))
        return CUBLAS_STATUS_EXECUTION_FAILED;
    if (!in_bounds(C, m, n, ldc, "C")) return CUBLAS_STATUS_EXECUTION_FAILED;
    const cudaError_t e = lrp_emu::enqueue_work(h->stream, [=]() {
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < m; ++i) {
                double acc = 0;
                for (int p = 0; p < k; ++p) {
                    const float a = at ? A[static_cast<size_t>(i) * lda + p] : A[static_cast<size_t>(p) * lda + i];
                    const float b = bt ? B[static_cast<size_t>(p) * ldb + j] : B[static_cast<size_t>(j) * ldb + p];
                    acc += static_cast<double>(a) * b;
                }
                float& c = C[static_cast<size_t>(j) * ldc + i];
                c = static_cast<float>(al * acc + (be == 0.f ? 0.0 : static_cast<double>(be) * c));
            }
        return cudaSuccess;
    });
    return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // extern "C"
