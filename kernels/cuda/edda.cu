// CUDA EDDA window ops: edda_select in three grid-stride passes through double workspace (pixel scores,
// column sums, window sums; the CPU's summation order, so the same bits) and one block per sample choosing
// the arg-max / arg-min-|.| window (CUB block reduction, ties to the lower index); fill_windows grid-stride.
#include <cub/cub.cuh>

#include <climits>

#include "common.cuh"
#include "families.h"

namespace lrp::kernels::cuda {

namespace {
struct Cand {
    double v;
    int32_t i;
};
struct TakeMax {  // larger value, then lower index
    __device__ __forceinline__ Cand operator()(const Cand& a, const Cand& b) const {
        return (a.v > b.v || (a.v == b.v && a.i < b.i)) ? a : b;
    }
};
struct TakeMin {  // smaller value, then lower index
    __device__ __forceinline__ Cand operator()(const Cand& a, const Cand& b) const {
        return (a.v < b.v || (a.v == b.v && a.i < b.i)) ? a : b;
    }
};

__global__ void pixel_scores_k(const __grid_constant__ EddaSelectDesc d, const float* r, double* v, int64_t total) {
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    LRP_CUDA_LOOP(t, total) {
        const int64_t n = t / HW, i = t % HW;
        const float* rn = r + n * d.C * HW + i;
        double s = 0;
        bool finite = true;
        for (int c = 0; c < d.C; ++c) {
            const float x = rn[c * HW];
            finite = finite && isfinite(x);
            const double xd = x;
            s += d.reduce == EddaReduce::Abs ? fabs(xd) : (d.reduce == EddaReduce::Relu ? (xd > 0 ? xd : 0.0) : xd);
        }
        v[t] = finite ? s : NAN;
    }
}

__global__ void column_sums_k(const __grid_constant__ EddaSelectDesc d, const double* v, double* col, int64_t total) {
    const int64_t plane = static_cast<int64_t>((d.H - d.patch + 1)) * d.W;
    LRP_CUDA_LOOP(t, total) {
        const int64_t n = t / plane, j = t % plane;
        const int y0 = static_cast<int>(j / d.W), x = static_cast<int>(j % d.W);
        const double* vn = v + n * d.H * d.W;
        double s = 0;
        for (int dy = 0; dy < d.patch; ++dy) s += vn[static_cast<int64_t>(y0 + dy) * d.W + x];
        col[t] = s;
    }
}

__global__ void window_sums_k(const __grid_constant__ EddaSelectDesc d, const double* col, double* win, int64_t total) {
    const int64_t plane = static_cast<int64_t>((d.H - d.patch + 1)) * (d.W - d.patch + 1);
    LRP_CUDA_LOOP(t, total) {
        const int64_t n = t / plane, j = t % plane;
        const int y0 = static_cast<int>(j / (d.W - d.patch + 1)), x0 = static_cast<int>(j % (d.W - d.patch + 1));
        const double* cn = col + (n * (d.H - d.patch + 1) + y0) * d.W + x0;
        double s = 0;
        for (int dx = 0; dx < d.patch; ++dx) s += cn[dx];
        win[t] = s;
    }
}

__global__ void __launch_bounds__(kBlock)
    choose_k(const __grid_constant__ EddaSelectDesc d, const double* v, const double* win, int32_t* pos, float* valid) {
    using BlockReduce = cub::BlockReduce<Cand, kBlock>;
    __shared__ typename BlockReduce::TempStorage tmp;
    const int64_t n = blockIdx.x, HW = static_cast<int64_t>(d.H) * d.W;
    const int64_t windows = static_cast<int64_t>((d.H - d.patch + 1)) * (d.W - d.patch + 1);
    int bad = 0;
    for (int64_t i = threadIdx.x; i < HW; i += blockDim.x) bad |= isnan(v[n * HW + i]) ? 1 : 0;
    if (__syncthreads_or(bad)) {
        if (threadIdx.x == 0) {
            pos[n] = pos[d.N + n] = -1;
            if (valid) valid[n] = 0.f;
        }
        return;
    }
    Cand best{-INFINITY, INT_MAX}, least{INFINITY, INT_MAX};
    for (int64_t i = threadIdx.x; i < windows; i += blockDim.x) {
        const double s = win[n * windows + i];
        if (s > best.v) best = Cand{s, static_cast<int32_t>(i)};
        if (fabs(s) < least.v) least = Cand{fabs(s), static_cast<int32_t>(i)};
    }
    const Cand b = BlockReduce(tmp).Reduce(best, TakeMax());
    __syncthreads();
    const Cand l = BlockReduce(tmp).Reduce(least, TakeMin());
    if (threadIdx.x == 0) {
        pos[n] = b.i;
        pos[d.N + n] = l.i;
        if (valid) valid[n] = 1.f;
    }
}

void edda_select(const Ctx& ctx, const EddaSelectDesc& d, const float* relevance, int32_t* pos, float* valid) {
    if (d.N == 0) return;
    const int64_t N = d.N, HW = static_cast<int64_t>(d.H) * d.W;
    const int64_t ncol = N * (d.H - d.patch + 1) * d.W, nwin = N * (d.H - d.patch + 1) * (d.W - d.patch + 1);
    double* v = static_cast<double*>(ctx.cuda->workspace(sizeof(double) * static_cast<size_t>(N * HW + ncol + nwin)));
    double* col = v + N * HW;
    double* win = col + ncol;
    const cudaStream_t s = stream_of(ctx);
    pixel_scores_k<<<grid_for(N * HW), kBlock, 0, s>>>(d, relevance, v, N * HW);
    LRP_CUDA_CHECK_LAUNCH("edda_select (pixel scores)", s);
    column_sums_k<<<grid_for(ncol), kBlock, 0, s>>>(d, v, col, ncol);
    LRP_CUDA_CHECK_LAUNCH("edda_select (column sums)", s);
    window_sums_k<<<grid_for(nwin), kBlock, 0, s>>>(d, col, win, nwin);
    LRP_CUDA_CHECK_LAUNCH("edda_select (window sums)", s);
    choose_k<<<static_cast<unsigned>(N), kBlock, 0, s>>>(d, v, win, pos, valid);
    LRP_CUDA_CHECK_LAUNCH("edda_select (choice)", s);
}

__global__ void fill_windows_k(const __grid_constant__ WindowFillDesc d, const int32_t* pos, float* x, int64_t total) {
    const int64_t area = static_cast<int64_t>(d.patch) * d.patch, HW = static_cast<int64_t>(d.H) * d.W;
    const int ww = (d.W - d.patch + 1), windows = (d.H - d.patch + 1) * ww;
    LRP_CUDA_LOOP(t, total) {
        const int64_t n = t / area;
        const int q = static_cast<int>(t % area);
        const int32_t p = pos[n];
        if (p < 0 || p >= windows) continue;
        const int y = p / ww + q / d.patch, xx = p % ww + q % d.patch;
        float* px = x + n * d.C * HW + static_cast<int64_t>(y) * d.W + xx;
        for (int c = 0; c < d.C; ++c) px[c * HW] = d.fill[c];
    }
}

void fill_windows(const Ctx& ctx, const WindowFillDesc& d, const int32_t* pos, float* x) {
    const int64_t total = static_cast<int64_t>(d.N) * d.patch * d.patch;
    if (total == 0) return;
    fill_windows_k<<<grid_for(total), kBlock, 0, stream_of(ctx)>>>(d, pos, x, total);
    LRP_CUDA_CHECK_LAUNCH("fill_windows", stream_of(ctx));
}
}  // namespace

void register_edda(OpTable& t) {
    t.edda_select = edda_select;
    t.fill_windows = fill_windows;
}

}  // namespace lrp::kernels::cuda
