// Norm (average pools), Pass and Gradient: the rules that need no layer parameters.
#include "lrp/lrp/rules.h"
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
    LRP_THROW(name(), " applies to AvgPool2d / AdaptiveAvgPool2d, not to ", m.type(), " '", m.name(),
              "' (residual sums follow the composite's residual mode)");
}

Tensor Pass::relevance(nn::Module&, const Tensor& r, const AffineParams*) const { return r; }

Tensor Gradient::relevance(nn::Module& m, const Tensor& r, const AffineParams*) const {
    return m.backward(r, /*accumulate_param_grads=*/false);
}

}  // namespace lrp::explain
