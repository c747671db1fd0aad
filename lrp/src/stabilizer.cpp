// The stabilizer (default, clip and norm_scale modes) and the stabilized division r / stab(z).
#include "lrp/lrp/stabilizer.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "lrp/lrp/rule_math.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"

namespace lrp::explain {

std::string Stabilizer::str() const {
    std::ostringstream os;
    os << epsilon;
    if (!clip && !norm_scale) return os.str();
    return std::string(norm_scale ? (clip ? "norm_scale_clip(" : "norm_scale(") : "clip(") + os.str() + ")";
}

namespace {
// eps * sqrt(mean over non-batch dims of z^2), one value per sample (N), on z's device. The square root
// comes from bn_eval_affine: gamma / sqrt(var + 0) with gamma = eps and var = 1 / ms, which stays right where
// ms underflows to 0 (0, as zennit's eps * sqrt(0)) or overflows to inf (inf): eps * ms / sqrt(ms) gave NaN.
Tensor per_sample_epsilon(const Tensor& z, float eps) {
    LRP_CHECK(z.ndim() >= 2, "stabilizer norm_scale: z has shape ", z.shape().str(), ", expected [N, ...]");
    const int64_t n = z.dim(0);
    Tensor ms = ops::reduce_per_sample(ops::ReduceOp::Mean, math::square(z));
    Tensor inv = stab_divide(math::ones_like(ms), ms, Stabilizer(0.f));  // 1 / ms (1 / +0 = inf)
    Tensor e = Tensor::empty({n}, DType::F32, z.device()), unused = Tensor::empty({n}, DType::F32, z.device());
    ops::bn_eval_affine(ops::scale(math::ones_like(ms), eps), Tensor(), Tensor::zeros({n}, DType::F32, z.device()),
                        inv, 0.f, e, unused);
    return math::expand_per_sample(e, z.shape());
}
}  // namespace

Tensor stabilize(const Tensor& z, const Stabilizer& s) {
    LRP_CHECK(std::isfinite(s.epsilon) && s.epsilon >= 0.f, "stabilizer: epsilon must be finite and >= 0, got ",
              s.epsilon);
    if (!s.clip && !s.norm_scale) {
        Tensor y = Tensor::empty(z.shape(), DType::F32, z.device());
        ops::lrp_stabilize(z, s.epsilon, y);
        return y;
    }
    Tensor sg = math::sgn0(z);
    if (!s.norm_scale) {  // clip with a scalar epsilon: sgn0(z) * clamp(|z|, eps, inf)
        Tensor a = ops::mul(z, sg);
        ops::clamp(a, s.epsilon, std::numeric_limits<float>::infinity(), a);
        return ops::mul(sg, a);
    }
    Tensor e = per_sample_epsilon(z, s.epsilon);
    if (s.clip) return ops::mul(sg, math::maximum(ops::mul(z, sg), e));
    ops::mul(sg, e, e);
    return ops::add(z, e);
}

Tensor stab_divide(const Tensor& r, const Tensor& z, const Stabilizer& s) {
    Tensor out = Tensor::empty(r.shape(), DType::F32, r.device());
    if (!s.clip && !s.norm_scale) {
        LRP_CHECK(std::isfinite(s.epsilon) && s.epsilon >= 0.f, "stabilizer: epsilon must be finite and >= 0, got ",
                  s.epsilon);
        ops::lrp_eps_div(r, z, s.epsilon, out);
        return out;
    }
    // A stabilized denominator is never +-0 unless epsilon is 0, and stab_0(d) = d, so this is r / d.
    ops::lrp_eps_div(r, stabilize(z, s), 0.f, out);
    return out;
}

}  // namespace lrp::explain
