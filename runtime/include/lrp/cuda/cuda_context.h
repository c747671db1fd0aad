// CudaContext: one per CUDA device, created on first use after a successful probe. Owns the stream
// every op runs on, the caching allocator, lazily created cuBLAS/cuDNN handles bound to that stream,
// and a reusable workspace. CUDA builds only; kernels reach it through KernelCtx::cuda. One host thread
// at a time drives a context's ops: an op's launches share the workspace (and cuBLAS math mode) with no
// lock held between them, so two threads queueing ops on one context could interleave them.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <memory>
#include <mutex>
#include <vector>

#include "lrp/caching_allocator.h"
#include "lrp/device.h"

namespace lrp {

class CudaContext {
public:
    explicit CudaContext(int device);
    int device() const { return device_; }
    cudaStream_t stream() const { return stream_; }
    cublasHandle_t cublas();  // created on first use; math mode follows allow_tf32() at each call
    cudnnHandle_t cudnn();
    // Scratch memory of at least `bytes`, valid until the next workspace() call (stream-ordered reuse).
    // An outgrown block is kept, not freed, while any captured graph (allocator pool) is alive.
    void* workspace(size_t bytes);
    CachingAllocator& allocator() { return *alloc_; }
    void memset_zero(void* p, size_t bytes);
    void synchronize();
    void make_current() const;  // cudaSetDevice(device) if the calling thread is elsewhere

private:
    int device_;
    cudaStream_t stream_ = nullptr;
    std::unique_ptr<CachingAllocator> alloc_;
    std::mutex mu_;
    cublasHandle_t cublas_ = nullptr;
    cudnnHandle_t cudnn_ = nullptr;
    void* ws_ = nullptr;
    size_t ws_bytes_ = 0;
    std::vector<void*> retired_ws_;  // outgrown workspaces kept while a captured graph may use them
};

// The context of CUDA device `index` (must have passed require_device).
CudaContext& cuda_context(int index);

// Copy between host and device or device and device on the context stream; synchronous for D2H.
void cuda_copy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes);

}  // namespace lrp
