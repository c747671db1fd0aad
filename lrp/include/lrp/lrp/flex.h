// LRP-Flex (Faster ISNet; isnet-edda.md A.7, A.8): LRP-epsilon run as a modified gradient, and the adjoint of
// that pass, so that a loss on the heatmap differentiates into the parameters (ISNet training).
#pragma once
#include <unordered_map>
#include <vector>

#include "lrp/nn/module.h"

namespace lrp::explain {

struct FlexOptions {
    float epsilon = 1e-2f;  // ISNet's LRP-epsilon (isnet-edda.md A.3)
    // true: each ReLU passes its ordinary gradient g * 1[a > 0] (epsilon unused), so G is the plain input gradient
    // with BN statistics held constant (Right for the Right Reasons); the adjoint then has no term through a.
    bool plain_relu = false;
};

// One pass and its adjoint over a stored forward. Supported leaves: Conv2d, Linear, BatchNorm2d, ReLU,
// MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout, Identity (others are refused by name);
// residual sums copy. A forward with BN folded for an attribution is refused.
class FlexPass {
public:
    explicit FlexPass(FlexOptions o = {}) : opt_(o) {}

    // After model.forward(x), train or eval mode: G = the modified gradient of sum(seed * output) with
    // respect to x. Each ReLU passes g * a / (a + eps) (a its output) instead of g * 1[a > 0] (unless plain_relu); each
    // BatchNorm2d scales by gamma / sqrt(var + eps) with the last forward's statistics held constant (batch
    // statistics after a train-mode forward: detached, as ISNet's LRP Block); every other leaf passes its
    // input gradient. G * x is then LRP-epsilon (bias in z) at every layer whose output feeds a ReLU, and
    // LRP-0 at the output layer. Keeps each leaf's output gradient for adjoint().
    Tensor gradient(nn::Module& model, const Tensor& seed);

    // Given dG = dL/dG for the G of the last gradient(): adds dL/dtheta through the weights the pass used
    // (conv/linear weights, BN gamma) to Param::grad, and leaves dL/d(output) of every ReLU pending in it
    // (ReLU::add_output_grad; none with plain_relu), so that the next model.backward(dy) yields the whole gradient: the pass's
    // share through the stored activations plus the ordinary gradient of dy. The seed counts as a constant here.
    // Once per gradient(), with no forward in between (the pass's saved gradients would not match it). Any
    // ReLU::backward consumes the pending gradients: run the model's backward next. Returns dL/d(seed) (the
    // seed's shape): what a seed that depends on the logits (Selective ISNet) adds to their gradient, through it.
    Tensor adjoint(nn::Module& model, const Tensor& dG);
    // The same, with `extra` added to dL/d(g_out of leaf `at`), the output gradient the last gradient() passed to
    // that leaf (output_gradient(at)): for a loss on an intermediate map of the pass (FlexZb's first-layer rule).
    Tensor adjoint(nn::Module& model, const Tensor& dG, const nn::Module& at, const Tensor& extra);
    // The same with any number of such terms (FlexZb's and LRP deep supervision's; two at one leaf add up).
    struct Injection {
        const nn::Module* at = nullptr;
        Tensor extra;
    };
    Tensor adjoint(nn::Module& model, const Tensor& dG, const std::vector<Injection>& extras);

    // The output gradient the last gradient() passed to leaf m (its shape is m's output's); throws if m was not in it.
    const Tensor& output_gradient(const nn::Module& m) const;

    const FlexOptions& options() const { return opt_; }
    // Counts gradient() calls: who keeps state from one pass can tell whether it is still the pass's last one.
    uint64_t generation() const { return generation_; }

private:
    Tensor adjoint_impl(nn::Module& model, const Tensor& dG, const std::vector<Injection>& extras);

    FlexOptions opt_;
    std::unordered_map<const nn::Module*, Tensor> g_out_;  // each leaf's output gradient in the last pass
    Shape g_shape_;
    uint64_t generation_ = 0;
};

}  // namespace lrp::explain
