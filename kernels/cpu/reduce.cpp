// CPU reference reductions: per-row sum/mean/max/min/sum-of-squares (double accumulation, NaN
// propagates through max/min), first-index arg-max (NaN counts as the maximum) and per-channel sums. Rows
// (channels) run in parallel, each reduced in the serial order.
#include <cmath>
#include <limits>

#include "families.h"
#include "parallel.h"
#include "lrp/error.h"

namespace lrp::kernels::cpu {
namespace {

double reduce_one(ReduceOp op, const float* x, int64_t cols) {
    switch (op) {
        case ReduceOp::Sum:
        case ReduceOp::Mean: {
            double s = 0;
            for (int64_t i = 0; i < cols; ++i) s += x[i];
            return op == ReduceOp::Mean ? s / static_cast<double>(cols) : s;
        }
        case ReduceOp::SumSq: {
            double s = 0;
            for (int64_t i = 0; i < cols; ++i) s += static_cast<double>(x[i]) * x[i];
            return s;
        }
        case ReduceOp::Max:
        case ReduceOp::Min: {
            const bool mx = op == ReduceOp::Max;
            double m = mx ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
            for (int64_t i = 0; i < cols; ++i) {
                double v = x[i];
                if (std::isnan(v)) return v;
                if (mx ? v > m : v < m) m = v;
            }
            return m;
        }
    }
    return std::numeric_limits<double>::quiet_NaN();
}

void reduce_rows(const Ctx&, ReduceOp op, const float* x, int64_t rows, int64_t cols, float* y) {
    parallel_for(rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) y[r] = static_cast<float>(reduce_one(op, x + r * cols, cols));
    });
}

void argmax_rows(const Ctx&, const float* x, int64_t rows, int64_t cols, int32_t* idx) {
    LRP_CHECK(cols >= 1 || rows <= 0, "argmax_rows: rows of ", cols, " columns");
    parallel_for(rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* p = x + r * cols;
            int64_t best = 0;
            for (int64_t i = 1; i < cols && !std::isnan(p[best]); ++i)
                if (std::isnan(p[i]) || p[i] > p[best]) best = i;
            idx[r] = static_cast<int32_t>(best);
        }
    });
}

void reduce_channels(const Ctx&, const float* x, int N, int C, int64_t HW, float* y) {
    parallel_for(C, grain_for(int64_t{N} * HW), [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            double s = 0;
            for (int64_t n = 0; n < N; ++n) {
                const float* p = x + (n * C + c) * HW;
                for (int64_t i = 0; i < HW; ++i) s += p[i];
            }
            y[c] = static_cast<float>(s);
        }
    });
}

}  // namespace

void register_reduce(OpTable& t) {
    t.reduce_rows = reduce_rows;
    t.argmax_rows = argmax_rows;
    t.reduce_channels = reduce_channels;
}

}  // namespace lrp::kernels::cpu
