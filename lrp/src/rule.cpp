// AffineRule dispatch: checks that the module is an affine layer with a stored input and parameters.
#include "lrp/lrp/rule.h"

namespace lrp::explain {

void AffineRule::check_layer(const nn::Module& m) const {
    LRP_CHECK(dynamic_cast<const nn::AffineLayer*>(&m) != nullptr, name(), " applies to Conv2d / Linear layers, not to ",
              m.type(), " '", m.name(), "'");
}

Tensor AffineRule::relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const {
    check_layer(m);
    auto* layer = static_cast<nn::AffineLayer*>(&m);
    LRP_CHECK(params != nullptr && params->weight.defined(), name(), " on ", m.type(), " '", m.name(),
              "': no parameters were provided");
    const Tensor& x = layer->saved_input();
    LRP_CHECK(r.device() == x.device(), name(), " on '", m.name(), "': relevance on ", r.device().str(),
              ", stored input on ", x.device().str());
    const Tensor z = layer->saved_output_for(params->weight, params->bias);
    Call c{*layer, x, params->weight, params->bias, z, params->input_nonneg};
    Tensor out = affine(c, r);
    LRP_CHECK(out.shape() == x.shape(), name(), " on '", m.name(), "': produced relevance ", out.shape().str(),
              " for input ", x.shape().str());
    return out;
}

}  // namespace lrp::explain
