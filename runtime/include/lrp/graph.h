// DeviceGraph: records the work queued on a CUDA device's stream between begin_capture() and
// end_capture() into a CUDA graph and replays it. Capture runs in cudaStreamCaptureModeGlobal, so a
// synchronising call made while capturing (a device-to-host copy, a stream sync) fails it; the allocator's
// cudaMalloc on a cache miss runs in relaxed mode and does not (tests check the raw-allocation count to
// show that a warmed-up step needs none). cuBLAS/cuDNN handles are created before the capture.
#pragma once
#include <cstddef>

#include "lrp/device.h"

namespace lrp {

class DeviceGraph {
public:
    // Throws unless d is a usable CUDA device (graphs do not exist on the CPU).
    explicit DeviceGraph(Device d);
    ~DeviceGraph();  // ends a capture still open (e.g. after an exception inside it) and frees the graph
    DeviceGraph(const DeviceGraph&) = delete;
    DeviceGraph& operator=(const DeviceGraph&) = delete;

    // Everything queued on the device's stream until end_capture() is recorded, not run. Memory the
    // captured work allocates must already be cached by the allocator (run the work once eagerly first);
    // the blocks it takes belong to this graph's allocator pool until the graph is destroyed, so memory
    // the captured work freed is never handed to other tensors while replays still write to it.
    // Host values passed as kernel arguments (Philox seed and offset, learning rate, a per-batch coin
    // drawn on the host) are frozen at capture: every replay repeats them. Host-side state updated by the
    // captured code (BatchNorm's num_batches_tracked counter) does not advance on replay.
    void begin_capture();
    // Finishes the capture and instantiates the graph; throws naming the capture error (e.g. a
    // synchronising call inside the captured region).
    void end_capture();
    // Launches the graph on the device's stream (asynchronous, like any other stream work).
    void replay();

    bool capturing() const { return capturing_; }
    size_t nodes() const { return nodes_; }  // node count of the captured graph (0 before end_capture)

private:
    void release() noexcept;
    Device device_;
    bool capturing_ = false;
    int pool_ = 0;  // the allocator's graph pool holding the blocks the graph works in (0: none)
    size_t nodes_ = 0;
    void* graph_ = nullptr;  // cudaGraph_t
    void* exec_ = nullptr;   // cudaGraphExec_t
};

}  // namespace lrp
