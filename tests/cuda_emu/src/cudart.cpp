// CUDA emulation (tests only): the subset of the CUDA runtime API lrpcu calls, on host memory. Streams run
// work at once (in order by construction); graphs record captured work and replay it; device allocations
// are tracked and poisoned (NaN bytes), and copies are bounds-checked against them.
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "lrp_emu/memory.h"
#include "lrp_emu/scheduler.h"

struct CUstream_st {
    int device = 0;
    bool capturing = false, invalidated = false;
    cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
    struct CUgraph_st* graph = nullptr;
};
struct CUevent_st {
    unsigned flags = 0;
    bool recorded = false;
    std::chrono::steady_clock::time_point at;
};
struct CUgraph_st {
    std::vector<std::function<cudaError_t()>> nodes;
};
struct CUgraphExec_st {
    std::vector<std::function<cudaError_t()>> nodes;
};

namespace {
thread_local cudaError_t g_last = cudaSuccess;
thread_local int g_device = 0;
thread_local cudaStreamCaptureMode g_thread_mode = cudaStreamCaptureModeGlobal;
std::mutex g_capture_mutex;
std::vector<CUstream_st*> g_capturing;  // streams in a capture that is not relaxed
CUstream_st g_legacy;                    // the legacy default stream (nullptr)

cudaError_t fail(cudaError_t e) {
    g_last = e;
    return e;
}

int device_count() {
    const char* e = std::getenv("LRP_EMU_DEVICES");
    const int n = e ? std::atoi(e) : 1;
    return n < 0 ? 0 : n;
}

CUstream_st* resolve(cudaStream_t s) { return s ? s : &g_legacy; }

// A potentially unsafe call (allocation, synchronisation, pageable copy) while a global-mode capture runs
// and this thread did not relax its mode: refused, and the capture is invalidated, as CUDA does.
bool unsafe_refused() {
    if (g_thread_mode == cudaStreamCaptureModeRelaxed) return false;
    std::lock_guard<std::mutex> lock(g_capture_mutex);
    if (g_capturing.empty()) return false;
    for (CUstream_st* s : g_capturing) s->invalidated = true;
    return true;
}

cudaError_t enqueue(cudaStream_t stream, std::function<cudaError_t()> work) {
    CUstream_st* s = resolve(stream);
    if (s->capturing) {
        if (!s->invalidated) s->graph->nodes.push_back(std::move(work));
        return cudaSuccess;
    }
    return work();
}
}  // namespace

namespace lrp_emu {
cudaError_t enqueue_work(cudaStream_t stream, std::function<cudaError_t()> work) {
    return enqueue(stream, std::move(work));
}
void submit_kernel(dim3 grid, dim3 block, size_t smem, cudaStream_t stream, std::vector<const void*> pointers,
                   std::function<void()> body) {
    if (smem > 48 * 1024) {
        fail(cudaErrorInvalidValue);
        return;
    }
    for (const void* p : pointers)
        if (p && !is_device(p)) {
            fail(cudaErrorIllegalAddress);
            return;
        }
    const cudaError_t e = enqueue(stream, [grid, block, body]() { return run_grid(grid, block, body); });
    if (e != cudaSuccess) fail(e);
}
}  // namespace lrp_emu

extern "C" {

cudaError_t cudaGetLastError() {
    const cudaError_t e = g_last;
    g_last = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() { return g_last; }

const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
        case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
        case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
        case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
        case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
        case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
        case cudaErrorIllegalState: return "cudaErrorIllegalState";
        default: return "cudaErrorUnknown";
    }
}
const char* cudaGetErrorString(cudaError_t e) {
    return e == cudaSuccess ? "no error" : cudaGetErrorName(e);
}

// The emulation stands in for the runtime and driver whose headers it was built with.
cudaError_t cudaRuntimeGetVersion(int* v) { return *v = CUDART_VERSION, cudaSuccess; }
cudaError_t cudaDriverGetVersion(int* v) { return *v = CUDART_VERSION, cudaSuccess; }
cudaError_t cudaGetDeviceCount(int* n) {
    *n = device_count();
    return *n > 0 ? cudaSuccess : fail(cudaErrorNoDevice);
}
cudaError_t cudaGetDevice(int* d) {
    *d = g_device;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
    if (d < 0 || d >= device_count()) return fail(cudaErrorInvalidDevice);
    g_device = d;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
    if (d < 0 || d >= device_count()) return fail(cudaErrorInvalidDevice);
    std::memset(p, 0, sizeof(*p));
    std::snprintf(p->name, sizeof(p->name), "lrp_emu %d (CPU emulation of a CUDA device, not a GPU)", d);
    p->major = 9;
    p->minor = 0;
    p->totalGlobalMem = size_t(16) << 30;
    p->multiProcessorCount = 4;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->sharedMemPerBlock = 48 * 1024;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return unsafe_refused() ? fail(cudaErrorStreamCaptureUnsupported) : cudaSuccess; }

cudaError_t cudaMalloc(void** p, size_t n) {
    *p = nullptr;
    if (unsafe_refused()) return fail(cudaErrorStreamCaptureUnsupported);
    *p = lrp_emu::device_alloc(n, g_device);
    return *p || n == 0 ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFree(void* p) {
    if (!p) return cudaSuccess;
    if (unsafe_refused()) return fail(cudaErrorStreamCaptureUnsupported);
    return lrp_emu::device_free(p) ? cudaSuccess : fail(cudaErrorInvalidDevicePointer);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
    *s = new CUstream_st;
    (*s)->device = g_device;
    return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, 0); }
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (s && s->capturing) return fail(cudaErrorIllegalState);
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    CUstream_st* s = resolve(stream);
    if (s->capturing) {
        s->invalidated = true;
        return fail(cudaErrorStreamCaptureUnsupported);
    }
    return unsafe_refused() ? fail(cudaErrorStreamCaptureUnsupported) : cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
    if (!status) return fail(cudaErrorInvalidValue);
    const CUstream_st* s = resolve(stream);
    *status = !s->capturing      ? cudaStreamCaptureStatusNone
              : s->invalidated ? cudaStreamCaptureStatusInvalidated
                               : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t e, unsigned) {
    return e ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags) {
    *e = new CUevent_st;
    (*e)->flags = flags;
    return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, 0); }
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    if (!e) return fail(cudaErrorInvalidResourceHandle);
    e->recorded = true;
    e->at = std::chrono::steady_clock::now();
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    if (!e) return fail(cudaErrorInvalidResourceHandle);
    return unsafe_refused() ? fail(cudaErrorStreamCaptureUnsupported) : cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
    if (!a || !b || !a->recorded || !b->recorded || (a->flags & cudaEventDisableTiming) ||
        (b->flags & cudaEventDisableTiming))
        return fail(cudaErrorInvalidResourceHandle);
    *ms = std::chrono::duration<float, std::milli>(b->at - a->at).count();
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    const std::string bad = lrp_emu::check_copy(dst, src, n, kind);
    if (!bad.empty()) {
        std::fprintf(stderr, "lrp_emu: cudaMemcpyAsync: %s\n", bad.c_str());
        return fail(cudaErrorInvalidValue);
    }
    const bool host = !lrp_emu::is_device(dst) || !lrp_emu::is_device(src);
    if (host && resolve(stream)->capturing) {  // pageable host memory cannot be captured
        resolve(stream)->invalidated = true;
        return fail(cudaErrorStreamCaptureUnsupported);
    }
    if (host && unsafe_refused()) return fail(cudaErrorStreamCaptureUnsupported);
    return enqueue(stream, [=]() {
        std::memmove(dst, src, n);
        return cudaSuccess;
    });
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
    if (unsafe_refused()) return fail(cudaErrorStreamCaptureUnsupported);
    return cudaMemcpyAsync(dst, src, n, kind, nullptr);
}
cudaError_t cudaMemcpyPeerAsync(void* dst, int dd, const void* src, int sd, size_t n, cudaStream_t stream) {
    if (dd < 0 || dd >= device_count() || sd < 0 || sd >= device_count()) return fail(cudaErrorInvalidDevice);
    if (lrp_emu::device_of(dst) != dd || lrp_emu::device_of(src) != sd) {
        std::fprintf(stderr, "lrp_emu: cudaMemcpyPeerAsync: a pointer is not on the device named\n");
        return fail(cudaErrorInvalidValue);
    }
    return cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream);
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t stream) {
    if (n == 0) return cudaSuccess;
    const std::string bad = lrp_emu::check_range(p, n);
    if (!bad.empty()) {
        std::fprintf(stderr, "lrp_emu: cudaMemsetAsync: %s\n", bad.c_str());
        return fail(cudaErrorInvalidValue);
    }
    return enqueue(stream, [=]() {
        std::memset(p, v, n);
        return cudaSuccess;
    });
}

cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode) {
    const cudaStreamCaptureMode prev = g_thread_mode;
    g_thread_mode = *mode;
    *mode = prev;
    return cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
    if (!stream) return fail(cudaErrorStreamCaptureUnsupported);  // the legacy stream cannot be captured
    if (stream->capturing) return fail(cudaErrorIllegalState);
    stream->capturing = true;
    stream->invalidated = false;
    stream->mode = mode;
    stream->graph = new CUgraph_st;
    if (mode != cudaStreamCaptureModeRelaxed) {
        std::lock_guard<std::mutex> lock(g_capture_mutex);
        g_capturing.push_back(stream);
    }
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
    *graph = nullptr;
    if (!stream || !stream->capturing) return fail(cudaErrorIllegalState);
    {
        std::lock_guard<std::mutex> lock(g_capture_mutex);
        for (size_t i = 0; i < g_capturing.size(); ++i)
            if (g_capturing[i] == stream) g_capturing.erase(g_capturing.begin() + static_cast<long>(i--));
    }
    stream->capturing = false;
    if (stream->invalidated) {
        delete stream->graph;
        stream->graph = nullptr;
        return fail(cudaErrorStreamCaptureInvalidated);
    }
    *graph = stream->graph;
    stream->graph = nullptr;
    return cudaSuccess;
}
cudaError_t cudaGraphGetNodes(cudaGraph_t g, cudaGraphNode_t* nodes, size_t* n) {
    if (!g || nodes) return fail(cudaErrorInvalidValue);  // only the count is emulated
    *n = g->nodes.size();
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* x, cudaGraph_t g, unsigned long long) {
    if (!g) return fail(cudaErrorInvalidValue);
    *x = new CUgraphExec_st{g->nodes};
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t x, cudaStream_t stream) {
    if (!x) return fail(cudaErrorInvalidValue);
    if (resolve(stream)->capturing) return fail(cudaErrorStreamCaptureUnsupported);
    for (auto& node : x->nodes) {
        const cudaError_t e = node();
        if (e != cudaSuccess) return fail(e);
    }
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t x) {
    delete x;
    return cudaSuccess;
}

}  // extern "C"
