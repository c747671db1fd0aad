// DeviceGraph: CUDA stream capture, instantiation and replay (CUDA builds); a clear error elsewhere.
#include "lrp/graph.h"

#include "lrp/config.h"
#include "lrp/context.h"
#include "lrp/error.h"
#include "lrp/log.h"

#if LRP_HAVE_CUDA
#include "lrp/cuda/cuda_check.h"
#include "lrp/cuda/cuda_context.h"
#endif

namespace lrp {

DeviceGraph::DeviceGraph(Device d) : device_(d) {
    LRP_CHECK(d.is_cuda(), "DeviceGraph: CUDA graphs need a CUDA device, got ", d.str());
    require_device(d);
#if !LRP_HAVE_CUDA
    LRP_THROW("DeviceGraph: this build has no CUDA backend");
#endif
}

DeviceGraph::~DeviceGraph() { release(); }

void DeviceGraph::release() noexcept {
#if LRP_HAVE_CUDA
    if (capturing_) {
        cudaGraph_t g = nullptr;
        cudaStreamEndCapture(cuda_context(device_.index).stream(), &g);
        if (g) cudaGraphDestroy(g);
        (void)cudaGetLastError();
        capturing_ = false;
        cuda_context(device_.index).allocator().end_pool_capture();
    }
    if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
    if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
    // The blocks the graph wrote to may be handed out again (a last replay is ordered before any later
    // use on the same stream).
    if (pool_) cuda_context(device_.index).allocator().release_pool(pool_);
#endif
    pool_ = 0;
    exec_ = graph_ = nullptr;
    nodes_ = 0;
}

void DeviceGraph::begin_capture() {
    LRP_CHECK(!capturing_, "DeviceGraph: begin_capture() while a capture is open");
    release();
#if LRP_HAVE_CUDA
    CudaContext& c = cuda_context(device_.index);
    c.make_current();
    LRP_CHECK(!cuda_sync_debug(), "DeviceGraph: synchronous debug mode (LRP_CUDA_SYNC) synchronises after every ",
              "launch and cannot be captured; turn it off");
    (void)c.cublas();  // the library handles exist before the capture (creating one inside it would fail it)
    (void)c.cudnn();
    pool_ = c.allocator().begin_pool_capture();
    const cudaError_t e = cudaStreamBeginCapture(c.stream(), cudaStreamCaptureModeGlobal);
    if (e != cudaSuccess) {
        c.allocator().end_pool_capture();
        c.allocator().release_pool(pool_);
        pool_ = 0;
        throw_cuda_error(__FILE__, __LINE__, "cudaStreamBeginCapture", e);
    }
    capturing_ = true;
#endif
}

void DeviceGraph::end_capture() {
    LRP_CHECK(capturing_, "DeviceGraph: end_capture() without begin_capture()");
#if LRP_HAVE_CUDA
    CudaContext& c = cuda_context(device_.index);
    cudaGraph_t g = nullptr;
    const cudaError_t e = cudaStreamEndCapture(c.stream(), &g);
    capturing_ = false;
    c.allocator().end_pool_capture();  // the pool stays: replays write to its blocks
    if (e != cudaSuccess) {
        if (g) cudaGraphDestroy(g);
        throw_cuda_error(__FILE__, __LINE__, "cudaStreamEndCapture (a call inside the captured region synchronised "
                                             "or allocated, which invalidates the capture)", e);
    }
    graph_ = g;
    size_t n = 0;
    LRP_CUDA_CHECK(cudaGraphGetNodes(g, nullptr, &n));
    nodes_ = n;
    cudaGraphExec_t x = nullptr;
    LRP_CUDA_CHECK(cudaGraphInstantiate(&x, g, 0));
    exec_ = x;
#endif
}

void DeviceGraph::replay() {
    LRP_CHECK(exec_ != nullptr, "DeviceGraph: replay() before a successful end_capture()");
#if LRP_HAVE_CUDA
    CudaContext& c = cuda_context(device_.index);
    c.make_current();
    LRP_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), c.stream()));
#endif
}

}  // namespace lrp
