// CUDA reduce kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cuda {

void register_reduce(OpTable&) {}

}  // namespace lrp::kernels::cuda
