// Front end of count_equal: argument checks, NVTX range, dispatch through the op table.
#include "lrp/ops/metrics.h"

#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::ops {

void count_equal(const Tensor& a, const Tensor& b, const Tensor& out) {
    check_dtype("count_equal", "a", a, DType::I32);
    check_dtype("count_equal", "b", b, DType::I32);
    check_same_numel("count_equal", a, b);
    check_device("count_equal", "b", b, a.device());
    check_dtype("count_equal", "out", out, DType::F32);
    check_shape("count_equal", "out", out, Shape{1});
    check_device("count_equal", "out", out, a.device());
    LRP_NVTX_RANGE("count_equal");
    LRP_OP(a.device(), count_equal)(kernel_ctx(a.device()), a.data<int32_t>(), b.data<int32_t>(), a.numel(),
                                    out.data<float>());
}

}  // namespace lrp::ops
