// CPU reference of EDDA's window ops: the most and least relevant patch x patch window of each sample
// (double sums in the order EddaSelectDesc fixes) and the filling of one window per sample; samples in parallel.
#include <cmath>
#include <vector>

#include "families.h"
#include "parallel.h"

namespace lrp::kernels::cpu {

namespace {
double reduce_value(EddaReduce r, float v) {
    const double d = v;
    if (r == EddaReduce::Abs) return std::fabs(d);
    if (r == EddaReduce::Relu) return d > 0 ? d : 0.0;
    return d;
}

void edda_select(const Ctx&, const EddaSelectDesc& d, const float* relevance, int32_t* pos, float* valid) {
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    const int wh = d.wh(), ww = d.ww();
    parallel_for(d.N, grain_for(HW * (d.C + 2 * d.patch)), [&](int64_t n0, int64_t n1) {
        std::vector<double> v(HW), col(static_cast<size_t>(wh) * d.W);
        for (int64_t n = n0; n < n1; ++n) {
            const float* r = relevance + n * d.C * HW;
            bool finite = true;
            for (int64_t i = 0; i < HW; ++i) {
                double s = 0;
                for (int c = 0; c < d.C; ++c) {
                    const float x = r[c * HW + i];
                    finite = finite && std::isfinite(x);
                    s += reduce_value(d.reduce, x);
                }
                v[i] = s;
            }
            if (valid) valid[n] = finite ? 1.f : 0.f;
            if (!finite) {
                pos[n] = pos[d.N + n] = -1;
                continue;
            }
            for (int y0 = 0; y0 < wh; ++y0)
                for (int x = 0; x < d.W; ++x) {
                    double s = 0;
                    for (int dy = 0; dy < d.patch; ++dy) s += v[static_cast<int64_t>(y0 + dy) * d.W + x];
                    col[static_cast<size_t>(y0) * d.W + x] = s;
                }
            int32_t best = 0, least = 0;
            double best_v = 0, least_v = 0;
            for (int y0 = 0; y0 < wh; ++y0)
                for (int x0 = 0; x0 < ww; ++x0) {
                    double s = 0;
                    for (int dx = 0; dx < d.patch; ++dx) s += col[static_cast<size_t>(y0) * d.W + x0 + dx];
                    const int32_t i = y0 * ww + x0;
                    if (i == 0 || s > best_v) best = i, best_v = s;
                    if (i == 0 || std::fabs(s) < least_v) least = i, least_v = std::fabs(s);
                }
            pos[n] = best;
            pos[d.N + n] = least;
        }
    });
}

void fill_windows(const Ctx&, const WindowFillDesc& d, const int32_t* pos, float* x) {
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    const int ww = d.ww(), windows = (d.H - d.patch + 1) * ww;
    parallel_for(d.N, grain_for(int64_t{d.C} * d.patch * d.patch), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            const int32_t p = pos[n];
            if (p < 0 || p >= windows) continue;
            const int y0 = p / ww, x0 = p % ww;
            for (int c = 0; c < d.C; ++c)
                for (int y = y0; y < y0 + d.patch; ++y) {
                    float* row = x + (n * d.C + c) * HW + static_cast<int64_t>(y) * d.W;
                    for (int xx = x0; xx < x0 + d.patch; ++xx) row[xx] = d.fill[c];
                }
        }
    });
}
}  // namespace

void register_edda(OpTable& t) {
    t.edda_select = edda_select;
    t.fill_windows = fill_windows;
}

}  // namespace lrp::kernels::cpu
