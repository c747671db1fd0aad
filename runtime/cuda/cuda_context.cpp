// CudaContext implementation and the CUDA/cuBLAS/cuDNN error formatting (compiled in CUDA builds only).
#include "lrp/cuda/cuda_context.h"

#include <array>

#include "lrp/context.h"
#include "lrp/cuda/cuda_check.h"
#include "lrp/log.h"

namespace lrp {

void throw_cuda_error(const char* file, int line, const char* expr, cudaError_t e) {
    (void)cudaGetLastError();  // consume the pending error so the next check does not see it again
    throw_error(file, line, expr, str(cudaGetErrorName(e), ": ", cudaGetErrorString(e)));
}

void throw_cublas_error(const char* file, int line, const char* expr, cublasStatus_t s) {
    throw_error(file, line, expr, str("cuBLAS ", cublasGetStatusName(s), ": ", cublasGetStatusString(s)));
}

void throw_cudnn_error(const char* file, int line, const char* expr, cudnnStatus_t s) {
    throw_error(file, line, expr, str("cuDNN: ", cudnnGetErrorString(s)));
}

void check_launch(const char* file, int line, const char* what, cudaStream_t stream) {
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) throw_cuda_error(file, line, what, e);
    if (cuda_sync_debug()) {
        e = cudaStreamSynchronize(stream);
        if (e != cudaSuccess) throw_cuda_error(file, line, what, e);
    }
}

namespace {
// Relaxed stream-capture mode for this thread while it lives: a cudaMalloc (a cache miss of the allocator)
// inside a graph capture then neither fails nor invalidates the capture, as PyTorch's allocator does it; the
// graph keeps the new address (the allocator never frees it while a capture is open).
struct RelaxedCaptureMode {
    cudaStreamCaptureMode prev = cudaStreamCaptureModeRelaxed;
    RelaxedCaptureMode() { LRP_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&prev)); }
    ~RelaxedCaptureMode() { (void)cudaThreadExchangeStreamCaptureMode(&prev); }
    RelaxedCaptureMode(const RelaxedCaptureMode&) = delete;
    RelaxedCaptureMode& operator=(const RelaxedCaptureMode&) = delete;
};
}  // namespace

CudaContext::CudaContext(int device) : device_(device) {
    int cur = -1;  // the stream is created on device_; the caller's current device is restored
    LRP_CUDA_CHECK(cudaGetDevice(&cur));
    LRP_CUDA_CHECK(cudaSetDevice(device_));
    LRP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    if (cur != device_) LRP_CUDA_CHECK(cudaSetDevice(cur));
    int dev = device_;
    alloc_ = std::make_unique<CachingAllocator>(
        str("cuda:", device_),
        [dev](size_t n) -> void* {
            void* p = nullptr;
            const RelaxedCaptureMode relaxed;
            int cur = -1;  // allocate on `dev`, then restore the caller's current device
            LRP_CUDA_CHECK(cudaGetDevice(&cur));
            if (cur != dev) LRP_CUDA_CHECK(cudaSetDevice(dev));
            cudaError_t e = cudaMalloc(&p, n);
            if (cur != dev) LRP_CUDA_CHECK(cudaSetDevice(cur));
            if (e == cudaErrorMemoryAllocation) {
                (void)cudaGetLastError();
                return nullptr;
            }
            if (e != cudaSuccess) throw_cuda_error(__FILE__, __LINE__, "cudaMalloc", e);
            return p;
        },
        [](void* p) {
            cudaError_t e = cudaFree(p);
            if (e != cudaSuccess) log_error("cudaFree failed: ", cudaGetErrorString(e));
        });
}

void CudaContext::make_current() const {
    int cur = -1;
    LRP_CUDA_CHECK(cudaGetDevice(&cur));
    if (cur != device_) LRP_CUDA_CHECK(cudaSetDevice(device_));
}

cublasHandle_t CudaContext::cublas() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!cublas_) {
        make_current();
        LRP_CUBLAS_CHECK(cublasCreate(&cublas_));
        LRP_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    }
    LRP_CUBLAS_CHECK(cublasSetMathMode(cublas_, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    return cublas_;
}

cudnnHandle_t CudaContext::cudnn() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!cudnn_) {
        make_current();
        LRP_CUDNN_CHECK(cudnnCreate(&cudnn_));
        LRP_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
    }
    return cudnn_;
}

void* CudaContext::workspace(size_t bytes) {
    std::lock_guard<std::mutex> lk(mu_);
    if (bytes > ws_bytes_) {
        // The new block first: if that fails, the old one stays the workspace (nothing dangles).
        void* fresh = nullptr;
        try {
            fresh = alloc_->allocate(bytes);
        } catch (const Error&) {
            if (!ws_ || alloc_->live_pools() > 0) throw;
            alloc_->deallocate(ws_);  // out of memory: the old block's memory too, then once more
            ws_ = nullptr;
            ws_bytes_ = 0;
            fresh = alloc_->allocate(bytes);
        }
        // Stream-ordered: the old block is safe to hand out again on the same stream, unless a captured
        // graph replays kernels that use it; then it waits until no graph is left.
        if (ws_) retired_ws_.push_back(ws_);
        if (alloc_->live_pools() == 0) {
            for (void* p : retired_ws_) alloc_->deallocate(p);
            retired_ws_.clear();
        }
        ws_ = fresh;
        ws_bytes_ = bytes;
    }
    return ws_;
}

void CudaContext::memset_zero(void* p, size_t bytes) {
    make_current();
    LRP_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
}

void CudaContext::synchronize() { LRP_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

CudaContext& cuda_context(int index) {
    static std::mutex mu;
    static std::array<CudaContext*, 64> ctx{};  // process lifetime, never destroyed (driver teardown order)
    LRP_CHECK(index >= 0 && index < 64, "CUDA device index ", index, " out of range");
    std::lock_guard<std::mutex> lk(mu);
    if (!ctx[index]) ctx[index] = new CudaContext(index);
    return *ctx[index];
}

void cuda_copy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
    Device gpu = dd.is_cuda() ? dd : sd;
    require_device(gpu);
    if (dd.is_cuda()) require_device(dd);
    if (sd.is_cuda()) require_device(sd);
    CudaContext& c = cuda_context(gpu.index);
    c.make_current();
    cudaMemcpyKind kind = dd.is_cpu() ? cudaMemcpyDeviceToHost
                          : sd.is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice;
    if (dd.is_cuda() && sd.is_cuda() && dd.index != sd.index) {
        // Cross-device: the copy runs on the destination's stream after the source's pending work, and the
        // source's stream waits for the copy, so its allocator cannot reuse `src` before the copy read it.
        CudaContext& s = cuda_context(sd.index);
        s.synchronize();
        LRP_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dd.index, src, sd.index, bytes, c.stream()));
        cudaEvent_t done = nullptr;
        LRP_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
        LRP_CUDA_CHECK(cudaEventRecord(done, c.stream()));
        const cudaError_t waited = cudaStreamWaitEvent(s.stream(), done, 0);
        LRP_CUDA_CHECK(cudaEventDestroy(done));  // released once the event completes
        LRP_CUDA_CHECK(waited);
        return;
    }
    LRP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, c.stream()));
    // D2H into pageable memory: wait so the host may read it on return. H2D from pageable memory
    // returns once the source is staged, so the host buffer may be reused without a sync.
    if (kind == cudaMemcpyDeviceToHost) c.synchronize();
}

}  // namespace lrp
