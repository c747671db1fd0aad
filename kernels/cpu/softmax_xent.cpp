// CPU softmax_xent kernels (placeholder: entries are registered as they are implemented).
#include "families.h"

namespace lrp::kernels::cpu {

void register_softmax_xent(OpTable&) {}

}  // namespace lrp::kernels::cpu
