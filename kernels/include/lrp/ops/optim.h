// Checked front ends for the fused optimiser updates (PyTorch semantics).
#pragma once
#include "lrp/kernels/descs.h"
#include "lrp/tensor.h"

namespace lrp::ops {

using kernels::AdamWParams;
using kernels::SgdParams;

// buf may be undefined when p.momentum == 0; first_step initialises buf with the (decayed) gradient.
void sgd_update(const SgdParams& p, const Tensor& w, const Tensor& g, const Tensor& buf, bool first_step);
void adamw_update(const AdamWParams& p, const Tensor& w, const Tensor& g, const Tensor& m, const Tensor& v);
// From sumsq (one element: the summed squares of all gradients): norm = sqrt(sumsq) and
// coef = min(max_norm / (norm + 1e-6), 1), each one element on sumsq's device (no host read).
void clip_coef(const Tensor& sumsq, float max_norm, const Tensor& norm, const Tensor& coef);

}  // namespace lrp::ops
