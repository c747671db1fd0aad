// CUDA softmax_xent kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cuda {

void register_softmax_xent(OpTable&) {}

}  // namespace lrp::kernels::cuda
