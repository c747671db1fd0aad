// CUDA softmax cross-entropy with label smoothing: one block per sample, block max then a double
// sum of exp (CUB block reductions, deterministic), loss and gradient in double like the CPU.
#include <cub/cub.cuh>

#include "common.cuh"

namespace lrp::kernels::cuda {
namespace {

constexpr int kXentBlock = 128;

struct FMax {
    __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct Sum2 {
    double e, x;  // sum of exp(x - max), sum of x
};
struct Sum2Op {
    __device__ __forceinline__ Sum2 operator()(const Sum2& a, const Sum2& b) const {
        return {a.e + b.e, a.x + b.x};
    }
};

__global__ void __launch_bounds__(kXentBlock)
    xent_k(const float* logits, const int32_t* labels, int K, double smoothing, float grad_scale, float* loss,
           float* dlogits) {
    const int64_t n = blockIdx.x;
    const float* x = logits + n * K;
    float* dx = dlogits ? dlogits + n * K : nullptr;
    const int32_t label = labels[n];
    if (label < 0 || label >= K) {  // uniform across the block: no barrier is skipped by some threads only
        if (threadIdx.x == 0) loss[n] = NAN;
        if (dx)
            for (int k = threadIdx.x; k < K; k += kXentBlock) dx[k] = NAN;
        return;
    }
    __shared__ typename cub::BlockReduce<float, kXentBlock>::TempStorage tmp_max;
    __shared__ typename cub::BlockReduce<Sum2, kXentBlock>::TempStorage tmp_sum;
    __shared__ double sh_max, sh_lse;

    float m = -INFINITY;  // fmaxf ignores NaN; a NaN logit still makes the sum (and loss) NaN
    for (int k = threadIdx.x; k < K; k += kXentBlock) m = fmaxf(m, x[k]);
    m = cub::BlockReduce<float, kXentBlock>(tmp_max).Reduce(m, FMax{});
    if (threadIdx.x == 0) sh_max = m;
    __syncthreads();
    const double mx = sh_max;

    Sum2 acc{0.0, 0.0};
    for (int k = threadIdx.x; k < K; k += kXentBlock) {
        acc.e += exp(static_cast<double>(x[k]) - mx);
        acc.x += x[k];
    }
    acc = cub::BlockReduce<Sum2, kXentBlock>(tmp_sum).Reduce(acc, Sum2Op{});
    const double off = smoothing / K, on = 1.0 - smoothing + off;
    if (threadIdx.x == 0) {
        const double lse = mx + log(acc.e);
        sh_lse = lse;
        // (without smoothing the second term is skipped: a -inf logit would make it 0 * inf = NaN)
        loss[n] = static_cast<float>((1.0 - smoothing) * (lse - x[label]) + (off == 0 ? 0.0 : off * (K * lse - acc.x)));
    }
    if (!dx) return;
    __syncthreads();
    const double lse = sh_lse;
    for (int k = threadIdx.x; k < K; k += kXentBlock) {
        const double p = exp(static_cast<double>(x[k]) - lse);
        dx[k] = static_cast<float>(grad_scale * (p - (k == label ? on : off)));
    }
}

void softmax_xent(const Ctx& ctx, const float* logits, const int32_t* labels, int N, int K, float smoothing,
                  float grad_scale, float* loss, float* dlogits) {
    if (N <= 0) return;
    xent_k<<<static_cast<unsigned>(N), kXentBlock, 0, stream_of(ctx)>>>(logits, labels, K, smoothing, grad_scale,
                                                                        loss, dlogits);
    LRP_CUDA_CHECK_LAUNCH("softmax_xent", stream_of(ctx));
}

}  // namespace

void register_softmax_xent(OpTable& t) { t.softmax_xent = softmax_xent; }

}  // namespace lrp::kernels::cuda
