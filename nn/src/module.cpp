// Module registry (params, buffers, children, names), mode/device propagation, state_dict I/O.
#include "lrp/nn/module.h"

#include "lrp/ops/elementwise.h"

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
    std::string problems;
    size_t missing = 0;
    // BatchNorm's num_batches_tracked only counts training steps; state_dicts saved before PyTorch 0.4.1
    // (torchvision's ImageNet weights among them) lack it, and PyTorch loads them: so does this (the model's
    // counter is kept: 0 for a new model).
    auto optional = [](const std::string& n) {
        const std::string tail = "num_batches_tracked";
        return n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
    };
    for (auto& [n, t] : targets) {
        auto it = sd.find(n);
        if (it == sd.end() && optional(n)) continue;
        if (it == sd.end()) {
            ++missing;
            problems += "\n  missing: " + n + " " + t->shape().str();
        } else if (it->second.shape() != t->shape()) {
            problems += "\n  wrong shape: " + n + " is " + it->second.shape().str() + ", expected " + t->shape().str();
            if (n == "classifier.weight" && it->second.ndim() == 2 && it->second.dim(0) == t->dim(0))  // VGG CIFAR form
                problems += " (its input follows the image size: are the inputs the size the model was trained on?)";
        } else if (it->second.dtype() != t->dtype()) {
            problems += "\n  wrong dtype: " + n + " is " + dtype_name(it->second.dtype()) + ", expected " +
                        dtype_name(t->dtype());
        }
    }
    if (strict)
        for (auto& [n, t] : sd)
            if (!targets.count(n)) problems += "\n  unexpected: " + n + " " + t.shape().str();
    // Most names absent: say what that usually means before the full list.
    const std::string hint = missing * 2 > targets.size()
                                 ? str(" ", missing, " of the model's ", targets.size(), " tensors are missing: the weights are "
                                       "probably of another architecture (or width; for VGG, of another input image size)")
                                 : std::string();
    LRP_CHECK(problems.empty(), "load_state_dict into ", (name_.empty() ? type() : name_), ":", hint, problems);
    for (auto& [n, t] : targets)
        if (auto it = sd.find(n); it != sd.end()) t->copy_from(it->second);
}

void accumulate_grad(Param& p, Tensor fresh) {
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
