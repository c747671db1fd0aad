// zennit 0.5.1's ReLU hooks of the gradient-based composites (lrp-rules.md §4.10): ReLUDeconvNet,
// ReLUGuidedBackprop and ReLUBetaSmooth. Each replaces a ReLU's gradient; R is the relevance at its output.
#include <cmath>
#include <sstream>

#include "lrp/lrp/rules.h"
#include "lrp/nn/activation.h"
#include "lrp/ops/elementwise.h"

namespace lrp::explain {

namespace {
void check_relu(const nn::Module& m, const std::string& rule) {
    LRP_CHECK(dynamic_cast<const nn::ReLU*>(&m) != nullptr, rule, " replaces the gradient of a ReLU, not of ", m.type(),
              " '", m.name(), "' (give it to activation layers: --rule activation=...)");
}
// The ReLU's stored input, of the relevance's shape.
const Tensor& relu_input(nn::Module& m, const Tensor& r, const std::string& rule) {
    const Tensor& x = dynamic_cast<nn::ReLU&>(m).saved_input();
    LRP_CHECK(x.shape() == r.shape(), rule, " on ReLU '", m.name(), "': relevance ", r.shape().str(),
              " for an input of ", x.shape().str());
    return x;
}
}  // namespace

// zennit: grad_output.clamp(min=0), the ReLU's own mask dropped.
Tensor ReLUDeconvNet::relevance(nn::Module& m, const Tensor& r, const AffineParams*) const {
    check_layer(m);
    relu_input(m, r, name());
    return ops::relu(r);
}
void ReLUDeconvNet::check_layer(const nn::Module& m) const { check_relu(m, name()); }

// zennit: grad_input * (grad_output > 0), grad_input = relu'(x) R; equal to relu'(x) max(R, 0).
Tensor ReLUGuidedBackprop::relevance(nn::Module& m, const Tensor& r, const AffineParams*) const {
    check_layer(m);
    const Tensor& x = relu_input(m, r, name());
    Tensor out = ops::relu(r);
    ops::relu_bwd(x, out, out);
    return out;
}
void ReLUGuidedBackprop::check_layer(const nn::Module& m) const { check_relu(m, name()); }

ReLUBetaSmooth::ReLUBetaSmooth(float beta_smooth) : beta_(beta_smooth) {
    // beta -> inf is the ReLU's own gradient; beta <= 0 smooths nothing (a constant 1/2, or the mask reversed).
    LRP_CHECK(std::isfinite(beta_smooth) && beta_smooth > 0.f, "ReLUBetaSmooth: beta_smooth must be a finite number > 0 ",
              "(got ", beta_smooth, ")");
}
std::string ReLUBetaSmooth::name() const {
    std::ostringstream o;
    o << "ReLUBetaSmooth(beta_smooth=" << beta_ << ")";
    return o.str();
}
// zennit: sigmoid(beta_smooth * x) * grad_output, the gradient of softplus(beta x) / beta.
Tensor ReLUBetaSmooth::relevance(nn::Module& m, const Tensor& r, const AffineParams*) const {
    check_layer(m);
    return ops::sigmoid_mul(relu_input(m, r, name()), beta_, r);
}
void ReLUBetaSmooth::check_layer(const nn::Module& m) const { check_relu(m, name()); }

}  // namespace lrp::explain
