// CUDA Saliency Guided Training ops (sgt_math.h): keys and finiteness one block per row, the fill grid-stride over
// (sample, index, channel) (the same bits as the CPU), the KL term one thread per row in double (the CPU's
// formula; exp, log and contraction may differ in the last bits).
#include "common.cuh"
#include "families.h"
#include "lrp/kernels/sgt_math.h"

namespace lrp::kernels::cuda {

namespace {

// One block per row: coalesced strided reads, the row's finiteness by a block-wide OR of "some value is not".
__global__ void keys_k(int64_t HW, const float* map, bool abs_value, float* key, float* valid) {
    const int64_t n = blockIdx.x;
    const float* m = map + n * HW;
    float* k = key + n * HW;
    int bad = 0;
    for (int64_t j = threadIdx.x; j < HW; j += blockDim.x) {
        const float v = m[j];
        bad |= !(fabsf(v) <= 3.402823466e38f);
        k[j] = abs_value ? -fabsf(v) : -v;
    }
    bad = __syncthreads_or(bad);
    if (threadIdx.x == 0) valid[n] = bad ? 0.f : 1.f;
}

void sgt_keys(const Ctx& ctx, int64_t N, int64_t HW, const float* map, bool abs_value, float* key, float* valid) {
    if (N == 0) return;
    cudaStream_t st = stream_of(ctx);
    keys_k<<<static_cast<unsigned>(N), kBlock, 0, st>>>(HW, map, abs_value, key, valid);
    LRP_CUDA_CHECK_LAUNCH("sgt_keys", st);
}

__global__ void fill_k(int64_t total, int C, int64_t HW, int k, const int32_t* idx, const float* valid,
                       const float* lo, const float* hi, uint64_t seed, uint64_t offset, float* x) {
    LRP_CUDA_LOOP(t, total) {  // t = (n k + j) C + c
        const int c = static_cast<int>(t % C);
        const int64_t nj = t / C, n = nj / k;
        const int64_t pix = idx[nj];
        if (valid[n] == 0.f || pix < 0 || pix >= HW) continue;
        x[(n * C + c) * HW + pix] = sgt_fill_value(lo[n * C + c], hi[n * C + c], seed, offset, static_cast<uint64_t>(t));
    }
}

void sgt_fill(const Ctx& ctx, int64_t N, int C, int64_t HW, int k, const int32_t* idx, const float* valid,
              const float* lo, const float* hi, uint64_t seed, uint64_t offset, float* x) {
    const int64_t total = N * k * C;
    if (total == 0) return;
    cudaStream_t st = stream_of(ctx);
    fill_k<<<grid_for(total), kBlock, 0, st>>>(total, C, HW, k, idx, valid, lo, hi, seed, offset, x);
    LRP_CUDA_CHECK_LAUNCH("sgt_fill", st);
}

__global__ void kl_k(int64_t N, int K, const float* zc, const float* zm, const float* valid, float scale,
                     float* loss, float* dzc, float* dzm) {
    LRP_CUDA_LOOP(n, N) {
        float* gc = dzc ? dzc + n * K : nullptr;
        loss[n] = sgt_kl_valid_row(K, zc + n * K, zm + n * K, valid[n], scale, gc, dzm + n * K);
    }
}

void sgt_kl(const Ctx& ctx, int64_t N, int K, const float* zc, const float* zm, const float* valid, float scale,
            float* loss, float* dzc, float* dzm) {
    if (N == 0) return;
    cudaStream_t st = stream_of(ctx);
    kl_k<<<grid_for(N), kBlock, 0, st>>>(N, K, zc, zm, valid, scale, loss, dzc, dzm);
    LRP_CUDA_CHECK_LAUNCH("sgt_kl", st);
}

}  // namespace

void register_sgt(OpTable& t) {
    t.sgt_keys = sgt_keys;
    t.sgt_fill = sgt_fill;
    t.sgt_kl = sgt_kl;
}

}  // namespace lrp::kernels::cuda
