// CPU rng kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cpu {

void register_rng(OpTable&) {}

}  // namespace lrp::kernels::cpu
