// Helpers of the RelDrop tests: a random batch + map, the top-k reference
// (std::partial_sort under an explicit comparator) and a naive pixel-variant reference from raw Philox draws.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "lrp/generator.h"
#include "lrp/kernels/ops.h"
#include "lrp/kernels/reldrop_sampler.h"
#include "lrp/ops/reldrop.h"
#include "test_util.h"

namespace lrp::test {

// Top-k reference: NaN first (all NaNs equal), then larger value, then lower index; -0 == +0.
inline std::vector<int32_t> topk_reference(const std::vector<float>& row, int k) {
    std::vector<int32_t> idx(row.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
        const float va = row[a], vb = row[b];
        const bool na = std::isnan(va), nb = std::isnan(vb);
        if (na != nb) return na;
        if (!na && va != vb) return va > vb;
        return a < b;
    });
    idx.resize(k);
    return idx;
}

// x in (-1, 1) (never a fill value used by the tests) and a signed relevance map.
struct RdBatch {
    int N, C, H, W;
    std::vector<float> x, map;
    RdBatch(int n, int c, int h, int w, uint32_t seed)
        : N(n), C(c), H(h), W(w), x(random_vec(size_t(n) * c * h * w, seed)),
          map(random_vec(size_t(n) * h * w, seed + 7, -3.f, 2.f)) {}
    int64_t HW() const { return int64_t(H) * W; }
    float& xa(int n, int c, int64_t i) { return x[(size_t(n) * C + c) * HW() + i]; }
    // The front end on `dev` from a precomputed map; returns x and fills `status`.
    std::vector<float> run(Device dev, const ops::RelDropParams& p, uint64_t seed, uint64_t offset,
                           std::vector<int32_t>* status = nullptr) const {
        Tensor xt = Tensor::from_vector(x, Shape{N, C, H, W}, dev);
        Tensor st = Tensor::empty(Shape{N}, DType::I32, dev);
        Generator g(seed, offset);
        ops::reldrop_apply_map(xt, Tensor::from_vector(map, Shape{N, H, W}, dev), p, g, st);
        EXPECT_EQ(g.offset(), offset + ops::reldrop_counters(p, xt));
        if (status) *status = st.to_vector<int32_t>();
        return xt.to_vector<float>();
    }
};

inline double word0(uint64_t seed, uint64_t counter) { return philox(seed, counter).v[0] * 2.3283064365386963e-10; }

// The pixel variant re-derived from the documented counter layout (ops.h, reldrop_sampler.h).
inline std::vector<float> naive_pixel(const RdBatch& b, const ops::RelDropParams& p, bool per_sample, uint64_t seed,
                                      uint64_t offset, std::vector<int32_t>& status) {
    std::vector<float> out = b.x;
    status.assign(b.N, 0);
    const int64_t HW = b.HW();
    for (int n = 0; n < b.N; ++n) {
        const double u = word0(seed, per_sample ? offset + 1 + n : offset);
        if (!(u < p.p)) continue;
        const float* m = b.map.data() + n * HW;
        if (!std::all_of(m, m + HW, [](float v) { return std::isfinite(v); })) {
            status[n] = 3;
            continue;
        }
        const float mn = *std::min_element(m, m + HW), mx = *std::max_element(m, m + HW);
        const float amax = std::max(std::fabs(mn), std::fabs(mx));
        const bool positive = p.pixel_norm == "positive_max", absolute = p.pixel_norm == "abs_max";
        const bool ok = positive ? mx > 1e-6f : absolute ? amax > 1e-6f : std::fabs(mx - mn) > 1e-6f;
        status[n] = ok ? 1 : 4;  // 4: kRelDropAppliedFlat, the map ranked nothing
        for (int64_t i = 0; i < HW; ++i) {
            const float rn = !ok        ? 0.f
                             : positive ? std::max(m[i], 0.f) / mx
                             : absolute ? std::fabs(m[i]) / amax
                                        : (m[i] - mn) / (mx - mn);
            const float noise = philox_uniform(seed, offset + 1 + uint64_t(b.N), uint64_t(n) * HW + i);
            if (!(std::fmaf(p.alpha, noise, (1.f - p.alpha) * rn) >= 1.f - p.beta)) continue;
            for (int c = 0; c < b.C; ++c)
                out[(size_t(n) * b.C + c) * HW + i] = p.fill.size() == 1 ? p.fill[0] : p.fill[c];
        }
    }
    return out;
}

inline ops::RelDropParams rd_params(const char* variant, float p, int k, const char* coin, std::vector<float> fill) {
    ops::RelDropParams r;
    r.variant = variant;
    r.p = p;
    r.k = k;
    r.coin = coin;
    r.fill = std::move(fill);
    return r;
}

}  // namespace lrp::test
