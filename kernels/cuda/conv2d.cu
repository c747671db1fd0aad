// CUDA conv2d kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cuda {

void register_conv2d(OpTable&) {}

}  // namespace lrp::kernels::cuda
