// attribute(): bind the composite, the BN-folded eval forward that keeps each affine layer's output,
// initial relevance, reversed pass in relevance mode.
#include "lrp/lrp/attribution.h"

#include "lrp/nvtx.h"

namespace lrp::explain {

namespace {
// Puts the model in eval mode for the scope and restores training mode afterwards.
class EvalScope {
public:
    explicit EvalScope(nn::Module& m) : m_(m), was_training_(m.training()) {
        if (was_training_) m_.eval();
    }
    ~EvalScope() {
        if (was_training_) m_.train(true);
    }

private:
    nn::Module& m_;
    bool was_training_;
};
}  // namespace

Tensor attribute(nn::Module& model, const Tensor& x, const Target& target, Composite& composite, Tensor* logits) {
    LRP_NVTX_RANGE("lrp.attribute");
    check_defined("attribute", "x", x);
    LRP_CHECK(x.device() == model.device(), "attribute: input on ", x.device().str(), ", model on ",
              model.device().str());
    EvalScope eval(model);
    composite.bind(model);
    // The folded forward keeps each affine layer's output, so Epsilon-type rules need no second forward.
    ScopedAttributionForward folded(model, composite.folded_pairs(), composite.bn_fold());
    Tensor y = model.forward(x);
    LRP_CHECK(y.ndim() == 2, "attribute: the model output has shape ", y.shape().str(), ", expected [N, classes]");
    Tensor r = model.relevance(initial_relevance(y, target), composite);
    LRP_CHECK(r.shape() == x.shape(), "attribute: input relevance ", r.shape().str(), " for input ", x.shape().str());
    if (logits) *logits = y;
    return r;
}

}  // namespace lrp::explain
