// Checked front end for softmax cross-entropy (forward and gradient in one pass).
#pragma once
#include "lrp/tensor.h"

namespace lrp::ops {

// logits N x K (f32), labels N (i32), loss N (f32); dlogits N x K or undefined (then not computed).
// dlogits = grad_scale * (softmax(logits) - target), target = (1 - smoothing) one_hot + smoothing / K.
// Mean reduction over the batch: grad_scale = 1 / N. A label outside [0, K) gives NaN for that row.
void softmax_xent(const Tensor& logits, const Tensor& labels, float smoothing, float grad_scale,
                  const Tensor& loss, const Tensor& dlogits);

}  // namespace lrp::ops
