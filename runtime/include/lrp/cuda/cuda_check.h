// Checking macros for CUDA runtime, cuBLAS and cuDNN calls and for kernel launches (CUDA builds only).
// On failure the pending error is consumed, then lrp::Error is thrown with file:line, the call and
// the library's error name and text.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "lrp/error.h"

namespace lrp {
[[noreturn]] void throw_cuda_error(const char* file, int line, const char* expr, cudaError_t e);
[[noreturn]] void throw_cublas_error(const char* file, int line, const char* expr, cublasStatus_t s);
[[noreturn]] void throw_cudnn_error(const char* file, int line, const char* expr, cudnnStatus_t s);
// After a launch: checks cudaGetLastError, and in synchronous debug mode also synchronises the stream.
void check_launch(const char* file, int line, const char* what, cudaStream_t stream);
}  // namespace lrp

#define LRP_CUDA_CHECK(expr)                                                          \
    do {                                                                              \
        cudaError_t lrp_e_ = (expr);                                                  \
        if (lrp_e_ != cudaSuccess) ::lrp::throw_cuda_error(__FILE__, __LINE__, #expr, lrp_e_); \
    } while (0)

#define LRP_CUBLAS_CHECK(expr)                                                        \
    do {                                                                              \
        cublasStatus_t lrp_s_ = (expr);                                               \
        if (lrp_s_ != CUBLAS_STATUS_SUCCESS) ::lrp::throw_cublas_error(__FILE__, __LINE__, #expr, lrp_s_); \
    } while (0)

#define LRP_CUDNN_CHECK(expr)                                                         \
    do {                                                                              \
        cudnnStatus_t lrp_s_ = (expr);                                                \
        if (lrp_s_ != CUDNN_STATUS_SUCCESS) ::lrp::throw_cudnn_error(__FILE__, __LINE__, #expr, lrp_s_); \
    } while (0)

// Use right after kernel<<<...>>>(...): LRP_CUDA_CHECK_LAUNCH("relu_fwd", stream);
#define LRP_CUDA_CHECK_LAUNCH(what, stream) ::lrp::check_launch(__FILE__, __LINE__, what, stream)
