// CPU per-channel kernels: channel_affine, pixel_scale, bn_eval_affine (batch norm as scale/shift), dropout_mask.
#include <cmath>

#include "families.h"
#include "parallel.h"
#include "lrp/philox.h"

namespace lrp::kernels::cpu {

namespace {
void channel_affine(const Ctx&, const float* x, const float* scale, const float* shift, float* y, int N, int C,
                    int64_t HW) {
    parallel_for(int64_t{N} * C, grain_for(HW), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {  // row r = n * C + c
            const int64_t c = r % C;
            const float s = scale[c], b = shift ? shift[c] : 0.f;
            const int64_t base = r * HW;
            for (int64_t i = 0; i < HW; ++i) y[base + i] = x[base + i] * s + b;
        }
    });
}

void pixel_scale(const Ctx&, const float* x, const float* m, float* y, int N, int C, int64_t HW) {
    parallel_for(int64_t{N} * C, grain_for(HW), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {  // row r = n * C + c
            const int64_t base = r * HW;
            const float* mn = m + (r / C) * HW;
            for (int64_t i = 0; i < HW; ++i) y[base + i] = x[base + i] * mn[i];
        }
    });
}

void bn_eval_affine(const Ctx&, int C, float eps, const float* gamma, const float* beta, const float* mean,
                    const float* var, float* scale, float* shift) {
    for (int c = 0; c < C; ++c) {
        const float s = (gamma ? gamma[c] : 1.f) / std::sqrt(var[c] + eps);
        scale[c] = s;
        shift[c] = (beta ? beta[c] : 0.f) - mean[c] * s;
    }
}

void dropout_mask(const Ctx&, uint64_t seed, uint64_t offset, float p, float* mask, int64_t n) {
    const float keep = 1.f / (1.f - p);
    parallel_each(n, [&](int64_t i) { mask[i] = philox_uniform(seed, offset, i) >= p ? keep : 0.f; });
}
}  // namespace

void register_channel(OpTable& t) {
    t.channel_affine = channel_affine;
    t.pixel_scale = pixel_scale;
    t.bn_eval_affine = bn_eval_affine;
    t.dropout_mask = dropout_mask;
}

}  // namespace lrp::kernels::cpu
