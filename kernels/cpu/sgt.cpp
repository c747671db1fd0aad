// CPU reference of Saliency Guided Training's ops (sgt_math.h): the bottom-k keys of the saliency maps, the fill
// of the masked pixels, and the KL term between the clean and the masked predictions with its gradients; samples in
// parallel.
#include "families.h"
#include "parallel.h"
#include "lrp/kernels/ops.h"
#include "lrp/kernels/sgt_math.h"

namespace lrp::kernels::cpu {
namespace {

void sgt_keys(const Ctx&, int64_t N, int64_t HW, const float* map, bool abs_value, float* key, float* valid) {
    parallel_for(N, grain_for(HW * 2), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) valid[n] = sgt_keys_row(HW, map + n * HW, abs_value, key + n * HW);
    });
}

void sgt_fill(const Ctx&, int64_t N, int C, int64_t HW, int k, const int32_t* idx, const float* valid,
              const float* lo, const float* hi, uint64_t seed, uint64_t offset, float* x) {
    parallel_for(N, grain_for(int64_t{k} * C * 4), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            if (valid[n] == 0.f) continue;
            for (int j = 0; j < k; ++j) {
                const int64_t pix = idx[n * k + j];
                if (pix < 0 || pix >= HW) continue;
                for (int c = 0; c < C; ++c) {
                    const uint64_t counter = static_cast<uint64_t>((n * k + j) * C + c);
                    x[(n * C + c) * HW + pix] = sgt_fill_value(lo[n * C + c], hi[n * C + c], seed, offset, counter);
                }
            }
        }
    });
}

void sgt_kl(const Ctx&, int64_t N, int K, const float* zc, const float* zm, const float* valid, float scale,
            float* loss, float* dzc, float* dzm) {
    parallel_for(N, grain_for(int64_t{K} * 8), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            float* gc = dzc ? dzc + n * K : nullptr;
            loss[n] = sgt_kl_valid_row(K, zc + n * K, zm + n * K, valid[n], scale, gc, dzm + n * K);
        }
    });
}

}  // namespace

void register_sgt(OpTable& t) {
    t.sgt_keys = sgt_keys;
    t.sgt_fill = sgt_fill;
    t.sgt_kl = sgt_kl;
}

}  // namespace lrp::kernels::cpu
