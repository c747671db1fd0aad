// CPU batchnorm kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cpu {

void register_batchnorm(OpTable&) {}

}  // namespace lrp::kernels::cpu
