// Front end of lrp/ops/isnet_loss.h: parameter and argument checks (each error names what is wrong), the
// descriptor and dispatch through the op table.
#include "lrp/ops/isnet_loss.h"

#include <cmath>
#include <limits>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"
#include "lrp/ops/reduce.h"

namespace lrp::ops {

int isnet_foreground_mode(const std::string& name, const std::string& what) {
    if (name == "l2") return kernels::kIsnetForegroundL2;
    if (name == "l1") return kernels::kIsnetForegroundL1;
    if (name == "hybrid") return kernels::kIsnetForegroundHybrid;
    LRP_THROW(what, " must be l2, l1 or hybrid (got '", name, "')");
}

const char* isnet_foreground_name(int mode) {
    return mode == kernels::kIsnetForegroundL1 ? "l1" : mode == kernels::kIsnetForegroundHybrid ? "hybrid" : "l2";
}

void isnet_heat_loss(const Tensor& maps, const Tensor& mask, const IsnetLossParams& p, const Tensor& loss,
                     const Tensor& dmaps, const Tensor& bad) {
    const char* op = "isnet_heat_loss";
    LRP_CHECK(p.decay >= 0.f && p.decay <= 1.f, op, ": GWRP decay must be in [0, 1], got ", p.decay);
    LRP_CHECK(std::isfinite(p.E) && p.E > 0.f, op, ": E must be positive and finite, got ", p.E);
    LRP_CHECK(std::isfinite(p.A) && p.A >= 0.f && std::isfinite(p.B) && p.B >= 0.f, op,
              ": the weights A and B must be finite and >= 0, got ", p.A, " and ", p.B);
    LRP_CHECK(std::isfinite(p.C2) && p.C1 > 0.f && p.C1 <= p.C2, op, ": need 0 < C1 <= C2 (finite), got C1 ", p.C1,
              ", C2 ", p.C2);
    LRP_CHECK(p.foreground == kernels::kIsnetForegroundL2 || p.foreground == kernels::kIsnetForegroundL1 ||
                  p.foreground == kernels::kIsnetForegroundHybrid,
              op, ": unknown foreground mode ", p.foreground);
    check_defined(op, "maps", maps);
    check_dtype(op, "maps", maps, DType::F32);
    LRP_CHECK(maps.ndim() == 4 || maps.ndim() == 5, op, ": maps must be [N, K, C, H, W] or [N, C, H, W], got ",
              maps.shape().str());
    const bool k_axis = maps.ndim() == 5;
    const int64_t N = maps.dim(0), K = k_axis ? maps.dim(1) : 1, C = maps.dim(k_axis ? 2 : 1),
                  H = maps.dim(k_axis ? 3 : 2), W = maps.dim(k_axis ? 4 : 3);
    LRP_CHECK(K >= 1 && C >= 1 && H >= 1 && W >= 1 && N <= std::numeric_limits<int>::max() &&
                  K * C * H * W <= (int64_t{1} << 30),
              op, ": maps have an unsupported shape ", maps.shape().str());
    check_defined(op, "mask", mask);
    check_dtype(op, "mask", mask, DType::F32);
    check_device(op, "mask", mask, maps.device());
    const bool mask_ok = mask.shape() == Shape{N, H, W} || mask.shape() == Shape{N, 1, H, W};
    LRP_CHECK(mask_ok, op, ": mask must be [", N, ", ", H,
              ", ", W, "] or [", N, ", 1, ", H, ", ", W, "] for maps ", maps.shape().str(), ", got ", mask.shape().str());
    check_dtype(op, "loss", loss, DType::F32);
    check_shape(op, "loss", loss, Shape{N});
    check_device(op, "loss", loss, maps.device());
    check_dtype(op, "dmaps", dmaps, DType::F32);
    check_shape(op, "dmaps", dmaps, maps.shape());
    check_device(op, "dmaps", dmaps, maps.device());
    check_dtype(op, "bad", bad, DType::I32);
    check_shape(op, "bad", bad, Shape{N});
    check_device(op, "bad", bad, maps.device());
    if (N == 0) return;
    kernels::IsnetLossDesc d;
    d.N = static_cast<int>(N), d.K = static_cast<int>(K), d.C = static_cast<int>(C);
    d.H = static_cast<int>(H), d.W = static_cast<int>(W);
    d.decay = p.decay, d.E = p.E, d.A = p.A, d.B = p.B, d.C1 = p.C1, d.C2 = p.C2, d.foreground = p.foreground;
    LRP_NVTX_RANGE("isnet_heat_loss");
    LRP_OP(maps.device(), isnet_heat_loss)
    (kernel_ctx(maps.device()), d, maps.data<float>(), mask.data<float>(), loss.data<float>(), dmaps.data<float>(),
     bad.data<int32_t>());
}

Tensor isnet_pick_class(const Tensor& logits, Generator& g) {
    const char* op = "isnet_pick_class";
    check_defined(op, "logits", logits);
    check_dtype(op, "logits", logits, DType::F32);
    check_ndim(op, "logits", logits, 2);
    const int64_t N = logits.dim(0), K = logits.dim(1);
    LRP_CHECK(K >= 1 && K <= std::numeric_limits<int32_t>::max(), op, ": logits have ", K, " classes");
    Tensor top = Tensor::empty(Shape{N}, DType::I32, logits.device()), cls = Tensor::empty(Shape{N}, DType::I32, logits.device());
    if (N == 0) return cls;
    argmax_rows(logits, top);
    const uint64_t offset = g.reserve(philox_uniform_counters(static_cast<uint64_t>(2 * N)));
    LRP_OP(logits.device(), isnet_pick_class)
    (kernel_ctx(logits.device()), N, static_cast<int>(K), top.data<int32_t>(), g.seed(), offset, cls.data<int32_t>());
    return cls;
}

namespace {
Tensor selective(const char* op, const Tensor& logits, float eps, const Tensor* u, int form) {
    LRP_CHECK(form == kernels::kIsnetSelectiveLogOdds || form == kernels::kIsnetSelectiveSoftmin, op,
              ": unknown selective form ", form);
    check_defined(op, "logits", logits);
    check_dtype(op, "logits", logits, DType::F32);
    check_ndim(op, "logits", logits, 2);
    LRP_CHECK(std::isfinite(eps) && eps > 0.f, op, ": eps must be positive and finite, got ", eps);
    const int64_t N = logits.dim(0), K = logits.dim(1);
    LRP_CHECK(K >= 1 && K <= std::numeric_limits<int32_t>::max(), op, ": logits have ", K, " classes");
    if (u) {
        check_dtype(op, "u", *u, DType::F32);
        check_shape(op, "u", *u, logits.shape());
        check_device(op, "u", *u, logits.device());
    }
    Tensor out = Tensor::empty(logits.shape(), DType::F32, logits.device());
    if (N == 0) return out;
    LRP_NVTX_RANGE(op);
    LRP_OP(logits.device(), isnet_selective)
    (kernel_ctx(logits.device()), N, static_cast<int>(K), form, logits.data<float>(), eps, u ? u->data<float>() : nullptr,
     out.data<float>());
    return out;
}
}  // namespace

Tensor isnet_selective_seed(const Tensor& logits, float eps, int form) {
    return selective("isnet_selective_seed", logits, eps, nullptr, form);
}

Tensor isnet_selective_vjp(const Tensor& logits, float eps, const Tensor& u, int form) {
    check_defined("isnet_selective_vjp", "u", u);
    return selective("isnet_selective_vjp", logits, eps, &u, form);
}

void gwrp_rows(const Tensor& v, float decay, const Tensor& total, const Tensor& w) {
    const char* op = "gwrp_rows";
    LRP_CHECK(decay >= 0.f && decay <= 1.f, op, ": GWRP decay must be in [0, 1], got ", decay);
    check_defined(op, "v", v);
    check_dtype(op, "v", v, DType::F32);
    check_ndim(op, "v", v, 2);
    const int64_t M = v.dim(0), L = v.dim(1);
    LRP_CHECK(L >= 1 && L <= 4096, op, ": rows of ", L, " values (1 to 4096)");
    check_dtype(op, "total", total, DType::F32);
    check_shape(op, "total", total, Shape{M});
    check_device(op, "total", total, v.device());
    check_dtype(op, "w", w, DType::F32);
    check_shape(op, "w", w, v.shape());
    check_device(op, "w", w, v.device());
    if (M == 0) return;
    LRP_NVTX_RANGE(op);
    LRP_OP(v.device(), gwrp_rows)(kernel_ctx(v.device()), M, static_cast<int>(L), v.data<float>(), decay,
                                  total.data<float>(), w.data<float>());
}

}  // namespace lrp::ops
