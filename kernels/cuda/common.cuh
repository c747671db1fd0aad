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

// The block's threads write fill[c] into box b (top, left, h, w) of every channel c of sample n of an
// N x C x H x W tensor (plane = H * W). Used by random erasing and RelDrop's boxes; b must be valid and
// the same for the whole block.
template <class BoxT>
__device__ __forceinline__ void fill_box_block(float* x, const BoxT& b, int64_t n, int C, int W, int64_t plane,
                                               const float (&fill)[4]) {
    const int64_t area = static_cast<int64_t>(b.h) * b.w, total = area * C;
    for (int64_t j = threadIdx.x; j < total; j += blockDim.x) {
        const int c = static_cast<int>(j / area);
        const int q = static_cast<int>(j % area);
        const int yy = b.top + q / b.w, xx = b.left + q % b.w;
        x[(n * C + c) * plane + static_cast<int64_t>(yy) * W + xx] = fill[c];
    }
}

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
