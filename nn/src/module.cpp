// Module registry (params, buffers, children, names), mode/device propagation, state_dict I/O.
#include "lrp/nn/module.h"

#include <cmath>
#include <map>
#include <optional>

#include "lrp/ops/elementwise.h"
#include "lrp/utf8.h"

namespace lrp::nn {

Tensor Module::relevance(const Tensor& r, RelevancePolicy& policy) {
    LRP_CHECK(is_leaf(), type(), " '", name_, "' is a container without its own relevance pass");
    return policy.apply(*this, r);
}

Tensor Module::relevance_adjoint(const Tensor& h, RelevanceAdjoint& adj) {
    LRP_CHECK(is_leaf(), type(), " '", name_, "' is a container without its own relevance adjoint");
    return adj.apply(*this, h);
}

bool Module::nonneg_output(bool, std::unordered_set<const Module*>&) const { return false; }

void Module::train(bool on) {
    training_ = on;
    on_train_changed();
    for (auto& [n, c] : children_) c->train(on);
}

void Module::to(Device d) {
    require_device(d);
    for (auto& [n, p] : params_) {
        p->value = p->value.to(d);
        if (p->grad.defined()) p->grad = p->grad.to(d);
    }
    for (auto& b : buffers_)
        if (b.t->defined() && !b.host) *b.t = b.t->to(d);
    clear_saved();
    device_ = d;
    for (auto& [n, c] : children_) c->to(d);
}

void Module::register_param(const std::string& name, Param& p) { params_.emplace_back(name, &p); }
void Module::register_buffer(const std::string& name, Tensor& t, bool host) { buffers_.push_back({name, &t, host}); }

void Module::register_child(const std::string& name, Module& m) {
    children_.emplace_back(name, &m);
    m.set_name(name_.empty() ? name : name_ + "." + name);
}

void Module::set_name(const std::string& name) {
    name_ = name;
    for (auto& [n, c] : children_) c->set_name(name + "." + n);
}

std::vector<std::pair<std::string, Param*>> Module::named_params() {
    std::vector<std::pair<std::string, Param*>> out;
    for (auto& [n, p] : params_) out.emplace_back(n, p);
    for (auto& [cn, c] : children_)
        for (auto& [n, p] : c->named_params()) out.emplace_back(cn + "." + n, p);
    return out;
}

std::vector<std::pair<std::string, Tensor*>> Module::named_buffers() {
    std::vector<std::pair<std::string, Tensor*>> out;
    for (auto& b : buffers_) out.emplace_back(b.name, b.t);
    for (auto& [cn, c] : children_)
        for (auto& [n, b] : c->named_buffers()) out.emplace_back(cn + "." + n, b);
    return out;
}

std::vector<Module*> Module::children() const {
    std::vector<Module*> out;
    for (auto& [n, c] : children_) out.push_back(c);
    return out;
}

std::vector<Module*> Module::leaves() {
    if (is_leaf()) return {this};
    std::vector<Module*> out;
    for (auto& [n, c] : children_)
        for (Module* l : c->leaves()) out.push_back(l);
    return out;
}

std::vector<Param*> Module::params() {
    std::vector<Param*> out;
    for (auto& [n, p] : named_params()) out.push_back(p);
    return out;
}

void Module::zero_grad() {
    for (Param* p : params()) p->grad_is_zero = true;
}

StateDict Module::state_dict() {
    StateDict sd;
    for (auto& [n, p] : named_params()) sd[n] = p->value.to(Device::cpu()).clone();
    for (auto& [n, b] : named_buffers())
        if (b->defined()) sd[n] = b->to(Device::cpu()).clone();
    return sd;
}

void Module::load_state_dict(const StateDict& sd, bool strict) {
    std::map<std::string, Tensor*> targets;
    for (auto& [n, p] : named_params()) targets[n] = &p->value;
    for (auto& [n, b] : named_buffers()) targets[n] = b;
    std::vector<std::string> problems;
    size_t missing = 0;
    // BatchNorm's num_batches_tracked only counts training steps; state_dicts saved before PyTorch 0.4.1
    // (torchvision's ImageNet weights among them) lack it, and PyTorch loads them: so does this (the model's
    // counter is kept: 0 for a new model).
    auto optional = [](const std::string& n) {
        const std::string tail = "num_batches_tracked";
        return n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
    };
    // The counter may come as any numeric dtype, of shape [] or [1] (a state_dict cast with .half(), or saved by
    // other code): PyTorch's load_state_dict copies it over whatever its form; so does this, as an integer.
    std::map<std::string, Tensor> counters;
    auto as_counter = [](const Tensor& v) -> std::optional<Tensor> {
        if (v.numel() != 1 || v.ndim() > 1) return std::nullopt;
        const Tensor c = v.to(Device::cpu());
        double x = 0;
        switch (c.dtype()) {
            case DType::I64: return Tensor::from_vector(std::vector<int64_t>{c.to_vector<int64_t>()[0]}, Shape{});
            case DType::I32: x = c.to_vector<int32_t>()[0]; break;
            case DType::F32: x = c.to_vector<float>()[0]; break;
            case DType::U8: x = c.to_vector<uint8_t>()[0]; break;
            default: return std::nullopt;
        }
        if (!std::isfinite(x) || x < 0 || x > 9.0e15) return std::nullopt;
        return Tensor::from_vector(std::vector<int64_t>{static_cast<int64_t>(std::llround(x))}, Shape{});
    };
    for (auto& [n, t] : targets) {
        auto it = sd.find(n);
        if (it == sd.end() && optional(n)) continue;
        if (it != sd.end() && optional(n) && t->dtype() == DType::I64 && t->numel() == 1 &&
            (it->second.shape() != t->shape() || it->second.dtype() != t->dtype())) {
            if (std::optional<Tensor> c = as_counter(it->second)) {
                counters[n] = *c;
                continue;
            }
        }
        if (it == sd.end()) {
            ++missing;
            problems.push_back("missing: " + n + " " + t->shape().str());
        } else {  // both, where both are wrong (a fixed shape would show the dtype in a second run)
            if (it->second.shape() != t->shape()) {
                std::string p = "wrong shape: " + n + " is " + it->second.shape().str() + ", expected " +
                                t->shape().str();
                if (n == "classifier.weight" && it->second.ndim() == 2 && it->second.dim(0) == t->dim(0))  // VGG CIFAR
                    p += " (its input follows the image size: are the inputs the size the model was trained on?)";
                problems.push_back(p);
            }
            if (it->second.dtype() != t->dtype())
                problems.push_back("wrong dtype: " + n + " is " + dtype_name(it->second.dtype()) + ", expected " +
                                   dtype_name(t->dtype()));
        }
    }
    if (strict)
        for (auto& [n, t] : sd)
            if (!targets.count(n)) problems.push_back("unexpected: " + escaped_bytes(n) + " " + t.shape().str());
    // Most names absent: say what that usually means before the full list.
    const std::string hint = missing * 2 > targets.size()
                                 ? str(" ", missing, " of the model's ", targets.size(), " tensors are missing: the weights are "
                                       "probably of another architecture (or width; for VGG, of another input image size)")
                                 : std::string();
    std::string listed;  // at most 60 lines: a file of 200,000 foreign tensors needs no 200,000-line message
    for (size_t i = 0; i < problems.size() && i < 60; ++i) listed += "\n  " + problems[i];
    if (problems.size() > 60) listed += str("\n  ... and ", problems.size() - 60, " more");
    LRP_CHECK(problems.empty(), "load_state_dict into ", (name_.empty() ? type() : name_), ":", hint, listed);
    for (auto& [n, t] : targets) {
        if (auto c = counters.find(n); c != counters.end()) t->copy_from(c->second);
        else if (auto it = sd.find(n); it != sd.end()) t->copy_from(it->second);
    }
}

Tensor grad_destination(const Param& p, Device d) {
    if (p.grad.defined() && p.grad_is_zero && p.grad.shape() == p.value.shape() && p.grad.device() == d)
        return p.grad;
    return Tensor::empty(p.value.shape(), DType::F32, d);
}

void accumulate_grad(Param& p, Tensor fresh) {
    if (p.grad.defined() && fresh.shares_storage_with(p.grad) && fresh.raw_data() == p.grad.raw_data()) {
        // written in place through grad_destination(), which hands p.grad out only while it is zeroed
        LRP_CHECK(p.grad_is_zero && fresh.shape() == p.grad.shape(),
                  "accumulate_grad: a gradient written into the parameter's own gradient storage must replace it");
        p.grad_is_zero = false;
        return;
    }
    if (!p.grad.defined() || p.grad_is_zero) {
        if (p.grad.defined() && p.grad.shape() == fresh.shape() && p.grad.device() == fresh.device()) {
            p.grad.copy_from(fresh);  // keep the gradient's storage stable across steps
        } else {
            p.grad = std::move(fresh);
        }
        p.grad_is_zero = false;
        return;
    }
    ops::add(p.grad, fresh, p.grad);
}

}  // namespace lrp::nn
