// SGD and AdamW steps over the fused update kernels, their checkpoint state, and gradient clipping.
#include "lrp/train/optimizer.h"

#include <cmath>

#include "lrp/nvtx.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/optim.h"
#include "lrp/ops/reduce.h"
#include "lrp/train/config.h"

namespace lrp::train {

namespace {
bool has_grad(const nn::Param* p) { return p->requires_grad && p->grad.defined() && !p->grad_is_zero; }

Tensor load_slot(const nn::StateDict& sd, const std::string& key, const Tensor& like) {
    auto it = sd.find(key);
    LRP_CHECK(it != sd.end(), "optimizer state: missing '", key, "'");
    LRP_CHECK(it->second.shape() == like.shape(), "optimizer state: '", key, "' has shape ", it->second.shape().str(),
              ", expected ", like.shape().str());
    return it->second.to(like.device()).clone();
}

int64_t load_scalar(const nn::StateDict& sd, const std::string& key) {
    auto it = sd.find(key);
    LRP_CHECK(it != sd.end(), "optimizer state: missing '", key, "'");
    LRP_CHECK(it->second.dtype() == DType::I64 && it->second.numel() == 1, "optimizer state: '", key,
              "' must be one int64");
    return it->second.to(Device::cpu()).data<int64_t>()[0];
}

Tensor scalar_i64(int64_t v) { return Tensor::from_vector(std::vector<int64_t>{v}, Shape{}); }
}  // namespace

Optimizer::Optimizer(NamedParams params) : params_(std::move(params)) {}

void Optimizer::set_lr(float lr) {
    LRP_CHECK(std::isfinite(lr) && lr >= 0.f, "learning rate must be finite and >= 0 (got ", lr, ")");
    lr_ = lr;
}

namespace {
void check_momentum(float m) {
    LRP_CHECK(std::isfinite(m) && m >= 0.f && m < 1.f, "momentum must be in [0, 1) (got ", m, ")");
}
}  // namespace

void SGD::set_momentum(float m) {
    check_momentum(m);  // 0 with Nesterov (a cycled momentum's base): plain SGD at those steps, as in PyTorch
    p_.momentum = m;
}

void AdamW::set_momentum(float m) {
    check_momentum(m);
    p_.beta1 = m;
}

SGD::SGD(NamedParams params, const kernels::SgdParams& p)
    : Optimizer(std::move(params)), p_(p), buf_(params_.size()), has_buf_(params_.size(), false) {
    set_lr(p.lr);
}

void SGD::step() {
    LRP_NVTX_RANGE("SGD.step");
    p_.lr = lr_;
    for (size_t i = 0; i < params_.size(); ++i) {
        nn::Param* p = params_[i].second;
        if (!has_grad(p)) continue;
        if (p_.momentum != 0.f && !buf_[i].defined())
            buf_[i] = Tensor::empty(p->value.shape(), DType::F32, p->value.device());
        kernels::SgdParams sp = p_;
        sp.nesterov = sp.nesterov && sp.momentum != 0.f;  // momentum 0 skips the buffer and Nesterov's term
        ops::sgd_update(sp, p->value, p->grad, buf_[i], !has_buf_[i]);
        if (p_.momentum != 0.f) has_buf_[i] = true;
    }
    ++steps_;
}

nn::StateDict SGD::state_dict() const {
    nn::StateDict sd;
    sd["sgd.step"] = scalar_i64(steps_);
    for (size_t i = 0; i < params_.size(); ++i)
        if (has_buf_[i]) sd["sgd." + params_[i].first + ".momentum_buffer"] = buf_[i].to(Device::cpu()).clone();
    return sd;
}

void SGD::load_state_dict(const nn::StateDict& sd) {
    steps_ = load_scalar(sd, "sgd.step");
    for (size_t i = 0; i < params_.size(); ++i) {
        const std::string key = "sgd." + params_[i].first + ".momentum_buffer";
        has_buf_[i] = sd.count(key) > 0;
        if (has_buf_[i]) buf_[i] = load_slot(sd, key, params_[i].second->value);
    }
}

AdamW::AdamW(NamedParams params, const kernels::AdamWParams& p)
    : Optimizer(std::move(params)), p_(p), m_(params_.size()), v_(params_.size()), t_(params_.size(), 0) {
    set_lr(p.lr);
}

void AdamW::step() {
    LRP_NVTX_RANGE("AdamW.step");
    for (size_t i = 0; i < params_.size(); ++i) {
        nn::Param* p = params_[i].second;
        if (!has_grad(p)) continue;
        if (!m_[i].defined()) {
            m_[i] = Tensor::zeros(p->value.shape(), DType::F32, p->value.device());
            v_[i] = Tensor::zeros(p->value.shape(), DType::F32, p->value.device());
        }
        kernels::AdamWParams q = p_;
        q.lr = lr_;
        q.step = ++t_[i];
        ops::adamw_update(q, p->value, p->grad, m_[i], v_[i]);
    }
    ++steps_;
}

nn::StateDict AdamW::state_dict() const {
    nn::StateDict sd;
    sd["adamw.step"] = scalar_i64(steps_);
    for (size_t i = 0; i < params_.size(); ++i) {
        if (!m_[i].defined()) continue;
        const std::string k = "adamw." + params_[i].first;
        sd[k + ".exp_avg"] = m_[i].to(Device::cpu()).clone();
        sd[k + ".exp_avg_sq"] = v_[i].to(Device::cpu()).clone();
        sd[k + ".step"] = scalar_i64(t_[i]);
    }
    return sd;
}

void AdamW::load_state_dict(const nn::StateDict& sd) {
    steps_ = load_scalar(sd, "adamw.step");
    for (size_t i = 0; i < params_.size(); ++i) {
        const std::string k = "adamw." + params_[i].first;
        if (!sd.count(k + ".exp_avg")) {
            m_[i] = v_[i] = Tensor();
            t_[i] = 0;
            continue;
        }
        m_[i] = load_slot(sd, k + ".exp_avg", params_[i].second->value);
        v_[i] = load_slot(sd, k + ".exp_avg_sq", params_[i].second->value);
        t_[i] = load_scalar(sd, k + ".step");
    }
}

Tensor clip_grad_norm(const NamedParams& params, float max_norm) {
    LRP_CHECK(max_norm > 0.f && std::isfinite(max_norm), "clip_grad_norm: max_norm must be finite and > 0 (got ",
              max_norm, ")");
    Tensor total;  // sum of squares over every gradient, accumulated on the gradients' device
    for (auto& [n, p] : params) {
        if (!has_grad(p)) continue;
        Tensor sq = ops::reduce_all(ops::ReduceOp::SumSq, p->grad);
        if (!total.defined()) total = sq;
        else {
            LRP_CHECK(sq.device() == total.device(), "clip_grad_norm: gradients on ", total.device().str(), " and ",
                      sq.device().str());
            ops::add(total, sq, total);
        }
    }
    if (!total.defined()) return Tensor();
    Tensor norm = Tensor::empty({1}, DType::F32, total.device()), coef = Tensor::empty({1}, DType::F32, total.device());
    ops::clip_coef(total, max_norm, norm, coef);
    // Every gradient times the device-side factor (1 when the norm is below max_norm, as PyTorch does).
    for (auto& [n, p] : params)
        if (has_grad(p)) {
            Tensor g = p->grad.reshape({1, 1, p->grad.numel()});
            ops::channel_affine(g, coef, Tensor(), g);
        }
    return norm;
}

// The run's optimizer from its settings (train's --optimizer, --lr, --momentum, ... flags).
std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, NamedParams params) {
    if (c.optimizer == "sgd") {
        kernels::SgdParams p;
        p.lr = c.lr;
        p.momentum = c.momentum;
        p.nesterov = c.nesterov && c.momentum > 0;
        p.weight_decay = c.weight_decay;
        return std::make_unique<SGD>(std::move(params), p);
    }
    LRP_CHECK(c.optimizer == "adamw", "make_optimizer: unknown optimizer '", c.optimizer, "'");
    kernels::AdamWParams p;
    p.lr = c.lr;
    p.beta1 = c.adam_beta1;
    p.beta2 = c.adam_beta2;
    p.eps = c.adam_eps;
    p.weight_decay = c.weight_decay;
    return std::make_unique<AdamW>(std::move(params), p);
}

}  // namespace lrp::train
