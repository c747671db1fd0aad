// Norm (average pools), Pass and Gradient: the rules that need no layer parameters.
#include "lrp/lrp/rules.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/pooling.h"
#include "lrp/ops/elementwise.h"

namespace lrp::explain {

std::string Norm::name() const { return "Norm(stabilizer=" + stab_.str() + ")"; }

// R_in = x * f'(x)^T [R / stab(f(x))] with the pool's exact forward and backward (divisor rules included).
Tensor Norm::relevance(nn::Module& m, const Tensor& r, const AffineParams*) const {
    if (auto* p = dynamic_cast<nn::AvgPool2d*>(&m)) {
        const Tensor& x = p->saved_input();
        LRP_CHECK(x.defined(), "Norm on AvgPool2d '", m.name(), "': no stored input (run forward first)");
        return ops::mul(x, p->pool_backward(stab_divide(r, p->pool(x), stab_)));
    }
    if (auto* p = dynamic_cast<nn::AdaptiveAvgPool2d*>(&m)) {
        const Tensor x = p->saved_input();
        LRP_CHECK(x.defined(), "Norm on AdaptiveAvgPool2d '", m.name(), "': no stored input (run forward first)");
        Tensor z = p->forward(x);  // recomputes the mean (stores the same input again)
        return ops::mul(x, p->backward(stab_divide(r, z, stab_), false));
    }
    check_layer(m);
    LRP_THROW("Norm: unhandled pool type ", m.type());
}

void Norm::check_layer(const nn::Module& m) const {
    LRP_CHECK(dynamic_cast<const nn::AvgPool2d*>(&m) || dynamic_cast<const nn::AdaptiveAvgPool2d*>(&m), name(),
              " applies to AvgPool2d / AdaptiveAvgPool2d, not to ", m.type(), " '", m.name(),
              "' (residual sums follow the composite's residual mode)");
}

namespace {
// The input a layer stored in its forward, where it keeps one; undefined for other layers and when none is stored
// (some layers' saved_input() throws then: Pass itself needs no input).
Tensor stored_input(nn::Module& m) {
    try {
        if (auto* p = dynamic_cast<nn::AffineLayer*>(&m)) return p->saved_input();
        if (auto* p = dynamic_cast<nn::ReLU*>(&m)) return p->saved_input();
        if (auto* p = dynamic_cast<nn::BatchNorm2d*>(&m)) return p->saved_input();
        if (auto* p = dynamic_cast<nn::MaxPool2d*>(&m)) return p->saved_input();
        if (auto* p = dynamic_cast<nn::AvgPool2d*>(&m)) return p->saved_input();
        if (auto* p = dynamic_cast<nn::AdaptiveAvgPool2d*>(&m)) return p->saved_input();
    } catch (const Error&) {
    }
    return Tensor();
}
}  // namespace

// The relevance goes on unchanged, so the layer's output must have its input's shape (as zennit's Pass needs:
// autograd refuses a gradient of another shape); Flatten never has.
Tensor Pass::relevance(nn::Module& m, const Tensor& r, const AffineParams*) const {
    check_layer(m);
    const Tensor x = stored_input(m);
    LRP_CHECK(!x.defined() || x.shape() == r.shape(), name(),
              " hands the relevance on unchanged, so it applies to layers whose output has their input's shape, not "
              "to ", m.type(), " '", m.name(), "' (", x.defined() ? x.shape().str() : "", " to ", r.shape().str(), ")");
    return r;
}

void Pass::check_layer(const nn::Module& m) const {
    LRP_CHECK(dynamic_cast<const nn::Flatten*>(&m) == nullptr, name(),
              " hands the relevance on unchanged, so it applies to layers whose output has their input's shape, not "
              "to ", m.type(), " '", m.name(), "'");
}

Tensor Gradient::relevance(nn::Module& m, const Tensor& r, const AffineParams*) const {
    return m.backward(r, /*accumulate_param_grads=*/false);
}

}  // namespace lrp::explain
