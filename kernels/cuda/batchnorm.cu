// CUDA batch norm (PyTorch semantics, same entries as kernels/cpu/batchnorm.cpp). Per-channel sums are
// deterministic: each channel is split into a shape-determined number of chunks, each chunk reduced by
// one block (fixed per-thread order, then a fixed shuffle tree) in double, and a per-channel finalise
// adds the chunk partials in order. No atomics. An elementwise pass then applies per-channel
// coefficients (double) to every element.
#include "common.cuh"
#include "families.h"

namespace lrp::kernels::cuda {
namespace {

constexpr int kRedThreads = 256;         // threads per partial-reduction block (multiple of 32)
constexpr int64_t kMinChunk = 4096;      // at least this many elements per partial block
constexpr int64_t kTargetBlocks = 1024;  // aim for about this many partial blocks in all

// How a channel of M = N*HW elements is split into S chunks (depends on the shape only).
struct Split {
    int S;
    int64_t chunk;
};

Split split_for(const BatchNormDesc& d) {
    const int64_t M = static_cast<int64_t>(d.N) * d.HW;
    int64_t s = std::min((M + kMinChunk - 1) / kMinChunk, (kTargetBlocks + d.C - 1) / d.C);
    s = std::max<int64_t>(1, std::min<int64_t>(s, 65535));
    return {static_cast<int>(s), (M + s - 1) / s};
}

// Sums a and b over the block in a fixed order; the totals are valid in thread 0.
__device__ void block_sum2(double& a, double& b) {
    __shared__ double sa[32], sb[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    for (int off = 16; off > 0; off >>= 1) {
        a += __shfl_down_sync(0xffffffffu, a, off);
        b += __shfl_down_sync(0xffffffffu, b, off);
    }
    if (lane == 0) sa[warp] = a, sb[warp] = b;
    __syncthreads();
    if (warp == 0) {
        a = lane < nwarps ? sa[lane] : 0.0;
        b = lane < nwarps ? sb[lane] : 0.0;
        for (int off = 16; off > 0; off >>= 1) {
            a += __shfl_down_sync(0xffffffffu, a, off);
            b += __shfl_down_sync(0xffffffffu, b, off);
        }
    }
}

// Partial sums over chunk blockIdx.y of channel blockIdx.x, written to part[(c*S + s)*2 + {0,1}].
//   stats (dy == nullptr): a = sum(x - K), b = sum((x - K)^2), K = x[n=0, c, 0] (a shift against cancellation)
//   grads (dy != nullptr): a = sum(dy),    b = sum(dy * (x - mean[c]))
__global__ void bn_partial(const float* __restrict__ x, const float* __restrict__ dy, const float* __restrict__ mean,
                           int C, int64_t HW, int64_t M, int64_t chunk, double* __restrict__ part) {
    const int c = blockIdx.x, s = blockIdx.y, S = gridDim.y;
    const int64_t begin = static_cast<int64_t>(s) * chunk;
    const int64_t end = min(M, begin + chunk);
    const double K = dy ? static_cast<double>(mean[c]) : static_cast<double>(x[static_cast<int64_t>(c) * HW]);
    // Walk j = begin + tid, step blockDim, tracking (n, i) with j = n*HW + i without a division per step.
    int64_t j = begin + threadIdx.x;
    int64_t n = j / HW, i = j - n * HW;
    const int64_t step_n = blockDim.x / HW, step_i = blockDim.x - step_n * HW;
    double a = 0.0, b = 0.0;
    for (; j < end; j += blockDim.x) {
        const int64_t o = (n * C + c) * HW + i;
        const double v = static_cast<double>(x[o]) - K;
        if (dy) {
            const double g = dy[o];
            a += g;
            b += g * v;
        } else {
            a += v;
            b += v * v;
        }
        n += step_n;
        i += step_i;
        if (i >= HW) i -= HW, ++n;
    }
    block_sum2(a, b);
    if (threadIdx.x == 0) {
        double* p = part + (static_cast<int64_t>(c) * S + s) * 2;
        p[0] = a;
        p[1] = b;
    }
}

// Adds the S partials of channel c in order.
__device__ void sum_partials(const double* part, int c, int S, double& a, double& b) {
    a = 0.0, b = 0.0;
    const double* p = part + static_cast<int64_t>(c) * S * 2;
    for (int s = 0; s < S; ++s) a += p[2 * s], b += p[2 * s + 1];
}

// Train forward, one thread per channel: statistics, saved values, running update and coef = (scale, shift).
__global__ void bn_finalize_train(const float* __restrict__ x, int C, int64_t HW, int64_t M, int S,
                                  const double* __restrict__ part, const float* __restrict__ gamma,
                                  const float* __restrict__ beta, float eps, float momentum, float* save_mean,
                                  float* save_invstd, float* running_mean, float* running_var, double* coef) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double a, b;
    sum_partials(part, c, S, a, b);
    const double Md = static_cast<double>(M);
    const double shifted_mean = a / Md;
    const double mean = static_cast<double>(x[static_cast<int64_t>(c) * HW]) + shifted_mean;
    const double var = fmax(b / Md - shifted_mean * shifted_mean, 0.0);  // biased
    const double invstd = 1.0 / sqrt(var + static_cast<double>(eps));
    save_mean[c] = static_cast<float>(mean);
    save_invstd[c] = static_cast<float>(invstd);
    const double mom = momentum;
    const double unbiased = M > 1 ? var * Md / (Md - 1.0) : var;
    running_mean[c] = static_cast<float>((1.0 - mom) * running_mean[c] + mom * mean);
    running_var[c] = static_cast<float>((1.0 - mom) * running_var[c] + mom * unbiased);
    const double scale = invstd * gamma[c];
    coef[2 * c] = scale;
    coef[2 * c + 1] = beta[c] - mean * scale;
}

// Eval forward coefficients from the running statistics.
__global__ void bn_coef_eval(int C, const float* __restrict__ gamma, const float* __restrict__ beta,
                             const float* __restrict__ running_mean, const float* __restrict__ running_var, float eps,
                             double* coef) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    const double scale = gamma[c] / sqrt(static_cast<double>(running_var[c]) + static_cast<double>(eps));
    coef[2 * c] = scale;
    coef[2 * c + 1] = beta[c] - running_mean[c] * scale;
}

// Backward, one thread per channel: dgamma, dbeta and dx = A*dy + B*(x - mean) + D per channel.
__global__ void bn_finalize_bwd(int C, int64_t M, int S, const double* __restrict__ part,
                                const float* __restrict__ gamma, const float* __restrict__ save_invstd, float* dgamma,
                                float* dbeta, double* coef) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    double sdy, sdyxm;
    sum_partials(part, c, S, sdy, sdyxm);
    const double invstd = save_invstd[c];
    const double sdyx = sdyxm * invstd;  // sum(dy * xhat)
    dgamma[c] = static_cast<float>(sdyx);
    dbeta[c] = static_cast<float>(sdy);
    const double Md = static_cast<double>(M);
    const double k = static_cast<double>(gamma[c]) * invstd / Md;
    // k * (M dy - sdy - xhat sdyx), xhat = (x - mean) invstd
    coef[3 * c] = k * Md;
    coef[3 * c + 1] = -k * invstd * sdyx;
    coef[3 * c + 2] = -k * sdy;
}

// y = x * coef[2c] + coef[2c+1] over N x C x HW (I: 32-bit indexing when it fits).
template <class I>
__global__ void bn_apply_fwd(const float* __restrict__ x, I C, I HW, I total, const double* __restrict__ coef,
                             float* __restrict__ y) {
    for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<I>(blockDim.x) * gridDim.x) {
        const I c = (i / HW) % C;
        y[i] = static_cast<float>(fma(static_cast<double>(x[i]), coef[2 * c], coef[2 * c + 1]));
    }
}

template <class I>
__global__ void bn_apply_bwd(const float* __restrict__ x, const float* __restrict__ dy, I C, I HW, I total,
                             const float* __restrict__ save_mean, const double* __restrict__ coef,
                             float* __restrict__ dx) {
    for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<I>(blockDim.x) * gridDim.x) {
        const I c = (i / HW) % C;
        const double xm = static_cast<double>(x[i]) - static_cast<double>(save_mean[c]);
        dx[i] = static_cast<float>(coef[3 * c] * dy[i] + coef[3 * c + 1] * xm + coef[3 * c + 2]);
    }
}

bool fits32(int64_t total) { return total < (int64_t{1} << 31) - 65536LL * 8 * kBlock; }

void apply_fwd(cudaStream_t st, const BatchNormDesc& d, const float* x, const double* coef, float* y) {
    const int64_t total = static_cast<int64_t>(d.N) * d.C * d.HW;
    if (total == 0) return;
    if (fits32(total)) {
        bn_apply_fwd<uint32_t><<<grid_for(total), kBlock, 0, st>>>(x, d.C, static_cast<uint32_t>(d.HW),
                                                                   static_cast<uint32_t>(total), coef, y);
    } else {
        bn_apply_fwd<int64_t><<<grid_for(total), kBlock, 0, st>>>(x, d.C, d.HW, total, coef, y);
    }
    LRP_CUDA_CHECK_LAUNCH("bn_apply_fwd", st);
}

unsigned channel_blocks(int C) { return static_cast<unsigned>((C + kBlock - 1) / kBlock); }

void bn_fwd_train(const Ctx& ctx, const BatchNormDesc& d, const float* x, const float* gamma, const float* beta,
                  float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var) {
    cudaStream_t st = stream_of(ctx);
    const int64_t M = static_cast<int64_t>(d.N) * d.HW;
    const Split sp = split_for(d);
    double* part = static_cast<double*>(
        ctx.cuda->workspace(sizeof(double) * (static_cast<size_t>(d.C) * sp.S * 2 + static_cast<size_t>(d.C) * 2)));
    double* coef = part + static_cast<int64_t>(d.C) * sp.S * 2;
    bn_partial<<<dim3(d.C, sp.S), kRedThreads, 0, st>>>(x, nullptr, nullptr, d.C, d.HW, M, sp.chunk, part);
    LRP_CUDA_CHECK_LAUNCH("bn_partial(stats)", st);
    bn_finalize_train<<<channel_blocks(d.C), kBlock, 0, st>>>(x, d.C, d.HW, M, sp.S, part, gamma, beta, d.eps,
                                                              d.momentum, save_mean, save_invstd, running_mean,
                                                              running_var, coef);
    LRP_CUDA_CHECK_LAUNCH("bn_finalize_train", st);
    apply_fwd(st, d, x, coef, y);
}

void bn_fwd_eval(const Ctx& ctx, const BatchNormDesc& d, const float* x, const float* gamma, const float* beta,
                 const float* running_mean, const float* running_var, float* y) {
    cudaStream_t st = stream_of(ctx);
    double* coef = static_cast<double*>(ctx.cuda->workspace(sizeof(double) * static_cast<size_t>(d.C) * 2));
    bn_coef_eval<<<channel_blocks(d.C), kBlock, 0, st>>>(d.C, gamma, beta, running_mean, running_var, d.eps, coef);
    LRP_CUDA_CHECK_LAUNCH("bn_coef_eval", st);
    apply_fwd(st, d, x, coef, y);
}

void bn_bwd(const Ctx& ctx, const BatchNormDesc& d, const float* x, const float* dy, const float* gamma,
            const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta) {
    cudaStream_t st = stream_of(ctx);
    const int64_t M = static_cast<int64_t>(d.N) * d.HW;
    const Split sp = split_for(d);
    double* part = static_cast<double*>(
        ctx.cuda->workspace(sizeof(double) * (static_cast<size_t>(d.C) * sp.S * 2 + static_cast<size_t>(d.C) * 3)));
    double* coef = part + static_cast<int64_t>(d.C) * sp.S * 2;
    bn_partial<<<dim3(d.C, sp.S), kRedThreads, 0, st>>>(x, dy, save_mean, d.C, d.HW, M, sp.chunk, part);
    LRP_CUDA_CHECK_LAUNCH("bn_partial(grads)", st);
    bn_finalize_bwd<<<channel_blocks(d.C), kBlock, 0, st>>>(d.C, M, sp.S, part, gamma, save_invstd, dgamma, dbeta,
                                                            coef);
    LRP_CUDA_CHECK_LAUNCH("bn_finalize_bwd", st);
    const int64_t total = static_cast<int64_t>(d.N) * d.C * d.HW;
    if (total == 0) return;
    if (fits32(total)) {
        bn_apply_bwd<uint32_t><<<grid_for(total), kBlock, 0, st>>>(x, dy, d.C, static_cast<uint32_t>(d.HW),
                                                                   static_cast<uint32_t>(total), save_mean, coef, dx);
    } else {
        bn_apply_bwd<int64_t><<<grid_for(total), kBlock, 0, st>>>(x, dy, d.C, d.HW, total, save_mean, coef, dx);
    }
    LRP_CUDA_CHECK_LAUNCH("bn_apply_bwd", st);
}

}  // namespace

void register_batchnorm(OpTable& t) {
    t.bn_fwd_train = bn_fwd_train;
    t.bn_fwd_eval = bn_fwd_eval;
    t.bn_bwd = bn_bwd;
}

}  // namespace lrp::kernels::cuda
