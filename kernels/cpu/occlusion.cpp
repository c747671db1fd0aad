// CPU reference patch occlusion: for each sample, the first m patches of its order are filled with the
// per-channel fill value (patch grid: OcclusionDesc in lrp/kernels/descs.h); samples in parallel.
#include <algorithm>

#include "families.h"
#include "parallel.h"

namespace lrp::kernels::cpu {

namespace {
void occlude_patches(const Ctx&, const OcclusionDesc& d, const int32_t* order, float* x) {
    const int pw = d.pw(), P = d.P();
    const int64_t HW = static_cast<int64_t>(d.H) * d.W;
    parallel_for(d.N, grain_for(int64_t{d.m} * d.C * d.patch * d.patch), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            float* xn = x + n * d.C * HW;
            const int32_t* on = order + n * P;
            for (int j = 0; j < d.m; ++j) {
                const int32_t pi = on[j];
                if (pi < 0 || pi >= P) continue;
                const int h0 = (pi / pw) * d.patch, w0 = (pi % pw) * d.patch;
                const int h1 = std::min(h0 + d.patch, d.H), w1 = std::min(w0 + d.patch, d.W);
                for (int c = 0; c < d.C; ++c)
                    for (int h = h0; h < h1; ++h) {
                        float* r = xn + c * HW + static_cast<int64_t>(h) * d.W;
                        std::fill(r + w0, r + w1, d.fill[c]);
                    }
            }
        }
    });
}
}  // namespace

void register_occlusion(OpTable& t) { t.occlude_patches = occlude_patches; }

}  // namespace lrp::kernels::cpu
