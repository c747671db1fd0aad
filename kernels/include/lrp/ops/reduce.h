// Checked front ends for reductions. Results stay on the tensor's device (no host sync); use
// .to_vector() when a host value is really needed.
#pragma once
#include "lrp/kernels/descs.h"
#include "lrp/tensor.h"

namespace lrp::ops {

using kernels::ReduceOp;

// y (rows) = op over each of `rows` equal contiguous segments of x (x.numel() % rows == 0).
void reduce_rows(ReduceOp op, const Tensor& x, const Tensor& y);
// y (rows) = max - min of each row (0 for a constant row), composed of two Max reductions and an axpy.
void range_rows(const Tensor& x, const Tensor& y);
Tensor reduce_all(ReduceOp op, const Tensor& x);         // shape {1}
Tensor reduce_per_sample(ReduceOp op, const Tensor& x);  // shape {x.dim(0)}
// idx (I32, rows = x.dim(0)) = first arg-max over the rest of each row.
void argmax_rows(const Tensor& x, const Tensor& idx);
// y (C) = sum over batch and trailing dims of x (N x C x ...).
void reduce_channels(const Tensor& x, const Tensor& y);

}  // namespace lrp::ops
