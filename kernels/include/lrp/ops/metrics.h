// Checked front ends for on-device metrics (accuracy counters that need no host synchronisation).
#pragma once
#include "lrp/tensor.h"

namespace lrp::ops {
// out ([1] f32) = number of positions where the int32 tensors a and b agree (same shape).
void count_equal(const Tensor& a, const Tensor& b, const Tensor& out);
}  // namespace lrp::ops
