// Sequential: an ordered chain of owned children, each under a name ("0", "1", ... by default, or
// torchvision's names such as "conv1", "layer1", "fc"). Forward in order; backward and relevance in
// reverse over the same stored forward.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "lrp/nn/module.h"

namespace lrp::nn {

class Sequential : public Module {
public:
    explicit Sequential(std::string type_name = "Sequential") : type_(std::move(type_name)) {}
    const char* type() const override { return type_.c_str(); }

    // Appends a child under `name` (default: its index) and returns a reference to it.
    template <class M>
    M& add(std::unique_ptr<M> m, const std::string& name = "") {
        M& ref = *m;
        const std::string n = name.empty() ? std::to_string(mods_.size()) : name;
        register_child(n, ref);
        mods_.push_back(std::move(m));
        return ref;
    }
    template <class M, class... Args>
    M& emplace(const std::string& name, Args&&... args) {
        return add(std::make_unique<M>(std::forward<Args>(args)...), name);
    }
    size_t size() const { return mods_.size(); }
    Module& operator[](size_t i) { return *mods_.at(i); }

    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    Tensor relevance(const Tensor& r, RelevancePolicy& policy) override;
    Tensor relevance_adjoint(const Tensor& h, RelevanceAdjoint& adj) override;
    bool nonneg_output(bool input_nonneg, std::unordered_set<const Module*>& nonneg_inputs) const override;
    void clear_saved() override;

private:
    std::string type_;
    std::vector<std::unique_ptr<Module>> mods_;
};

}  // namespace lrp::nn
