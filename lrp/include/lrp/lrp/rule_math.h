// Tensor helpers LRP rules are written with: positive/negative parts, exact sign and indicator masks,
// ones, squares and differences. Each is a short composition of op-table ops (elementwise.h), so a rule
// built from them runs unchanged on the CPU and on CUDA. Inputs are fp32; results are new tensors.
#pragma once
#include "lrp/tensor.h"

namespace lrp::explain::math {

Tensor pos(const Tensor& t);        // max(t, 0)  (x+, W+, b+); undefined in, undefined out
Tensor neg(const Tensor& t);        // min(t, 0)  (x-, W-, b-); undefined in, undefined out
Tensor sgn0(const Tensor& t);       // +1 where t >= 0 (incl. -0), -1 where t < 0; NaN stays NaN (exact)
Tensor is_positive(const Tensor& t);  // 1[t > 0] (0 at t = +-0), exact
Tensor is_negative(const Tensor& t);  // 1[t < 0], exact
Tensor ones_like(const Tensor& t);
Tensor square(const Tensor& t);     // t * t; undefined in, undefined out
Tensor sub(const Tensor& a, const Tensor& b);                  // a - b
Tensor add_scaled(const Tensor& a, float alpha, const Tensor& b);  // a + alpha * b
// Elementwise max(a, b) / select: exact (no a + (b - a) rounding).
Tensor maximum(const Tensor& a, const Tensor& b);
// Per-sample values v (N) broadcast to `shape` (N x ...) on v's device.
Tensor expand_per_sample(const Tensor& v, const Shape& shape);
// Sum of all elements as a host double (a device sync: tests and diagnostics only).
double host_sum(const Tensor& t);

}  // namespace lrp::explain::math
