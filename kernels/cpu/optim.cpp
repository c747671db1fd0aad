// CPU optim kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cpu {

void register_optim(OpTable&) {}

}  // namespace lrp::kernels::cpu
