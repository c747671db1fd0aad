// Registration hooks of the CPU op families: each family file fills its entries of the table.
#pragma once
#include "lrp/kernels/ops.h"

namespace lrp::kernels::cpu {
void register_elementwise(OpTable& t);
void register_rng(OpTable& t);
void register_reduce(OpTable& t);
void register_softmax_xent(OpTable& t);
void register_optim(OpTable& t);
void register_gemm(OpTable& t);
void register_conv2d(OpTable& t);
void register_batchnorm(OpTable& t);
void register_pool(OpTable& t);
void register_channel(OpTable& t);
void register_metrics(OpTable& t);
void register_augment(OpTable& t);
void register_reldrop(OpTable& t);
void register_occlusion(OpTable& t);
void register_edda(OpTable& t);
void register_isnet_loss(OpTable& t);
void register_sgt(OpTable& t);
}  // namespace lrp::kernels::cpu
