// Checked front ends for 2-D batch norm (x is N x C x H x W, or N x C for 1-D use).
#pragma once
#include "lrp/tensor.h"

namespace lrp::ops {

void batchnorm_fwd_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, float momentum,
                         const Tensor& y, const Tensor& save_mean, const Tensor& save_invstd,
                         const Tensor& running_mean, const Tensor& running_var);
void batchnorm_fwd_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                        const Tensor& running_var, float eps, const Tensor& y);
// Backward of the training-mode forward (batch statistics).
void batchnorm_bwd(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                   const Tensor& save_invstd, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta);

}  // namespace lrp::ops
