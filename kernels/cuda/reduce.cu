// CUDA reductions, deterministic: fixed per-thread strides, CUB block reductions (fixed order) and,
// for long rows, a fixed two-stage split through workspace partials; sums accumulate in double.
// reduce_rows is the N = 1 case of the plane reduction used by reduce_channels.
#include <cub/cub.cuh>

#include <climits>

#include "common.cuh"

namespace lrp::kernels::cuda {
namespace {

template <ReduceOp OP>
struct Red {
    __device__ __forceinline__ static double identity() {
        if constexpr (OP == ReduceOp::Max) return -INFINITY;
        if constexpr (OP == ReduceOp::Min) return INFINITY;
        return 0.0;
    }
    __device__ __forceinline__ static double load(float v) {
        const double d = v;
        if constexpr (OP == ReduceOp::SumSq) return d * d;
        return d;
    }
    // NaN propagates through max/min (as in PyTorch); associative and commutative for every op.
    __device__ __forceinline__ double operator()(double a, double b) const {
        if constexpr (OP == ReduceOp::Max) return isnan(a) ? a : ((isnan(b) || b > a) ? b : a);
        if constexpr (OP == ReduceOp::Min) return isnan(a) ? a : ((isnan(b) || b < a) ? b : a);
        return a + b;
    }
    __device__ __forceinline__ static float finish(double acc, double count) {
        if constexpr (OP == ReduceOp::Mean) return static_cast<float>(acc / count);
        return static_cast<float>(acc);
    }
};

using BlockReduceD = cub::BlockReduce<double, kBlock>;

// Block (c, p) reduces part p (elements [p*chunk, (p+1)*chunk) of the N*HW run) of plane c, where
// plane c is x[n, c, 0..HW) for every n. One part: the final value; several: a double partial.
template <ReduceOp OP>
__global__ void __launch_bounds__(kBlock) planes_k(const float* x, int64_t N, int64_t C, int64_t HW, int64_t chunk,
                                                   int parts, double count, double* partial, float* y) {
    const int64_t c = blockIdx.x;
    const int p = blockIdx.y;
    const int64_t begin = static_cast<int64_t>(p) * chunk;
    const int64_t end = min(N * HW, begin + chunk);
    const Red<OP> red;
    double acc = Red<OP>::identity();
    int64_t j = begin + threadIdx.x;
    if (j < end) {
        int64_t n = j / HW, i = j - n * HW;
        const int64_t dq = kBlock / HW, dr = kBlock % HW;  // step of kBlock elements in (n, i)
        for (; j < end; j += kBlock) {
            acc = red(acc, Red<OP>::load(x[(n * C + c) * HW + i]));
            n += dq;
            i += dr;
            if (i >= HW) {
                i -= HW;
                ++n;
            }
        }
    }
    __shared__ typename BlockReduceD::TempStorage tmp;
    const double r = BlockReduceD(tmp).Reduce(acc, red);
    if (threadIdx.x == 0) {
        if (parts == 1)
            y[c] = Red<OP>::finish(r, count);
        else
            partial[c * parts + p] = r;
    }
}

template <ReduceOp OP>
__global__ void __launch_bounds__(kBlock) partials_k(const double* partial, int parts, double count, float* y) {
    const int64_t c = blockIdx.x;
    const Red<OP> red;
    double acc = Red<OP>::identity();
    for (int p = threadIdx.x; p < parts; p += kBlock) acc = red(acc, partial[c * parts + p]);
    __shared__ typename BlockReduceD::TempStorage tmp;
    const double r = BlockReduceD(tmp).Reduce(acc, red);
    if (threadIdx.x == 0) y[c] = Red<OP>::finish(r, count);
}

// The split depends only on the shape, so results are bitwise reproducible run to run.
template <ReduceOp OP>
void reduce_planes(const Ctx& ctx, const char* what, const float* x, int64_t N, int64_t C, int64_t HW, float* y) {
    if (C <= 0) return;
    LRP_CHECK(C <= INT_MAX, what, ": ", C, " output rows exceed the grid limit");
    const int64_t total = N * HW;
    constexpr int64_t kMinChunk = 16 * kBlock;  // elements per block before splitting pays off
    constexpr int64_t kTargetBlocks = 2048, kMaxParts = 1024;
    int64_t parts = std::min<int64_t>(
        {(total + kMinChunk - 1) / kMinChunk, std::max<int64_t>(1, kTargetBlocks / C), kMaxParts});
    parts = std::max<int64_t>(parts, 1);
    const int64_t chunk = std::max<int64_t>(1, (total + parts - 1) / parts);
    parts = std::max<int64_t>(1, (total + chunk - 1) / chunk);  // no empty trailing part
    const cudaStream_t s = stream_of(ctx);
    const double count = static_cast<double>(total);
    double* partial = nullptr;
    if (parts > 1)
        partial = static_cast<double*>(ctx.cuda->workspace(static_cast<size_t>(C * parts) * sizeof(double)));
    const dim3 grid(static_cast<unsigned>(C), static_cast<unsigned>(parts));
    planes_k<OP><<<grid, kBlock, 0, s>>>(x, N, C, HW, chunk, static_cast<int>(parts), count, partial, y);
    LRP_CUDA_CHECK_LAUNCH(what, s);
    if (parts > 1) {
        partials_k<OP><<<static_cast<unsigned>(C), kBlock, 0, s>>>(partial, static_cast<int>(parts), count, y);
        LRP_CUDA_CHECK_LAUNCH(what, s);
    }
}

void reduce_rows(const Ctx& ctx, ReduceOp op, const float* x, int64_t rows, int64_t cols, float* y) {
    switch (op) {
        case ReduceOp::Sum:
            return reduce_planes<ReduceOp::Sum>(ctx, "reduce_rows", x, 1, rows, cols, y);
        case ReduceOp::Mean:
            return reduce_planes<ReduceOp::Mean>(ctx, "reduce_rows", x, 1, rows, cols, y);
        case ReduceOp::Max:
            return reduce_planes<ReduceOp::Max>(ctx, "reduce_rows", x, 1, rows, cols, y);
        case ReduceOp::Min:
            return reduce_planes<ReduceOp::Min>(ctx, "reduce_rows", x, 1, rows, cols, y);
        case ReduceOp::SumSq:
            return reduce_planes<ReduceOp::SumSq>(ctx, "reduce_rows", x, 1, rows, cols, y);
    }
    LRP_THROW("reduce_rows: unknown ReduceOp ", static_cast<int>(op));
}

void reduce_channels(const Ctx& ctx, const float* x, int N, int C, int64_t HW, float* y) {
    reduce_planes<ReduceOp::Sum>(ctx, "reduce_channels", x, N, C, HW, y);
}

// ---- argmax: (value, index) pairs under a total order (NaN first, then larger value, then lower
// index), so any reduction order yields the first maximum.
struct ArgMax {
    float v;
    int32_t i;
};
struct ArgMaxOp {
    __device__ __forceinline__ ArgMax operator()(const ArgMax& a, const ArgMax& b) const {
        const bool an = isnan(a.v), bn = isnan(b.v);
        if (an != bn) return an ? a : b;
        if (!an && a.v != b.v) return a.v > b.v ? a : b;
        return a.i <= b.i ? a : b;
    }
};

__global__ void __launch_bounds__(kBlock) argmax_k(const float* x, int64_t cols, int32_t* idx) {
    const float* row = x + static_cast<int64_t>(blockIdx.x) * cols;
    const ArgMaxOp op;
    ArgMax acc{-INFINITY, INT_MAX};
    for (int64_t i = threadIdx.x; i < cols; i += kBlock) acc = op(acc, ArgMax{row[i], static_cast<int32_t>(i)});
    using BR = cub::BlockReduce<ArgMax, kBlock>;
    __shared__ typename BR::TempStorage tmp;
    const ArgMax r = BR(tmp).Reduce(acc, op);
    if (threadIdx.x == 0) idx[blockIdx.x] = r.i;
}

void argmax_rows(const Ctx& ctx, const float* x, int64_t rows, int64_t cols, int32_t* idx) {
    if (rows <= 0) return;
    LRP_CHECK(rows <= INT_MAX && cols <= INT_MAX, "argmax_rows: ", rows, " x ", cols, " exceeds the int32 limits");
    LRP_CHECK(cols >= 1, "argmax_rows: rows of ", cols, " columns");
    argmax_k<<<static_cast<unsigned>(rows), kBlock, 0, stream_of(ctx)>>>(x, cols, idx);
    LRP_CUDA_CHECK_LAUNCH("argmax_rows", stream_of(ctx));
}

}  // namespace

void register_reduce(OpTable& t) {
    t.reduce_rows = reduce_rows;
    t.argmax_rows = argmax_rows;
    t.reduce_channels = reduce_channels;
}

}  // namespace lrp::kernels::cuda
