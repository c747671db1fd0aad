// Sequential forward (in order), backward / relevance (in reverse) and the relevance adjoint (in order).
#include "lrp/nn/sequential.h"

namespace lrp::nn {

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (auto& m : mods_) h = m->forward(h);
    return h;
}

Tensor Sequential::backward(const Tensor& dy, bool acc) {
    Tensor g = dy;
    for (auto it = mods_.rbegin(); it != mods_.rend(); ++it) g = (*it)->backward(g, acc);
    return g;
}

bool Sequential::nonneg_output(bool input_nonneg, std::unordered_set<const Module*>& nonneg_inputs) const {
    for (const auto& m : mods_) input_nonneg = m->nonneg_output(input_nonneg, nonneg_inputs);
    return input_nonneg;
}

Tensor Sequential::relevance(const Tensor& r, RelevancePolicy& policy) {
    Tensor g = r;
    for (auto it = mods_.rbegin(); it != mods_.rend(); ++it) g = (*it)->relevance(g, policy);
    return g;
}

Tensor Sequential::relevance_adjoint(const Tensor& h, RelevanceAdjoint& adj) {
    Tensor g = h;
    for (auto& m : mods_) g = m->relevance_adjoint(g, adj);
    return g;
}

void Sequential::clear_saved() {
    for (auto& m : mods_) m->clear_saved();
}

}  // namespace lrp::nn
