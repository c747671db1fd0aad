// CPU reference RelDrop kernels: channel_sum, topk_rows (partial sort under the topk_key order) and the
// pixel / block / patch occlusions in place, with the per-sample decisions of reldrop_sampler.h.
#include <algorithm>
#include <climits>
#include <cmath>
#include <functional>
#include <vector>

#include "families.h"
#include "parallel.h"
#include "lrp/error.h"
#include "lrp/kernels/reldrop_sampler.h"

namespace lrp::kernels::cpu {

namespace {
void channel_sum(const Ctx&, const float* x, int N, int C, int64_t HW, float* map) {
    parallel_for(N, grain_for(int64_t{C} * HW), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            const float* xn = x + n * C * HW;
            float* m = map + n * HW;
            for (int64_t i = 0; i < HW; ++i) {
                float s = xn[i];
                for (int c = 1; c < C; ++c) s += xn[c * HW + i];
                m[i] = s;
            }
        }
    });
}

void topk_rows(const Ctx&, const float* x, int64_t rows, int64_t cols, int k, int32_t* idx, float* vals) {
    if (rows <= 0) return;
    LRP_CHECK(cols <= INT_MAX && k >= 1 && k <= cols, "topk_rows: k = ", k, " over ", cols, " columns");  // as CUDA's
    parallel_for(rows, grain_for(cols * 4), [&](int64_t r0, int64_t r1) {
        std::vector<uint64_t> keys(static_cast<size_t>(cols));
        for (int64_t r = r0; r < r1; ++r) {
            const float* row = x + r * cols;
            for (int64_t i = 0; i < cols; ++i) keys[i] = topk_key(row[i], static_cast<uint32_t>(i));
            std::partial_sort(keys.begin(), keys.begin() + k, keys.end(), std::greater<uint64_t>());
            for (int j = 0; j < k; ++j) {
                const int32_t i = topk_key_index(keys[j]);
                idx[r * k + j] = i;
                if (vals) vals[r * k + j] = row[i];
            }
        }
    });
}

// True iff every value of the sample's map is finite; mn/mx its extremes (+0 for a zero extreme).
bool finite_minmax(const float* m, int64_t HW, float& mn, float& mx) {
    mn = INFINITY;
    mx = -INFINITY;
    for (int64_t i = 0; i < HW; ++i) {
        if (!std::isfinite(m[i])) return false;
        mn = std::min(mn, m[i]);
        mx = std::max(mx, m[i]);
    }
    mn += 0.f;  // -0 -> +0, as on the device
    mx += 0.f;
    return true;
}

void reldrop_pixel(const Ctx&, const RelDropDesc& d, const float* map, uint64_t seed, uint64_t offset, float* x,
                   int32_t* status) {
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    parallel_for(d.N, grain_for(HW * 8), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            int32_t st = kRelDropNotSelected;
            const float* m = map + n * HW;
            float mn = 0.f, mx = 0.f;
            if (!reldrop_selected(d, seed, offset, n)) st = kRelDropNotSelected;
            else if (!finite_minmax(m, HW, mn, mx)) st = kRelDropNonFinite;
            else {
                const RnScale sc = reldrop_rn_scale(d.pixel_norm, mn, mx);
                st = sc.ok ? kRelDropApplied : kRelDropAppliedFlat;
                float* xn = x + n * d.C * HW;
                for (int64_t i = 0; i < HW; ++i) {
                    const float rn = reldrop_rn(d.pixel_norm, m[i], sc);
                    if (!reldrop_pixel_drops(d.alpha, d.beta, rn, reldrop_pixel_noise(d, seed, offset, n, i))) continue;
                    for (int c = 0; c < d.C; ++c) xn[c * HW + i] = d.fill[c];
                }
            }
            if (status) status[n] = st;
        }
    });
}

void reldrop_boxes(const Ctx&, const RelDropDesc& d, const float* map, const int32_t* centres, uint64_t seed,
                   uint64_t offset, float* x, int32_t* status) {
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    parallel_for(d.N, grain_for(HW * 2), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            int32_t st = kRelDropNotSelected;
            float mn = 0.f, mx = 0.f;
            if (!reldrop_selected(d, seed, offset, n)) st = kRelDropNotSelected;
            else if (!finite_minmax(map + n * HW, HW, mn, mx)) st = kRelDropNonFinite;
            else {
                const int32_t* cn = centres + n * d.k;
                st = kRelDropNoBox;
                for (int j = 0; j < (d.patch_each ? d.k : 1); ++j) {  // patch_each: one box per centre
                    const Box b = d.patch_each ? reldrop_each_box(d, seed, offset, n, j, cn)
                                               : reldrop_box(d, seed, offset, n, cn);
                    if (b.valid) st = mn == mx ? kRelDropAppliedFlat : kRelDropApplied;
                    for (int c = 0; c < d.C && b.valid; ++c) {
                        float* p = x + (n * d.C + c) * HW;
                        for (int y = b.top; y < b.top + b.h; ++y) {
                            float* row = p + static_cast<int64_t>(y) * d.W + b.left;
                            std::fill(row, row + b.w, d.fill[c]);
                        }
                    }
                }
            }
            if (status) status[n] = st;
        }
    });
}
}  // namespace

void register_reldrop(OpTable& t) {
    t.channel_sum = channel_sum;
    t.topk_rows = topk_rows;
    t.reldrop_pixel = reldrop_pixel;
    t.reldrop_boxes = reldrop_boxes;
}

}  // namespace lrp::kernels::cpu
