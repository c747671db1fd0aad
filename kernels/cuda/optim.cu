// CUDA optim kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cuda {

void register_optim(OpTable&) {}

}  // namespace lrp::kernels::cuda
