// The LRP stabilizer with zennit 0.5.1 semantics: stab(z) = z + eps*sgn0(z) (sgn0(z) = +1 for z >= 0,
// including -0, and -1 for z < 0), the `clip` mode sgn0(z)*max(|z|, eps), and `norm_scale` (eps times the
// per-sample RMS of z over all non-batch dims). Compositions of op-table ops: they run on z's device.
#pragma once
#include <string>

#include "lrp/tensor.h"

namespace lrp::explain {

struct Stabilizer {
    float epsilon = 1e-6f;
    bool clip = false;        // sgn0(z) * max(|z|, eps) instead of z + eps*sgn0(z)
    bool norm_scale = false;  // eps *= sqrt(mean(z^2)) per sample (over all dims but the batch dim)

    Stabilizer() = default;
    Stabilizer(float eps) : epsilon(eps) {}  // NOLINT: a number means epsilon, as in zennit
    static Stabilizer clipped(float eps) {
        Stabilizer s(eps);
        s.clip = true;
        return s;
    }
    static Stabilizer scaled(float eps, bool clip = false) {
        Stabilizer s(eps);
        s.norm_scale = true;
        s.clip = clip;
        return s;
    }
    // "1e-06", "clip(0.001)", "norm_scale(1)", "norm_scale_clip(1)".
    std::string str() const;
};

// stab(z) as a new tensor on z's device. Throws for a negative or non-finite epsilon.
Tensor stabilize(const Tensor& z, const Stabilizer& s);
// r / stab(z) (same shapes); the default mode is one fused op (lrp_eps_div).
Tensor stab_divide(const Tensor& r, const Tensor& z, const Stabilizer& s);

}  // namespace lrp::explain
