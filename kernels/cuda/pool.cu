// CUDA max and average pooling over NCHW (same semantics and summation order as kernels/cpu/pool.cpp):
// forward = one thread per output; backward = one thread per input element gathering the windows that
// contain it (deterministic, no atomics, every dx element written).
#include <cmath>

#include "common.cuh"
#include "families.h"
#include "lrp/kernels/pool_window.h"

namespace lrp::kernels::cuda {
namespace {

__global__ void maxpool_fwd_kernel(Pool2dDesc d, int P, int Q, int64_t total, const float* __restrict__ x,
                                   float* __restrict__ y, int32_t* __restrict__ idx) {
    LRP_CUDA_LOOP(t, total) {
        const int q = static_cast<int>(t % Q);
        const int64_t r = t / Q;
        const int p = static_cast<int>(r % P);
        const int64_t plane = r / P;
        const float* xp = x + plane * d.H * d.W;
        float best;
        int32_t bi;
        max_window(d, xp, p, q, best, bi);
        y[t] = best;
        idx[t] = bi;
    }
}

__global__ void maxpool_bwd_kernel(Pool2dDesc d, int P, int Q, int64_t total, const float* __restrict__ dy,
                                   const int32_t* __restrict__ idx, float* __restrict__ dx) {
    LRP_CUDA_LOOP(t, total) {
        const int w = static_cast<int>(t % d.W);
        const int64_t r = t / d.W;
        const int h = static_cast<int>(r % d.H);
        const int64_t plane = r / d.H;
        dx[t] = maxpool_grad_at(d, dy + plane * P * Q, idx + plane * P * Q, P, Q, h, w);
    }
}

__global__ void maxpool_gather_kernel(int64_t HW, int64_t PQ, int64_t total, const float* __restrict__ x,
                                      const int32_t* __restrict__ idx, float* __restrict__ y) {
    LRP_CUDA_LOOP(t, total) y[t] = x[(t / PQ) * HW + idx[t]];
}

__global__ void avgpool_fwd_kernel(Pool2dDesc d, int P, int Q, int64_t total, const float* __restrict__ x,
                                   float* __restrict__ y) {
    LRP_CUDA_LOOP(t, total) {
        const int q = static_cast<int>(t % Q);
        const int64_t r = t / Q;
        const int p = static_cast<int>(r % P);
        const int64_t plane = r / P;
        const float* xp = x + plane * d.H * d.W;
        int h0, h1, w0, w1;
        avg_window(d, p, q, h0, h1, w0, w1);
        double sum = 0.0;
        for (int h = h0; h < h1; ++h)
            for (int w = w0; w < w1; ++w) sum += xp[h * d.W + w];
        y[t] = static_cast<float>(sum / avg_divisor(d, p, q));
    }
}

__global__ void avgpool_bwd_kernel(Pool2dDesc d, int P, int Q, int64_t total, const float* __restrict__ dy,
                                   float* __restrict__ dx) {
    LRP_CUDA_LOOP(t, total) {
        const int w = static_cast<int>(t % d.W);
        const int64_t r = t / d.W;
        const int h = static_cast<int>(r % d.H);
        const int64_t plane = r / d.H;
        const float* gp = dy + plane * P * Q;
        int p0, p1, q0, q1;
        avg_covering(d, P, Q, h, w, p0, p1, q0, q1);
        double acc = 0.0;
        for (int p = p0; p < p1; ++p)
            for (int q = q0; q < q1; ++q) acc += static_cast<double>(gp[p * Q + q]) / avg_divisor(d, p, q);
        dx[t] = static_cast<float>(acc);
    }
}

int64_t out_total(const Pool2dDesc& d) { return static_cast<int64_t>(d.N) * d.C * d.P() * d.Q(); }
int64_t in_total(const Pool2dDesc& d) { return static_cast<int64_t>(d.N) * d.C * d.H * d.W; }

void maxpool_fwd(const Ctx& ctx, const Pool2dDesc& d, const float* x, float* y, int32_t* idx) {
    const int64_t total = out_total(d);
    if (total == 0) return;
    cudaStream_t st = stream_of(ctx);
    maxpool_fwd_kernel<<<grid_for(total), kBlock, 0, st>>>(d, d.P(), d.Q(), total, x, y, idx);
    LRP_CUDA_CHECK_LAUNCH("maxpool_fwd", st);
}

void maxpool_bwd(const Ctx& ctx, const Pool2dDesc& d, const float* dy, const int32_t* idx, float* dx) {
    const int64_t total = in_total(d);
    if (total == 0) return;
    cudaStream_t st = stream_of(ctx);
    maxpool_bwd_kernel<<<grid_for(total), kBlock, 0, st>>>(d, d.P(), d.Q(), total, dy, idx, dx);
    LRP_CUDA_CHECK_LAUNCH("maxpool_bwd", st);
}

void maxpool_gather(const Ctx& ctx, const Pool2dDesc& d, const float* x, const int32_t* idx, float* y) {
    const int64_t total = out_total(d);
    if (total == 0) return;
    cudaStream_t st = stream_of(ctx);
    maxpool_gather_kernel<<<grid_for(total), kBlock, 0, st>>>(static_cast<int64_t>(d.H) * d.W,
                                                              static_cast<int64_t>(d.P()) * d.Q(), total, x, idx, y);
    LRP_CUDA_CHECK_LAUNCH("maxpool_gather", st);
}

void avgpool_fwd(const Ctx& ctx, const Pool2dDesc& d, const float* x, float* y) {
    const int64_t total = out_total(d);
    if (total == 0) return;
    cudaStream_t st = stream_of(ctx);
    avgpool_fwd_kernel<<<grid_for(total), kBlock, 0, st>>>(d, d.P(), d.Q(), total, x, y);
    LRP_CUDA_CHECK_LAUNCH("avgpool_fwd", st);
}

void avgpool_bwd(const Ctx& ctx, const Pool2dDesc& d, const float* dy, float* dx) {
    const int64_t total = in_total(d);
    if (total == 0) return;
    cudaStream_t st = stream_of(ctx);
    avgpool_bwd_kernel<<<grid_for(total), kBlock, 0, st>>>(d, d.P(), d.Q(), total, dy, dx);
    LRP_CUDA_CHECK_LAUNCH("avgpool_bwd", st);
}

}  // namespace

void register_pool(OpTable& t) {
    t.maxpool_fwd = maxpool_fwd;
    t.maxpool_bwd = maxpool_bwd;
    t.maxpool_gather = maxpool_gather;
    t.avgpool_fwd = avgpool_fwd;
    t.avgpool_bwd = avgpool_bwd;
}

}  // namespace lrp::kernels::cuda
