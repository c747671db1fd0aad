// Per-device execution context as seen by kernels and the tensor runtime: KernelCtx (what every op
// receives; the CUDA part is opaque so no CUDA header leaks into CPU code), memory, copies, sync,
// and process-wide numeric switches (TF32, synchronous debug mode).
#pragma once
#include <cstddef>

#include "lrp/caching_allocator.h"
#include "lrp/device.h"

namespace lrp {

class CudaContext;  // defined in lrp/cuda/cuda_context.h, CUDA builds only

struct KernelCtx {
    Device device;
    CudaContext* cuda = nullptr;  // null for the CPU
};

// Context for a device: throws (see require_device) when it cannot be used.
KernelCtx kernel_ctx(Device d);

// Raw device memory through the device's allocator (caching on CUDA, aligned on the CPU).
void* device_alloc(Device d, size_t bytes);
void device_free(Device d, void* p) noexcept;

// Byte copy between any two devices, ordered on the device stream. Returns once `dst` may be read
// by the host if dst is on the CPU; device destinations are complete in stream order.
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes);
void zero_bytes(void* dst, Device d, size_t bytes);

void synchronize(Device d);  // waits for all work queued on the device's stream

MemoryStats memory_stats(Device d);
void reset_peak_memory(Device d);
void empty_cache(Device d);  // CUDA: returns cached blocks to the driver

// TF32 for fp32 GEMM/conv on tensor cores: off by default (tests need fp32 agreement);
// LRP_ALLOW_TF32=1 or set_allow_tf32(true) turns it on for new cuBLAS/cuDNN calls.
bool allow_tf32();
void set_allow_tf32(bool on);

// Deterministic algorithms only (on by default): cuDNN convolution picks among algorithms that give
// the same bits run to run (no atomics), so a seed and a resumed run reproduce on CUDA as on the CPU.
// LRP_NONDETERMINISTIC=1 or set_deterministic(false) lets it take cuDNN's first choice instead.
bool deterministic();
void set_deterministic(bool on);

// FFT and Winograd convolution algorithms (on by default, as in PyTorch): their transforms round relative to a
// tile's or the whole plane's magnitude, not each output's, which matters for relevance maps whose values span
// many orders of magnitude. LRP_CONV_NO_TRANSFORMS=1 or set_allow_conv_transforms(false) excludes them for new
// cuDNN plans (direct and implicit-GEMM algorithms only).
bool allow_conv_transforms();
void set_allow_conv_transforms(bool on);

// Synchronous debug mode: synchronise and check after every launch (LRP_CUDA_SYNC=1 or build option).
bool cuda_sync_debug();
void set_cuda_sync_debug(bool on);

}  // namespace lrp
