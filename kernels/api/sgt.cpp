// Front ends of lrp/ops/sgt.h: argument checks (each error names the argument), the channel-summed map, the
// bottom-k through topk_rows on negated keys, counter reservation and dispatch through the op table.
#include "lrp/ops/sgt.h"

#include <cmath>
#include <limits>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"
#include "lrp/ops/reldrop.h"

namespace lrp::ops {

void sgt_bottom_k(const Tensor& saliency, int k, bool abs_value, const Tensor& idx, const Tensor& valid) {
    const char* op = "sgt_bottom_k";
    check_defined(op, "saliency", saliency);
    check_dtype(op, "saliency", saliency, DType::F32);
    LRP_CHECK(saliency.ndim() == 3 || saliency.ndim() == 4, op, ": saliency must be [N, C, H, W] or [N, H, W], got ",
              saliency.shape().str());
    const int nd = saliency.ndim();
    const int64_t N = saliency.dim(0), HW = saliency.dim(nd - 2) * saliency.dim(nd - 1);
    LRP_CHECK(HW >= 1 && HW <= std::numeric_limits<int>::max(), op, ": saliency ", saliency.shape().str(),
              " has no pixels or too many");
    // (one CUDA block per row: a grid's x dimension takes at most 2^31 - 1)
    LRP_CHECK(N <= std::numeric_limits<int>::max(), op, ": saliency ", saliency.shape().str(),
              " has more than 2^31 - 1 rows");
    LRP_CHECK(k >= 1 && k <= HW, op, ": k must be in [1, ", HW, "] (the pixels of ", saliency.shape().str(),
              "), got ", k);
    check_defined(op, "idx", idx);
    check_dtype(op, "idx", idx, DType::I32);
    check_shape(op, "idx", idx, Shape{N, k});
    check_device(op, "idx", idx, saliency.device());
    check_defined(op, "valid", valid);
    check_dtype(op, "valid", valid, DType::F32);
    check_shape(op, "valid", valid, Shape{N});
    check_device(op, "valid", valid, saliency.device());
    if (N == 0) return;
    LRP_NVTX_RANGE(op);
    const Tensor map = saliency.ndim() == 4 ? channel_sum(saliency) : saliency;
    Tensor key = Tensor::empty(Shape{N, HW}, DType::F32, saliency.device());
    LRP_OP(saliency.device(), sgt_keys)
    (kernel_ctx(saliency.device()), N, HW, map.data<float>(), abs_value, key.data<float>(), valid.data<float>());
    topk_rows(key, k, idx);
}

void sgt_fill(const Tensor& x, const Tensor& idx, const Tensor& valid, const Tensor& lo, const Tensor& hi,
              Generator& g) {
    const char* op = "sgt_fill";
    check_defined(op, "x", x);
    check_dtype(op, "x", x, DType::F32);
    check_ndim(op, "x", x, 4);
    const int64_t N = x.dim(0), C = x.dim(1), HW = x.dim(2) * x.dim(3);
    LRP_CHECK(C >= 1 && C <= std::numeric_limits<int>::max() && HW >= 1, op, ": x has an unsupported shape ",
              x.shape().str());
    check_defined(op, "idx", idx);
    check_dtype(op, "idx", idx, DType::I32);
    check_ndim(op, "idx", idx, 2);
    LRP_CHECK(idx.dim(0) == N && idx.dim(1) >= 1 && idx.dim(1) <= HW, op, ": idx must be [", N, ", k] with 1 <= k <= ",
              HW, ", got ", idx.shape().str());
    check_device(op, "idx", idx, x.device());
    const Tensor* vecs[] = {&valid, &lo, &hi};
    const char* names[] = {"valid", "lo", "hi"};
    for (int i = 0; i < 3; ++i) {
        check_defined(op, names[i], *vecs[i]);
        check_dtype(op, names[i], *vecs[i], DType::F32);
        check_shape(op, names[i], *vecs[i], i == 0 ? Shape{N} : Shape{N, C});
        check_device(op, names[i], *vecs[i], x.device());
    }
    const int k = static_cast<int>(idx.dim(1));
    const uint64_t offset = g.reserve(philox_uniform_counters(static_cast<uint64_t>(N * k * C)));
    if (N == 0) return;
    LRP_NVTX_RANGE(op);
    LRP_OP(x.device(), sgt_fill)
    (kernel_ctx(x.device()), N, static_cast<int>(C), HW, k, idx.data<int32_t>(), valid.data<float>(), lo.data<float>(),
     hi.data<float>(), g.seed(), offset, x.data<float>());
}

Tensor sgt_kl(const Tensor& zc, const Tensor& zm, const Tensor& valid, float scale, const Tensor& dzc,
              const Tensor& dzm) {
    const char* op = "sgt_kl";
    check_defined(op, "zc", zc);
    check_dtype(op, "zc", zc, DType::F32);
    check_ndim(op, "zc", zc, 2);
    const int64_t N = zc.dim(0), K = zc.dim(1);
    LRP_CHECK(K >= 1 && K <= std::numeric_limits<int>::max(), op, ": logits have ", K, " classes");
    LRP_CHECK(std::isfinite(scale), op, ": scale must be finite, got ", scale);
    check_defined(op, "zm", zm);
    check_dtype(op, "zm", zm, DType::F32);
    check_shape(op, "zm", zm, zc.shape());
    check_device(op, "zm", zm, zc.device());
    check_defined(op, "valid", valid);
    check_dtype(op, "valid", valid, DType::F32);
    check_shape(op, "valid", valid, Shape{N});
    check_device(op, "valid", valid, zc.device());
    check_defined(op, "dzm", dzm);
    check_dtype(op, "dzm", dzm, DType::F32);
    check_shape(op, "dzm", dzm, zc.shape());
    check_device(op, "dzm", dzm, zc.device());
    if (dzc.defined()) {
        check_dtype(op, "dzc", dzc, DType::F32);
        check_shape(op, "dzc", dzc, zc.shape());
        check_device(op, "dzc", dzc, zc.device());
    }
    Tensor loss = Tensor::empty(Shape{N}, DType::F32, zc.device());
    if (N == 0) return loss;
    LRP_NVTX_RANGE(op);
    LRP_OP(zc.device(), sgt_kl)
    (kernel_ctx(zc.device()), N, static_cast<int>(K), zc.data<float>(), zm.data<float>(), valid.data<float>(), scale,
     loss.data<float>(), dzc.defined() ? dzc.data<float>() : nullptr, dzm.data<float>());
    return loss;
}

}  // namespace lrp::ops
