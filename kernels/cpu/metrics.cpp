// CPU metric kernels: count_equal (top-1 hits without leaving the device on other backends).
#include "families.h"

namespace lrp::kernels::cpu {

namespace {
void count_equal(const Ctx&, const int32_t* a, const int32_t* b, int64_t n, float* out) {
    int64_t c = 0;
    for (int64_t i = 0; i < n; ++i) c += a[i] == b[i];
    out[0] = static_cast<float>(c);
}
}  // namespace

void register_metrics(OpTable& t) { t.count_equal = count_equal; }

}  // namespace lrp::kernels::cpu
