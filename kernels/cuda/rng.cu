// CUDA counter-based random fills on the Philox streams of lrp/philox.h: uniform equals the CPU bit
// for bit (one counter per thread, four lanes); normal differs from the CPU only by logf/cosf ulps.
#include "common.cuh"
#include "lrp/philox.h"

namespace lrp::kernels::cuda {
namespace {

// Thread c owns Philox counter offset + c, i.e. elements 4c .. 4c+3 (lane = i % 4, as philox_uniform).
__global__ void uniform_k(uint64_t seed, uint64_t offset, float lo, float hi, float* y, int64_t n,
                          int64_t counters) {
    const float width = hi - lo;
    LRP_CUDA_LOOP(c, counters) {
        const Philox4 r = philox(seed, offset + static_cast<uint64_t>(c));
#pragma unroll
        for (int lane = 0; lane < 4; ++lane) {
            const int64_t i = 4 * c + lane;
            if (i < n) {
                // Explicit roundings (no FMA), matching the CPU's exact-double-product-then-round.
                float v = __fadd_rn(lo, __fmul_rn(width, uniform01(r.v[lane])));
                if (v >= hi && hi > lo) v = nextafterf(hi, lo);
                y[i] = v;
            }
        }
    }
}

__global__ void normal_k(uint64_t seed, uint64_t offset, float mean, float std, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) {
        y[i] = __fadd_rn(mean, __fmul_rn(std, philox_normal(seed, offset, static_cast<uint64_t>(i))));
    }
}

void rng_uniform(const Ctx& ctx, uint64_t seed, uint64_t offset, float lo, float hi, float* y, int64_t n) {
    if (n <= 0) return;
    const int64_t counters = (n + 3) / 4;
    uniform_k<<<grid_for(counters), kBlock, 0, stream_of(ctx)>>>(seed, offset, lo, hi, y, n, counters);
    LRP_CUDA_CHECK_LAUNCH("rng_uniform", stream_of(ctx));
}

void rng_normal(const Ctx& ctx, uint64_t seed, uint64_t offset, float mean, float std, float* y, int64_t n) {
    if (n <= 0) return;
    normal_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(seed, offset, mean, std, y, n);
    LRP_CUDA_CHECK_LAUNCH("rng_normal", stream_of(ctx));
}

}  // namespace

void register_rng(OpTable& t) {
    t.rng_uniform = rng_uniform;
    t.rng_normal = rng_normal;
}

}  // namespace lrp::kernels::cuda
