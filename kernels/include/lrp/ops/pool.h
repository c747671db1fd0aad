// Checked front ends for max and average pooling (PyTorch semantics, including ceil_mode, padding
// and the count_include_pad / divisor_override divisor rules).
#pragma once
#include "lrp/kernels/descs.h"
#include "lrp/tensor.h"

namespace lrp::ops {

using kernels::Pool2dDesc;

struct Pool2dParams {
    int kh = 2, kw = 2;
    int sh = 2, sw = 2;
    int ph = 0, pw = 0;
    int dil_h = 1, dil_w = 1;
    bool ceil_mode = false;
    bool count_include_pad = true;
    int divisor_override = 0;
};

// Throws as PyTorch does for invalid settings (padding > kernel/2, empty output, dilation on avg-pool).
Pool2dDesc pool2d_desc(const Shape& x, const Pool2dParams& p, bool is_max);
// AdaptiveAvgPool2d((out_h, out_w)) with PyTorch's windows [floor(i*H/out), ceil((i+1)*H/out)), any
// input size (overlapping windows when out does not divide H, repeated ones when out > H); run it
// with avgpool_fwd / avgpool_bwd.
Pool2dDesc adaptive_avgpool2d_desc(const Shape& x, int out_h, int out_w);

void maxpool_fwd(const Pool2dDesc& d, const Tensor& x, const Tensor& y, const Tensor& idx /*i32*/);
void maxpool_bwd(const Pool2dDesc& d, const Tensor& dy, const Tensor& idx, const Tensor& dx);
// y = x at the stored routing idx (the adjoint of maxpool_bwd); idx values must come from maxpool_fwd.
void maxpool_gather(const Pool2dDesc& d, const Tensor& x, const Tensor& idx, const Tensor& y);
void avgpool_fwd(const Pool2dDesc& d, const Tensor& x, const Tensor& y);
void avgpool_bwd(const Pool2dDesc& d, const Tensor& dy, const Tensor& dx);
// AdaptiveAvgPool2d(1): y (N x C) = mean over H x W; backward spreads dy / (H*W).
void global_avgpool_fwd(const Tensor& x, const Tensor& y);
void global_avgpool_bwd(const Tensor& dy, const Tensor& dx);

}  // namespace lrp::ops
