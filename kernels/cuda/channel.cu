// CUDA per-channel kernels: channel_affine and pixel_scale (grid-stride over all elements), bn_eval_affine (one
// thread per channel), dropout_mask (one Philox draw per element, same stream as the CPU).
#include "common.cuh"
#include "families.h"
#include "lrp/philox.h"

namespace lrp::kernels::cuda {

namespace {
__global__ void channel_affine_k(const float* x, const float* scale, const float* shift, float* y, int C,
                                 int64_t HW, int64_t total) {
    LRP_CUDA_LOOP(i, total) {
        const int c = static_cast<int>((i / HW) % C);
        y[i] = x[i] * scale[c] + (shift ? shift[c] : 0.f);
    }
}

__global__ void pixel_scale_k(const float* x, const float* m, float* y, int C, int64_t HW, int64_t total) {
    LRP_CUDA_LOOP(i, total) {
        const int64_t p = i % HW, n = i / HW / C;
        y[i] = x[i] * m[n * HW + p];
    }
}

__global__ void bn_eval_affine_k(int C, float eps, const float* gamma, const float* beta, const float* mean,
                                 const float* var, float* scale, float* shift) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    const float s = (gamma ? gamma[c] : 1.f) / sqrtf(var[c] + eps);
    scale[c] = s;
    shift[c] = (beta ? beta[c] : 0.f) - mean[c] * s;
}

__global__ void dropout_mask_k(uint64_t seed, uint64_t offset, float p, float keep, float* mask, int64_t n) {
    LRP_CUDA_LOOP(i, n) { mask[i] = philox_uniform(seed, offset, static_cast<uint64_t>(i)) >= p ? keep : 0.f; }
}

void channel_affine(const Ctx& ctx, const float* x, const float* scale, const float* shift, float* y, int N, int C,
                    int64_t HW) {
    const int64_t total = static_cast<int64_t>(N) * C * HW;
    if (total == 0) return;
    channel_affine_k<<<grid_for(total), kBlock, 0, stream_of(ctx)>>>(x, scale, shift, y, C, HW, total);
    LRP_CUDA_CHECK_LAUNCH("channel_affine", stream_of(ctx));
}

void pixel_scale(const Ctx& ctx, const float* x, const float* m, float* y, int N, int C, int64_t HW) {
    const int64_t total = static_cast<int64_t>(N) * C * HW;
    if (total == 0) return;
    pixel_scale_k<<<grid_for(total), kBlock, 0, stream_of(ctx)>>>(x, m, y, C, HW, total);
    LRP_CUDA_CHECK_LAUNCH("pixel_scale", stream_of(ctx));
}

void bn_eval_affine(const Ctx& ctx, int C, float eps, const float* gamma, const float* beta, const float* mean,
                    const float* var, float* scale, float* shift) {
    if (C == 0) return;
    bn_eval_affine_k<<<(C + kBlock - 1) / kBlock, kBlock, 0, stream_of(ctx)>>>(C, eps, gamma, beta, mean, var,
                                                                            scale, shift);
    LRP_CUDA_CHECK_LAUNCH("bn_eval_affine", stream_of(ctx));
}

void dropout_mask(const Ctx& ctx, uint64_t seed, uint64_t offset, float p, float* mask, int64_t n) {
    if (n == 0) return;
    dropout_mask_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(seed, offset, p, 1.f / (1.f - p), mask, n);
    LRP_CUDA_CHECK_LAUNCH("dropout_mask", stream_of(ctx));
}
}  // namespace

void register_channel(OpTable& t) {
    t.channel_affine = channel_affine;
    t.pixel_scale = pixel_scale;
    t.bn_eval_affine = bn_eval_affine;
    t.dropout_mask = dropout_mask;
}

}  // namespace lrp::kernels::cuda
