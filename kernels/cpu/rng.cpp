// CPU counter-based random fills: element i of y is drawn from the Philox stream (seed, offset) at
// index i (lrp/philox.h), so the CUDA kernels produce the same values (uniform: bit for bit), and ranges of
// elements can be drawn on any threads.
#include <cmath>

#include "families.h"
#include "parallel.h"
#include "lrp/philox.h"

namespace lrp::kernels::cpu {
namespace {

// lo + (hi - lo) u with both roundings explicit (no fused multiply-add): the product of two floats is
// exact in double, so the cast rounds once, exactly like __fmul_rn on the device.
inline float affine(float lo, float width, float u) {
    float p = static_cast<float>(static_cast<double>(width) * static_cast<double>(u));
    return lo + p;
}

void rng_uniform(const Ctx&, uint64_t seed, uint64_t offset, float lo, float hi, float* y, int64_t n) {
    const float width = hi - lo;
    parallel_for(n, grain_for(8), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            float v = affine(lo, width, philox_uniform(seed, offset, static_cast<uint64_t>(i)));
            // Rounding can reach hi for some ranges; keep the interval half-open.
            if (v >= hi && hi > lo) v = std::nextafter(hi, lo);
            y[i] = v;
        }
    });
}

void rng_normal(const Ctx&, uint64_t seed, uint64_t offset, float mean, float std, float* y, int64_t n) {
    parallel_for(n, grain_for(16), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) y[i] = affine(mean, std, philox_normal(seed, offset, static_cast<uint64_t>(i)));
    });
}

}  // namespace

void register_rng(OpTable& t) {
    t.rng_uniform = rng_uniform;
    t.rng_normal = rng_normal;
}

}  // namespace lrp::kernels::cpu
