// Front end of lrp/ops/loss.h: checks shapes (logits N x K, labels N i32, loss N, dlogits N x K or
// undefined), dtypes, one device and the smoothing range, then calls the softmax_xent entry.
#include "lrp/ops/loss.h"

#include <cmath>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::ops {

void softmax_xent(const Tensor& logits, const Tensor& labels, float smoothing, float grad_scale,
                  const Tensor& loss, const Tensor& dlogits) {
    const char* op = "softmax_xent";
    check_dtype(op, "logits", logits, DType::F32);
    check_ndim(op, "logits", logits, 2);
    const Device dev = logits.device();
    const int64_t N = logits.dim(0), K = logits.dim(1);
    LRP_CHECK(N <= INT32_MAX && K <= INT32_MAX, op, ": logits ", logits.shape().str(), " exceed the int32 limit");
    LRP_CHECK(K > 0, op, ": logits ", logits.shape().str(), " have no classes");
    check_dtype(op, "labels", labels, DType::I32);
    check_device(op, "labels", labels, dev);
    check_shape(op, "labels", labels, Shape{N});
    check_dtype(op, "loss", loss, DType::F32);
    check_device(op, "loss", loss, dev);
    check_shape(op, "loss", loss, Shape{N});
    if (dlogits.defined()) {
        check_dtype(op, "dlogits", dlogits, DType::F32);
        check_device(op, "dlogits", dlogits, dev);
        check_shape(op, "dlogits", dlogits, logits.shape());
    }
    LRP_CHECK(smoothing >= 0.f && smoothing <= 1.f, op, ": smoothing must be in [0, 1], got ", smoothing);
    LRP_CHECK(std::isfinite(grad_scale), op, ": grad_scale must be finite, got ", grad_scale);
    if (N == 0) return;
    LRP_NVTX_RANGE("softmax_xent");
    LRP_OP(dev, softmax_xent)
    (kernel_ctx(dev), logits.data<float>(), labels.data<int32_t>(), static_cast<int>(N), static_cast<int>(K),
     smoothing, grad_scale, loss.data<float>(), dlogits.defined() ? dlogits.data<float>() : nullptr);
}

}  // namespace lrp::ops
