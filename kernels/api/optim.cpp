// Front ends of lrp/ops/optim.h: PyTorch's hyper-parameter checks for SGD and AdamW, shape/dtype/
// device checks of parameters, gradients and state, then the fused op-table update; the clip factor.
#include "lrp/ops/optim.h"

#include <cmath>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::ops {
namespace {

void check_state(const char* op, const char* arg, const Tensor& t, const Tensor& w) {
    check_dtype(op, arg, t, DType::F32);
    check_device(op, arg, t, w.device());
    check_shape(op, arg, t, w.shape());
}

}  // namespace

void sgd_update(const SgdParams& p, const Tensor& w, const Tensor& g, const Tensor& buf, bool first_step) {
    const char* op = "sgd_update";
    LRP_CHECK(p.lr >= 0.f && std::isfinite(p.lr), op, ": invalid learning rate ", p.lr);
    LRP_CHECK(p.momentum >= 0.f && std::isfinite(p.momentum), op, ": invalid momentum ", p.momentum);
    LRP_CHECK(std::isfinite(p.dampening), op, ": invalid dampening ", p.dampening);
    LRP_CHECK(p.weight_decay >= 0.f && std::isfinite(p.weight_decay), op, ": invalid weight_decay ",
              p.weight_decay);
    LRP_CHECK(!p.nesterov || (p.momentum > 0.f && p.dampening == 0.f), op,
              ": nesterov momentum requires a momentum > 0 and zero dampening (momentum ", p.momentum,
              ", dampening ", p.dampening, ")");
    check_dtype(op, "w", w, DType::F32);
    check_state(op, "g", g, w);
    const bool use_buf = p.momentum != 0.f;
    if (use_buf) {
        LRP_CHECK(buf.defined(), op,
                  ": argument 'buf' (momentum buffer) is undefined but momentum = ", p.momentum);
        check_state(op, "buf", buf, w);
    }
    LRP_NVTX_RANGE("sgd_update");
    LRP_OP(w.device(), sgd_update)
    (kernel_ctx(w.device()), p, w.data<float>(), g.data<float>(), use_buf ? buf.data<float>() : nullptr, w.numel(),
     first_step);
}

void adamw_update(const AdamWParams& p, const Tensor& w, const Tensor& g, const Tensor& m, const Tensor& v) {
    const char* op = "adamw_update";
    LRP_CHECK(p.lr >= 0.f && std::isfinite(p.lr), op, ": invalid learning rate ", p.lr);
    LRP_CHECK(p.eps > 0.f && std::isfinite(p.eps), op, ": invalid epsilon ", p.eps, " (must be > 0)");
    LRP_CHECK(p.beta1 >= 0.f && p.beta1 < 1.f, op, ": invalid beta1 ", p.beta1, " (must be in [0, 1))");
    LRP_CHECK(p.beta2 >= 0.f && p.beta2 < 1.f, op, ": invalid beta2 ", p.beta2, " (must be in [0, 1))");
    LRP_CHECK(p.weight_decay >= 0.f && std::isfinite(p.weight_decay), op, ": invalid weight_decay ",
              p.weight_decay);
    LRP_CHECK(p.step >= 1, op, ": step must be >= 1 (1-based, for bias correction), got ", p.step);
    check_dtype(op, "w", w, DType::F32);
    check_state(op, "g", g, w);
    check_state(op, "m", m, w);
    check_state(op, "v", v, w);
    LRP_NVTX_RANGE("adamw_update");
    LRP_OP(w.device(), adamw_update)
    (kernel_ctx(w.device()), p, w.data<float>(), g.data<float>(), m.data<float>(), v.data<float>(), w.numel());
}

void clip_coef(const Tensor& sumsq, float max_norm, const Tensor& norm, const Tensor& coef) {
    const char* op = "clip_coef";
    LRP_CHECK(max_norm > 0.f && std::isfinite(max_norm), op, ": max_norm must be finite and > 0, got ", max_norm);
    check_dtype(op, "sumsq", sumsq, DType::F32);
    LRP_CHECK(sumsq.numel() == 1, op, ": sumsq has shape ", sumsq.shape().str(), ", expected one element");
    check_state(op, "norm", norm, sumsq);
    check_state(op, "coef", coef, sumsq);
    LRP_NVTX_RANGE("clip_coef");
    LRP_OP(sumsq.device(), clip_coef)
    (kernel_ctx(sumsq.device()), sumsq.data<float>(), max_norm, norm.data<float>(), coef.data<float>());
}

}  // namespace lrp::ops
