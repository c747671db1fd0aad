// CUDA ISNet heatmap loss (IsnetLossDesc): per-map foreground statistics (one block per map), a global-memory
// bitonic sort of every channel's background values (key descending, then pixel index: the CPU's stable order,
// so the same GWRP ranks), GWRP sums (one block per channel), per-sample terms (one thread per sample) and the
// elementwise gradient; Stochastic ISNet's class draw and Selective ISNet's seed (one thread per row). Everything stays on the stream: no host synchronisation.
#include <cub/cub.cuh>

#include "common.cuh"
#include "families.h"
#include "lrp/kernels/isnet_loss_math.h"

namespace lrp::kernels::cuda {
namespace {

using BlockReduceD = cub::BlockReduce<double, kBlock>;
using BlockReduceI = cub::BlockReduce<int, kBlock>;

// Block nk = n * K + k: F = sum |h| m, the foreground count, and the non-finite count of map (n, k).
__global__ void __launch_bounds__(kBlock) stats_k(IsnetLossDesc d, const float* maps, const float* mask, double* F,
                                                  double* msum, int* nbad) {
    __shared__ BlockReduceD::TempStorage tf, tm;
    __shared__ BlockReduceI::TempStorage tb;
    const int64_t nk = blockIdx.x, n = nk / d.K, HW = static_cast<int64_t>(d.H) * d.W, CHW = d.C * HW;
    const float* h = maps + nk * CHW;
    const float* m = mask + n * HW;
    double f = 0, ms = 0;
    int b = 0;
    for (int64_t t = threadIdx.x; t < CHW; t += kBlock) {
        const float x = h[t];
        b += isfinite(x) ? 0 : 1;
        if (m[t % HW] != 0.f) f += fabs(static_cast<double>(x));
    }
    for (int64_t t = threadIdx.x; t < HW; t += kBlock) ms += m[t] != 0.f ? 1.0 : 0.0;
    f = BlockReduceD(tf).Sum(f);
    ms = BlockReduceD(tm).Sum(ms);
    b = BlockReduceI(tb).Sum(b);
    if (threadIdx.x == 0) F[nk] = f, msum[nk] = ms, nbad[nk] = b;
}

__device__ __forceinline__ bool sample_bad(const IsnetLossDesc& d, const int* nbad, int64_t n) {
    int b = 0;
    for (int k = 0; k < d.K; ++k) b += nbad[n * d.K + k];
    return b > 0;
}

__device__ __forceinline__ double inv_of(const IsnetLossDesc& d, const double* F, const double* msum, int64_t nk) {
    const double mu = F[nk] / (d.C * msum[nk] + 1e-10);
    return 1.0 / (mu + 1e-10);
}

// Segment seg = (n * K + k) * C + c, padded to P2 entries: key = |h| (1 - m) / (mu + 1e-10), -inf padding
// (last in a descending sort); a bad sample's keys are 0 (its result is discarded).
__global__ void keys_k(IsnetLossDesc d, int64_t P2, int64_t total, const float* maps, const float* mask, const double* F,
                       const double* msum, const int* nbad, double* key, int32_t* idx) {
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    LRP_CUDA_LOOP(t, total) {
        const int64_t seg = t / P2, j = t % P2, nk = seg / d.C, n = nk / d.K;
        double v = -INFINITY;
        if (j < HW) {
            if (sample_bad(d, nbad, n) || mask[n * HW + j] != 0.f) v = 0.0;
            else v = fabs(static_cast<double>(maps[seg * HW + j])) * inv_of(d, F, msum, nk);
        }
        key[t] = v;
        idx[t] = static_cast<int32_t>(j);
    }
}

// (key, index) a goes before b: larger key, then smaller index (a total order: the result is unique).
__device__ __forceinline__ bool before(double ka, int32_t ia, double kb, int32_t ib) {
    return ka > kb || (ka == kb && ia < ib);
}

// One compare-exchange step (k, j) of a bitonic sort of every P2-long segment.
__global__ void bitonic_k(int64_t P2, int64_t total, int64_t k, int64_t j, double* key, int32_t* idx) {
    LRP_CUDA_LOOP(t, total) {
        const int64_t i = t % P2, l = i ^ j;
        if (l <= i) continue;
        const int64_t a = t, b = t - i + l;
        const bool up = (i & k) == 0;  // this half ends in "before" order
        const bool swap = up ? before(key[b], idx[b], key[a], idx[a]) : before(key[a], idx[a], key[b], idx[b]);
        if (swap) {
            const double tk = key[a];
            key[a] = key[b], key[b] = tk;
            const int32_t ti = idx[a];
            idx[a] = idx[b], idx[b] = ti;
        }
    }
}

// Block seg: g = sum_i w_i key_(i) and each pixel's weight wr[seg, pixel] = w_(its rank).
__global__ void __launch_bounds__(kBlock) gwrp_k(IsnetLossDesc d, int64_t P2, double norm, const double* key,
                                                 const int32_t* idx, double* g, double* wr) {
    __shared__ BlockReduceD::TempStorage tmp;
    const int64_t seg = blockIdx.x, HW = static_cast<int64_t>(d.H) * d.W;
    double acc = 0;
    for (int64_t i = threadIdx.x; i < HW; i += kBlock) {
        const double w = gwrp_weight(d.decay, i, norm);
        acc += w * key[seg * P2 + i];
        wr[seg * HW + idx[seg * P2 + i]] = w;
    }
    acc = BlockReduceD(tmp).Sum(acc);
    if (threadIdx.x == 0) g[seg] = acc;
}

// Thread n: loss[n], bad[n], and the gradient coefficients: bg[seg] = dL/dg per channel, fgc[nk] = dL/da at a
// foreground pixel of map nk.
__global__ void sample_k(IsnetLossDesc d, const double* F, const double* msum, const int* nbad, const double* g,
                         double* bg, double* fgc, float* loss, int32_t* bad) {
    LRP_CUDA_LOOP(n, static_cast<int64_t>(d.N)) {
        const bool is_bad = sample_bad(d, nbad, n);
        const double s = 1.0 / d.N, cb = s * d.A / (d.K * d.C);
        double l_bg = 0, l_fg = 0;
        for (int k = 0; k < d.K; ++k) {
            const int64_t nk = n * d.K + k;
            const double inv = inv_of(d, F, msum, nk);
            double dmu = 0;
            for (int c = 0; c < d.C; ++c) {
                const int64_t seg = nk * d.C + c;
                double value, dg;
                isnet_bg_term(g[seg], d.E, value, dg);
                l_bg += value;
                bg[seg] = cb * dg;
                dmu -= cb * dg * g[seg] * inv;
            }
            double fval, dF;
            isnet_fg_term(F[nk], d.C1, d.C2, d.foreground, fval, dF);
            l_fg += fval;
            fgc[nk] = dmu / (d.C * msum[nk] + 1e-10) + s * d.B / d.K * dF;
        }
        loss[n] = is_bad ? 0.f : static_cast<float>(d.A * l_bg / (d.K * d.C) + d.B * l_fg / d.K);
        bad[n] = is_bad ? 1 : 0;
    }
}

__global__ void grad_k(IsnetLossDesc d, int64_t total, const float* maps, const float* mask, const double* F,
                       const double* msum, const int* nbad, const double* bg, const double* fgc, const double* wr,
                       float* dmaps) {
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    LRP_CUDA_LOOP(t, total) {
        const int64_t seg = t / HW, j = t % HW, nk = seg / d.C, n = nk / d.K;
        if (sample_bad(d, nbad, n)) {
            dmaps[t] = 0.f;
            continue;
        }
        const double da = mask[n * HW + j] != 0.f ? fgc[nk] : bg[seg] * wr[t] * inv_of(d, F, msum, nk);
        dmaps[t] = static_cast<float>(da * abs_sign(maps[t]));
    }
}

__global__ void pick_k(int64_t N, int K, const int32_t* top, uint64_t seed, uint64_t offset, int32_t* cls) {
    LRP_CUDA_LOOP(n, N) cls[n] = isnet_pick(K, top[n], seed, offset, n);
}

void isnet_pick_class(const Ctx& ctx, int64_t N, int K, const int32_t* top, uint64_t seed, uint64_t offset,
                      int32_t* cls) {
    if (N == 0) return;
    cudaStream_t st = stream_of(ctx);
    pick_k<<<grid_for(N), kBlock, 0, st>>>(N, K, top, seed, offset, cls);
    LRP_CUDA_CHECK_LAUNCH("isnet_pick_class", st);
}

__global__ void selective_k(int64_t N, int K, int form, const float* z, float eps, const float* u, float* out) {
    LRP_CUDA_LOOP(n, N) {
        if (form == kIsnetSelectiveSoftmin) isnet_softmin_row(K, z + n * K, eps, u ? u + n * K : nullptr, out + n * K);
        else isnet_selective_row(K, z + n * K, eps, u ? u + n * K : nullptr, out + n * K);
    }
}

void isnet_selective(const Ctx& ctx, int64_t N, int K, int form, const float* z, float eps, const float* u,
                     float* out) {
    if (N == 0) return;
    cudaStream_t st = stream_of(ctx);
    selective_k<<<grid_for(N), kBlock, 0, st>>>(N, K, form, z, eps, u, out);
    LRP_CUDA_CHECK_LAUNCH("isnet_selective", st);
}

__global__ void gwrp_rows_k(int64_t M, int L, const float* v, float decay, float* total, float* w) {
    LRP_CUDA_LOOP(m, M) gwrp_row(L, v + m * L, decay, total + m, w + m * L);
}

void gwrp_rows(const Ctx& ctx, int64_t M, int L, const float* v, float decay, float* total, float* w) {
    if (M == 0) return;
    cudaStream_t st = stream_of(ctx);
    gwrp_rows_k<<<grid_for(M), kBlock, 0, st>>>(M, L, v, decay, total, w);
    LRP_CUDA_CHECK_LAUNCH("gwrp_rows", st);
}

template <class T>
T* carve(char*& p, int64_t n) {
    T* r = reinterpret_cast<T*>(p);
    p += (static_cast<size_t>(n) * sizeof(T) + 15) / 16 * 16;
    return r;
}

void isnet_heat_loss(const Ctx& ctx, const IsnetLossDesc& d, const float* maps, const float* mask, float* loss,
                     float* dmaps, int32_t* bad) {
    if (d.N == 0) return;
    const int64_t HW = static_cast<int64_t>(d.H) * d.W, NK = static_cast<int64_t>(d.N) * d.K, NKC = NK * d.C;
    int64_t P2 = 1;
    while (P2 < HW) P2 <<= 1;
    const size_t bytes = 16 * 12 + sizeof(double) * static_cast<size_t>(3 * NK + 3 * NKC + NKC * P2 + NKC * HW) +
                         sizeof(int32_t) * static_cast<size_t>(NK + NKC * P2);
    char* p = static_cast<char*>(ctx.cuda->workspace(bytes));
    double *F = carve<double>(p, NK), *msum = carve<double>(p, NK), *fgc = carve<double>(p, NK);
    double *g = carve<double>(p, NKC), *bg = carve<double>(p, NKC), *key = carve<double>(p, NKC * P2);
    double* wr = carve<double>(p, NKC * HW);
    int* nbad = carve<int>(p, NK);
    int32_t* idx = carve<int32_t>(p, NKC * P2);
    cudaStream_t st = stream_of(ctx);
    stats_k<<<static_cast<unsigned>(NK), kBlock, 0, st>>>(d, maps, mask, F, msum, nbad);
    LRP_CUDA_CHECK_LAUNCH("isnet_heat_loss stats", st);
    const int64_t nkeys = NKC * P2;
    keys_k<<<grid_for(nkeys), kBlock, 0, st>>>(d, P2, nkeys, maps, mask, F, msum, nbad, key, idx);
    LRP_CUDA_CHECK_LAUNCH("isnet_heat_loss keys", st);
    for (int64_t k = 2; k <= P2; k <<= 1)
        for (int64_t j = k >> 1; j > 0; j >>= 1) {
            bitonic_k<<<grid_for(nkeys), kBlock, 0, st>>>(P2, nkeys, k, j, key, idx);
            LRP_CUDA_CHECK_LAUNCH("isnet_heat_loss sort", st);
        }
    gwrp_k<<<static_cast<unsigned>(NKC), kBlock, 0, st>>>(d, P2, gwrp_norm(d.decay, HW), key, idx, g, wr);
    LRP_CUDA_CHECK_LAUNCH("isnet_heat_loss gwrp", st);
    sample_k<<<grid_for(d.N), kBlock, 0, st>>>(d, F, msum, nbad, g, bg, fgc, loss, bad);
    LRP_CUDA_CHECK_LAUNCH("isnet_heat_loss terms", st);
    grad_k<<<grid_for(NKC * HW), kBlock, 0, st>>>(d, NKC * HW, maps, mask, F, msum, nbad, bg, fgc, wr, dmaps);
    LRP_CUDA_CHECK_LAUNCH("isnet_heat_loss grad", st);
}

}  // namespace

void register_isnet_loss(OpTable& t) {
    t.isnet_heat_loss = isnet_heat_loss;
    t.isnet_pick_class = isnet_pick_class;
    t.isnet_selective = isnet_selective;
    t.gwrp_rows = gwrp_rows;
}

}  // namespace lrp::kernels::cuda
