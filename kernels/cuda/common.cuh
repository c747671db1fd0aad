// Shared helpers for the CUDA kernels: the context's stream, a 1-D launch geometry and the launch check.
// Kernels launch on ctx.cuda->stream() only, so work is ordered with the caching allocator's reuse.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "lrp/cuda/cuda_check.h"
#include "lrp/cuda/cuda_context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::kernels::cuda {

inline cudaStream_t stream_of(const Ctx& ctx) { return ctx.cuda->stream(); }

constexpr int kBlock = 256;

// Blocks for a grid-stride loop over n elements (capped; the loop covers the rest).
inline unsigned grid_for(int64_t n, int block = kBlock) {
    int64_t b = (n + block - 1) / block;
    return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(b, 65535LL * 8)));
}

}  // namespace lrp::kernels::cuda

// Grid-stride loop over [0, n) with a 64-bit index.
#define LRP_CUDA_LOOP(i, n)                                                                   \
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);     \
         i += static_cast<int64_t>(blockDim.x) * gridDim.x)
