// CPU reference kernels for the elementwise family: fills, arithmetic, ReLU, clamp, the LRP
// stabilizer (sgn0: +1 for z >= 0 incl. -0) and broadcasts (bias_add, expand_rows). Loops over independent
// elements, split across the CPU pool (parallel.h).
#include <algorithm>
#include <cmath>

#include "families.h"
#include "parallel.h"

namespace lrp::kernels::cpu {
namespace {

void fill(const Ctx&, float* y, float value, int64_t n) {
    parallel_each(n, [&](int64_t i) { y[i] = value; });
}
void add(const Ctx&, const float* a, const float* b, float* y, int64_t n) {
    parallel_each(n, [&](int64_t i) { y[i] = a[i] + b[i]; });
}
void mul(const Ctx&, const float* a, const float* b, float* y, int64_t n) {
    parallel_each(n, [&](int64_t i) { y[i] = a[i] * b[i]; });
}
void scale(const Ctx&, const float* x, float alpha, float* y, int64_t n) {
    parallel_each(n, [&](int64_t i) { y[i] = alpha * x[i]; });
}
void axpy(const Ctx&, float alpha, const float* x, float* y, int64_t n) {
    parallel_each(n, [&](int64_t i) { y[i] += alpha * x[i]; });
}
// NaN propagates (PyTorch's relu is clamp_min(x, 0)).
void relu_fwd(const Ctx&, const float* x, float* y, int64_t n) {
    parallel_each(n, [&](int64_t i) {
        const float v = x[i];
        y[i] = (v > 0.f || std::isnan(v)) ? v : 0.f;
    });
}
void relu_bwd(const Ctx&, const float* x, const float* dy, float* dx, int64_t n) {
    parallel_each(n, [&](int64_t i) {
        const float d = dy[i];  // read unconditionally: the select vectorises (a conditional read branches)
        dx[i] = x[i] > 0.f ? d : 0.f;
    });
}
void clamp(const Ctx&, const float* x, float lo, float hi, float* y, int64_t n) {
    parallel_each(n, [&](int64_t i) {
        const float v = x[i];
        y[i] = std::isnan(v) ? v : std::min(std::max(v, lo), hi);
    });
}
void sigmoid_mul(const Ctx&, const float* x, float beta, const float* r, float* y, int64_t n) {
    parallel_each(n, [&](int64_t i) { y[i] = r[i] * (1.f / (1.f + std::exp(-(beta * x[i])))); });
}
// z + eps * sgn0(z): NaN fails z >= 0, and NaN - eps stays NaN.
inline float stab(float z, float eps) { return z >= 0.f ? z + eps : z - eps; }
void lrp_stabilize(const Ctx&, const float* z, float eps, float* y, int64_t n) {
    parallel_each(n, [&](int64_t i) { y[i] = stab(z[i], eps); });
}
void lrp_eps_div(const Ctx&, const float* r, const float* z, float eps, float* s, int64_t n) {
    parallel_each(n, [&](int64_t i) { s[i] = r[i] / stab(z[i], eps); });
}
void bias_add(const Ctx&, float* y, const float* b, int N, int C, int64_t HW) {
    parallel_for(int64_t{N} * C, grain_for(HW), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {  // row r = n * C + c
            float* p = y + r * HW;
            const float bc = b[r % C];
            for (int64_t i = 0; i < HW; ++i) p[i] += bc;
        }
    });
}
void expand_rows(const Ctx&, const float* x, float alpha, float* y, int64_t rows, int64_t cols) {
    parallel_for(rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float v = alpha * x[r];
            for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = v;
        }
    });
}

}  // namespace

void register_elementwise(OpTable& t) {
    t.fill = fill;
    t.add = add;
    t.mul = mul;
    t.scale = scale;
    t.axpy = axpy;
    t.relu_fwd = relu_fwd;
    t.relu_bwd = relu_bwd;
    t.clamp = clamp;
    t.sigmoid_mul = sigmoid_mul;
    t.lrp_stabilize = lrp_stabilize;
    t.lrp_eps_div = lrp_eps_div;
    t.bias_add = bias_add;
    t.expand_rows = expand_rows;
}

}  // namespace lrp::kernels::cpu
