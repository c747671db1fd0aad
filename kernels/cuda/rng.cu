// CUDA rng kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cuda {

void register_rng(OpTable&) {}

}  // namespace lrp::kernels::cuda
