// Checked front ends for conv2d forward, backward-data and backward-weight.
#pragma once
#include "lrp/kernels/descs.h"
#include "lrp/tensor.h"

namespace lrp::ops {

using kernels::Conv2dDesc;

struct Conv2dParams {
    int stride_h = 1, stride_w = 1;
    int pad_h = 0, pad_w = 0;
    int dil_h = 1, dil_w = 1;
    int groups = 1;
};

// Descriptor for input shape x (N x C x H x W) and weight shape w (K x C/groups x R x S); throws naming
// the problem (channels not divisible by groups, weight channel mismatch, empty output, bad stride...).
Conv2dDesc conv2d_desc(const Shape& x, const Shape& w, const Conv2dParams& p);

void conv2d_fwd(const Conv2dDesc& d, const Tensor& x, const Tensor& w, const Tensor& b /*undefined: no bias*/,
                const Tensor& y);
void conv2d_dgrad(const Conv2dDesc& d, const Tensor& dy, const Tensor& w, const Tensor& dx);
void conv2d_wgrad(const Conv2dDesc& d, const Tensor& x, const Tensor& dy, const Tensor& dw);

}  // namespace lrp::ops
