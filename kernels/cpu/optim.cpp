// CPU reference optimiser steps with PyTorch's formulas (SGD with momentum/dampening/nesterov/weight
// decay; AdamW with decoupled decay and bias correction; the gradient-clipping factor).
#include <cmath>

#include "families.h"
#include "parallel.h"

namespace lrp::kernels::cpu {
namespace {

void sgd_update(const Ctx&, const SgdParams& p, float* w, const float* g, float* buf, int64_t n, bool first_step) {
    const double lr = p.lr, mom = p.momentum, damp = p.dampening, wd = p.weight_decay;
    parallel_each(n, [&](int64_t i) {
        double d = g[i];
        if (wd != 0) d += wd * w[i];
        if (mom != 0) {
            double b = first_step ? d : mom * buf[i] + (1.0 - damp) * d;
            buf[i] = static_cast<float>(b);
            d = p.nesterov ? d + mom * b : b;
        }
        w[i] = static_cast<float>(w[i] - lr * d);
    });
}

void adamw_update(const Ctx&, const AdamWParams& p, float* w, const float* g, float* m, float* v, int64_t n) {
    const double lr = p.lr, b1 = p.beta1, b2 = p.beta2, eps = p.eps;
    const double t = static_cast<double>(p.step);
    const double step_size = lr / (1.0 - std::pow(b1, t));
    const double sqrt_bc2 = std::sqrt(1.0 - std::pow(b2, t));
    const double decay = 1.0 - lr * p.weight_decay;
    parallel_each(n, [&](int64_t i) {
        const double gi = g[i];
        const double mi = b1 * m[i] + (1.0 - b1) * gi;
        const double vi = b2 * v[i] + (1.0 - b2) * gi * gi;
        m[i] = static_cast<float>(mi);
        v[i] = static_cast<float>(vi);
        const double wi = static_cast<double>(w[i]) * decay;
        w[i] = static_cast<float>(wi - step_size * mi / (std::sqrt(vi) / sqrt_bc2 + eps));
    });
}

// fp32 like the CUDA kernel (sqrt and division are correctly rounded on both), NaN propagates.
void clip_coef(const Ctx&, const float* sumsq, float max_norm, float* norm, float* coef) {
    const float n = std::sqrt(sumsq[0]);
    const float c = max_norm / (n + 1e-6f);
    norm[0] = n;
    coef[0] = c < 1.f || c != c ? c : 1.f;
}

}  // namespace

void register_optim(OpTable& t) {
    t.sgd_update = sgd_update;
    t.adamw_update = adamw_update;
    t.clip_coef = clip_coef;
}

}  // namespace lrp::kernels::cpu
