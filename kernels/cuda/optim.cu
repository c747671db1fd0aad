// CUDA fused optimiser steps (PyTorch SGD and AdamW), one grid-stride pass over the parameters in
// fp32; step-dependent constants (bias corrections) are computed once on the host in double; and the
// gradient-clipping factor, computed on the device.
#include <cmath>

#include "common.cuh"

namespace lrp::kernels::cuda {
namespace {

__global__ void sgd_k(SgdParams p, bool first_step, float* w, const float* g, float* buf, int64_t n) {
    const bool use_mom = p.momentum != 0.f;
    LRP_CUDA_LOOP(i, n) {
        float d = g[i];
        if (p.weight_decay != 0.f) d += p.weight_decay * w[i];
        if (use_mom) {
            const float b = first_step ? d : p.momentum * buf[i] + (1.f - p.dampening) * d;
            buf[i] = b;
            d = p.nesterov ? d + p.momentum * b : b;
        }
        w[i] -= p.lr * d;
    }
}

// w <- w (1 - lr wd) - step_size m / (sqrt(v) / sqrt_bc2 + eps)
__global__ void adamw_k(float b1, float b2, float eps, float decay, float step_size, float sqrt_bc2, float* w,
                        const float* g, float* m, float* v, int64_t n) {
    LRP_CUDA_LOOP(i, n) {
        const float gi = g[i];
        const float mi = b1 * m[i] + (1.f - b1) * gi;
        const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const float denom = sqrtf(vi) / sqrt_bc2 + eps;
        w[i] = w[i] * decay - step_size * mi / denom;
    }
}

void sgd_update(const Ctx& ctx, const SgdParams& p, float* w, const float* g, float* buf, int64_t n,
                bool first_step) {
    if (n <= 0) return;
    sgd_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(p, first_step, w, g, buf, n);
    LRP_CUDA_CHECK_LAUNCH("sgd_update", stream_of(ctx));
}

void adamw_update(const Ctx& ctx, const AdamWParams& p, float* w, const float* g, float* m, float* v, int64_t n) {
    if (n <= 0) return;
    const double t = static_cast<double>(p.step);
    const float step_size = static_cast<float>(p.lr / (1.0 - std::pow(static_cast<double>(p.beta1), t)));
    const float sqrt_bc2 = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(p.beta2), t)));
    const float decay = static_cast<float>(1.0 - static_cast<double>(p.lr) * p.weight_decay);
    adamw_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(p.beta1, p.beta2, p.eps, decay, step_size, sqrt_bc2, w, g,
                                                        m, v, n);
    LRP_CUDA_CHECK_LAUNCH("adamw_update", stream_of(ctx));
}

__global__ void clip_coef_k(const float* sumsq, float max_norm, float* norm, float* coef) {
    const float n = sqrtf(sumsq[0]);
    const float c = max_norm / (n + 1e-6f);
    norm[0] = n;
    coef[0] = c < 1.f || c != c ? c : 1.f;
}

// One thread: the factor stays on the device, so clipping needs no host read (graph-capturable).
void clip_coef(const Ctx& ctx, const float* sumsq, float max_norm, float* norm, float* coef) {
    clip_coef_k<<<1, 1, 0, stream_of(ctx)>>>(sumsq, max_norm, norm, coef);
    LRP_CUDA_CHECK_LAUNCH("clip_coef", stream_of(ctx));
}

}  // namespace

void register_optim(OpTable& t) {
    t.sgd_update = sgd_update;
    t.adamw_update = adamw_update;
    t.clip_coef = clip_coef;
}

}  // namespace lrp::kernels::cuda
