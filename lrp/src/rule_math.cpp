// Tensor helpers for rules, composed from the elementwise/reduce op-table entries (see rule_math.h).
#include "lrp/lrp/rule_math.h"

#include <limits>

#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"

namespace lrp::explain::math {

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
Tensor like(const Tensor& t) { return Tensor::empty(t.shape(), DType::F32, t.device()); }
}  // namespace

Tensor pos(const Tensor& t) {
    if (!t.defined()) return Tensor();
    Tensor y = like(t);
    ops::clamp(t, 0.f, kInf, y);
    return y;
}

Tensor neg(const Tensor& t) {
    if (!t.defined()) return Tensor();
    Tensor y = like(t);
    ops::clamp(t, -kInf, 0.f, y);
    return y;
}

// stab_1(t) = t + sgn0(t) has |.| >= 1 with the sign of sgn0(t); clamping to [-1, 1] leaves sgn0 exactly.
Tensor sgn0(const Tensor& t) {
    Tensor y = like(t);
    ops::lrp_stabilize(t, 1.f, y);
    ops::clamp(y, -1.f, 1.f, y);
    return y;
}

// 1[t > 0] = relu(-sgn0(-t)): sgn0(-t) is -1 exactly where t > 0 (and +1 at t = +-0, since -0 counts as >= 0).
Tensor is_positive(const Tensor& t) {
    Tensor y = sgn0(ops::scale(t, -1.f));
    ops::scale(y, -1.f, y);
    ops::relu_fwd(y, y);
    return y;
}

// 1[t < 0] = relu(-sgn0(t)).
Tensor is_negative(const Tensor& t) {
    Tensor y = sgn0(t);
    ops::scale(y, -1.f, y);
    ops::relu_fwd(y, y);
    return y;
}

Tensor ones_like(const Tensor& t) { return ops::full(t.shape(), 1.f, t.device()); }

Tensor square(const Tensor& t) {
    if (!t.defined()) return Tensor();
    return ops::mul(t, t);
}

Tensor sub(const Tensor& a, const Tensor& b) { return add_scaled(a, -1.f, b); }

Tensor add_scaled(const Tensor& a, float alpha, const Tensor& b) {
    Tensor y = a.clone();
    ops::axpy(alpha, b, y);
    return y;
}

// m = 1[a >= b] from the (exact) sign of a - b; max = m*a + (1-m)*b with one term exactly zero.
Tensor maximum(const Tensor& a, const Tensor& b) {
    Tensor m = sgn0(sub(a, b));   // +1 where a >= b, -1 elsewhere
    Tensor take_a = like(a), take_b = like(a);
    ops::relu_fwd(m, take_a);     // 1[a >= b]
    ops::scale(m, -1.f, take_b);
    ops::relu_fwd(take_b, take_b);  // 1[a < b]
    ops::mul(take_a, a, take_a);
    ops::mul(take_b, b, take_b);
    ops::add(take_a, take_b, take_a);
    return take_a;
}

Tensor expand_per_sample(const Tensor& v, const Shape& shape) {
    Tensor y = Tensor::empty(shape, DType::F32, v.device());
    ops::expand_rows(v, 1.f, y);
    return y;
}

double host_sum(const Tensor& t) {
    double s = 0;
    for (float v : t.to_vector<float>()) s += v;
    return s;
}

}  // namespace lrp::explain::math
