// CUDA RelDrop kernels: channel_sum (grid-stride), topk_rows (one block per row: radix select of the k-th
// topk_key, then a shared-memory bitonic sort of the selected keys, 2048 at a time) and the pixel / box
// occlusions (one block per sample). Decisions from reldrop_sampler.h: bit-identical to the CPU, no host sync.
#include <cub/cub.cuh>

#include <climits>

#include "common.cuh"
#include "families.h"
#include "lrp/kernels/reldrop_sampler.h"

namespace lrp::kernels::cuda {

namespace {
__global__ void channel_sum_k(const float* x, int C, int64_t HW, float* map, int64_t total) {
    LRP_CUDA_LOOP(j, total) {
        const int64_t n = j / HW, i = j % HW;
        const float* xn = x + n * C * HW;
        float s = xn[i];
        for (int c = 1; c < C; ++c) s += xn[c * HW + i];  // channel order, as on the CPU
        map[j] = s;
    }
}

// ---- top-k ------------------------------------------------------------------------------------------
constexpr int kTopkThreads = 256;  // == the 256 radix bins: thread t owns the suffix sum of bin 255 - t
constexpr int kTopkChunk = 2048;   // keys sorted at once in shared memory (16 KiB)
using TopkScan = cub::BlockScan<int, kTopkThreads>;

struct TopkShared {
    int hist[256];
    TopkScan::TempStorage scan;
    uint64_t keys[kTopkChunk];
    int bin, above, count, fill;
};

// The threshold T (a key prefix followed by zero bits) such that exactly r keys of the row are >= T
// (1 <= r <= cols; keys are unique). MSD radix select, 8 bits per pass, stopping as soon as the bucket
// holding the r-th key is taken whole. Histograms use warp-aggregated shared atomics (__match_any_sync:
// equal digits across a warp cost one atomic), so a row of near-equal values does not serialise.
__device__ uint64_t topk_threshold(const float* row, int64_t cols, int r, TopkShared& s) {
    const int t = threadIdx.x, lane = t & 31;
    uint64_t prefix = 0, mask = 0;
    int need = r;
    for (int shift = 56; shift >= 0; shift -= 8) {
        s.hist[t] = 0;
        __syncthreads();
        for (int64_t base = 0; base < cols; base += kTopkThreads) {  // uniform trip count: full warps
            const int64_t i = base + t;
            int bin = -1;
            if (i < cols) {
                const uint64_t key = topk_key(row[i], static_cast<uint32_t>(i));
                if ((key & mask) == prefix) bin = static_cast<int>((key >> shift) & 0xFF);
            }
            const unsigned peers = __match_any_sync(0xFFFFFFFFu, bin);
            if (bin >= 0 && lane == __ffs(peers) - 1) atomicAdd(&s.hist[bin], __popc(peers));
        }
        __syncthreads();
        const int count = s.hist[255 - t];
        int incl = 0;
        TopkScan(s.scan).InclusiveSum(count, incl);  // keys (matching prefix) in bins >= 255 - t
        if (incl - count < need && need <= incl) {   // exactly one thread
            s.bin = 255 - t;
            s.above = incl - count;
            s.count = count;
        }
        __syncthreads();
        const int bin = s.bin, cnt = s.count;
        need -= s.above;
        prefix |= static_cast<uint64_t>(bin) << shift;
        mask |= static_cast<uint64_t>(0xFF) << shift;
        if (cnt == need) break;  // uniform: every key of this bucket is selected, i.e. all keys >= prefix
    }
    return prefix;
}

// Sorts a[0, P) descending (P a power of two <= kTopkChunk); ends with a barrier.
__device__ void bitonic_sort_desc(uint64_t* a, int P) {
    for (int size = 2; size <= P; size <<= 1) {
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int q = threadIdx.x; q < P / 2; q += blockDim.x) {
                const int i = 2 * stride * (q / stride) + (q % stride), j = i + stride;
                const uint64_t ai = a[i], aj = a[j];
                const bool desc = (i & size) == 0;  // the final merge (size == P) is descending
                if (desc ? ai < aj : ai > aj) {
                    a[i] = aj;
                    a[j] = ai;
                }
            }
            __syncthreads();
        }
    }
}

// Ranks [lo, lo + m) of a row are the keys in [T(lo + m), T(lo)) (T(0) = no upper bound): collected in
// any order, then sorted, so the output is deterministic.
__global__ void __launch_bounds__(kTopkThreads)
    topk_rows_k(const float* x, int64_t rows, int64_t cols, int k, int32_t* idx, float* vals) {
    __shared__ TopkShared s;
    const int t = threadIdx.x;
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = x + r * cols;
        uint64_t upper = 0;
        for (int lo = 0; lo < k; lo += kTopkChunk) {
            const int m = min(k - lo, kTopkChunk);
            const uint64_t lower = topk_threshold(row, cols, lo + m, s);
            if (t == 0) s.fill = 0;
            __syncthreads();
            for (int64_t i = t; i < cols; i += kTopkThreads) {
                const uint64_t key = topk_key(row[i], static_cast<uint32_t>(i));
                if (key >= lower && (lo == 0 || key < upper)) {
                    const int slot = atomicAdd(&s.fill, 1);  // < m: keys are unique
                    if (slot < kTopkChunk) s.keys[slot] = key;
                }
            }
            int P = 1;
            while (P < m) P <<= 1;
            for (int j = m + t; j < P; j += kTopkThreads) s.keys[j] = 0;  // below every real key
            __syncthreads();
            bitonic_sort_desc(s.keys, P);
            for (int j = t; j < m; j += kTopkThreads) {
                const int32_t i = topk_key_index(s.keys[j]);
                idx[r * k + lo + j] = i;
                if (vals) vals[r * k + lo + j] = row[i];
            }
            upper = lower;
            __syncthreads();  // keys and fill are reused by the next chunk or row
        }
    }
}

// ---- occlusions ---------------------------------------------------------------------------------------
struct MinMaxBad {
    float mn, mx;
    int bad;
};
struct MinMaxBadOp {
    __device__ __forceinline__ MinMaxBad operator()(const MinMaxBad& a, const MinMaxBad& b) const {
        return {fminf(a.mn, b.mn), fmaxf(a.mx, b.mx), a.bad | b.bad};
    }
};

__global__ void __launch_bounds__(kBlock) reldrop_pixel_k(const __grid_constant__ RelDropDesc d, const float* map,
                                                          uint64_t seed, uint64_t offset, float* x, int32_t* status) {
    using BR = cub::BlockReduce<MinMaxBad, kBlock>;
    __shared__ typename BR::TempStorage tmp;
    __shared__ MinMaxBad res;
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    for (int64_t n = blockIdx.x; n < d.N; n += gridDim.x) {
        __syncthreads();  // the previous sample's res and tmp are no longer read
        if (!reldrop_selected(d, seed, offset, n)) {  // uniform across the block
            if (threadIdx.x == 0 && status) status[n] = kRelDropNotSelected;
            continue;
        }
        const float* m = map + n * HW;
        MinMaxBad acc{INFINITY, -INFINITY, 0};
        for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) {
            const float v = m[i];
            if (isfinite(v)) {
                acc.mn = fminf(acc.mn, v);
                acc.mx = fmaxf(acc.mx, v);
            } else {
                acc.bad = 1;
            }
        }
        const MinMaxBad red = BR(tmp).Reduce(acc, MinMaxBadOp{});
        if (threadIdx.x == 0) res = red;
        __syncthreads();
        const MinMaxBad all = res;
        if (all.bad) {
            if (threadIdx.x == 0 && status) status[n] = kRelDropNonFinite;
            continue;
        }
        const float mn = all.mn + 0.f, mx = all.mx + 0.f;  // -0 -> +0, as on the CPU
        const RnScale sc = reldrop_rn_scale(d.pixel_norm, mn, mx);
        if (threadIdx.x == 0 && status) status[n] = sc.ok ? kRelDropApplied : kRelDropAppliedFlat;
        float* xn = x + n * d.C * HW;
        for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) {
            const float rn = reldrop_rn(d.pixel_norm, m[i], sc);
            if (!reldrop_pixel_drops(d.alpha, d.beta, rn, reldrop_pixel_noise(d, seed, offset, n, i))) continue;
            for (int c = 0; c < d.C; ++c) xn[c * HW + i] = d.fill[c];
        }
    }
}

__global__ void __launch_bounds__(kBlock)
    reldrop_boxes_k(const __grid_constant__ RelDropDesc d, const float* map, const int32_t* centres, uint64_t seed,
                    uint64_t offset, float* x, int32_t* status) {
    __shared__ Box box;
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    for (int64_t n = blockIdx.x; n < d.N; n += gridDim.x) {
        __syncthreads();  // the previous sample's box is no longer read
        if (!reldrop_selected(d, seed, offset, n)) {
            if (threadIdx.x == 0 && status) status[n] = kRelDropNotSelected;
            continue;
        }
        const float* m = map + n * HW;
        int bad = 0, varies = 0;
        const float m0 = m[0];
        for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) {
            bad |= !isfinite(m[i]);
            varies |= m[i] != m0;  // -0 == +0, as the CPU's min == max
        }
        if (__syncthreads_or(bad)) {
            if (threadIdx.x == 0 && status) status[n] = kRelDropNonFinite;
            continue;
        }
        const bool flat = !__syncthreads_or(varies);
        bool any = false;  // (thread 0) a box was placed
        for (int j = 0; j < (d.patch_each ? d.k : 1); ++j) {  // patch_each: one box per centre
            if (threadIdx.x == 0) {
                const int32_t* cn = centres + n * d.k;
                box = d.patch_each ? reldrop_each_box(d, seed, offset, n, j, cn) : reldrop_box(d, seed, offset, n, cn);
                any = any || box.valid;
            }
            __syncthreads();
            const Box b = box;
            if (b.valid) fill_box_block(x, b, n, d.C, d.W, HW, d.fill);  // uniform across the block
            __syncthreads();  // box is rewritten for the next centre
        }
        if (threadIdx.x == 0 && status) status[n] = !any ? kRelDropNoBox : flat ? kRelDropAppliedFlat : kRelDropApplied;
    }
}

unsigned blocks_for(int64_t n) { return static_cast<unsigned>(std::min<int64_t>(n, 65535LL * 8)); }

void channel_sum(const Ctx& ctx, const float* x, int N, int C, int64_t HW, float* map) {
    const int64_t total = static_cast<int64_t>(N) * HW;
    if (total == 0) return;
    channel_sum_k<<<grid_for(total), kBlock, 0, stream_of(ctx)>>>(x, C, HW, map, total);
    LRP_CUDA_CHECK_LAUNCH("channel_sum", stream_of(ctx));
}

void topk_rows(const Ctx& ctx, const float* x, int64_t rows, int64_t cols, int k, int32_t* idx, float* vals) {
    if (rows <= 0) return;
    LRP_CHECK(cols <= INT_MAX && k >= 1 && k <= cols, "topk_rows: k = ", k, " over ", cols, " columns");
    topk_rows_k<<<blocks_for(rows), kTopkThreads, 0, stream_of(ctx)>>>(x, rows, cols, k, idx, vals);
    LRP_CUDA_CHECK_LAUNCH("topk_rows", stream_of(ctx));
}

void reldrop_pixel(const Ctx& ctx, const RelDropDesc& d, const float* map, uint64_t seed, uint64_t offset, float* x,
                   int32_t* status) {
    if (d.N == 0) return;
    reldrop_pixel_k<<<blocks_for(d.N), kBlock, 0, stream_of(ctx)>>>(d, map, seed, offset, x, status);
    LRP_CUDA_CHECK_LAUNCH("reldrop_pixel", stream_of(ctx));
}

void reldrop_boxes(const Ctx& ctx, const RelDropDesc& d, const float* map, const int32_t* centres, uint64_t seed,
                   uint64_t offset, float* x, int32_t* status) {
    if (d.N == 0) return;
    reldrop_boxes_k<<<blocks_for(d.N), kBlock, 0, stream_of(ctx)>>>(d, map, centres, seed, offset, x, status);
    LRP_CUDA_CHECK_LAUNCH("reldrop_boxes", stream_of(ctx));
}
}  // namespace

void register_reldrop(OpTable& t) {
    t.channel_sum = channel_sum;
    t.topk_rows = topk_rows;
    t.reldrop_pixel = reldrop_pixel;
    t.reldrop_boxes = reldrop_boxes;
}

}  // namespace lrp::kernels::cuda
