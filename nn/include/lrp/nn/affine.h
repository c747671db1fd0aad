// Conv2d and Linear: the affine layers. Both expose what LRP rules need besides forward/backward:
// the saved input, and forward / input-VJP with substituted weights (W+, W-, W + gamma W+, ...).
#pragma once
#include <optional>

#include "lrp/nn/module.h"
#include "lrp/ops/conv.h"

namespace lrp::nn {

// A (weight, bias) pair; bias undefined = no bias.
struct WeightBias {
    Tensor weight;
    Tensor bias;
};

class AffineLayer : public Module {
public:
    Param weight;
    Param bias;  // undefined value when the layer has no bias
    bool has_bias() const { return bias.value.defined(); }

    // The input of the last forward (kept in train and eval mode).
    const Tensor& saved_input() const;
    // Whether the last forward ran with substituted parameters (forward_override, e.g. BN-folded).
    bool last_forward_substituted() const { return x_weight_.defined(); }
    bool nonneg_output(bool input_nonneg, std::unordered_set<const Module*>& nonneg_inputs) const override;
    // f(x; w, b) with this layer's geometry; b may be undefined (no bias).
    virtual Tensor forward_with(const Tensor& x, const Tensor& w, const Tensor& b) = 0;
    // Input-VJP of f(.; w) at the last forward's geometry.
    virtual Tensor dgrad_with(const Tensor& dy, const Tensor& w) = 0;
    // dL/dW for an output gradient dy at input x (shaped as the last forward's input), at the last forward's geometry,
    // written to dw (weight's shape, dy's device; fully overwritten).
    virtual void weight_grad_into(const Tensor& x, const Tensor& dy, const Tensor& dw) = 0;
    Tensor weight_grad_with(const Tensor& x, const Tensor& dy);  // the same into a new tensor
    // Adds weight_grad_with(x, dy) to weight.grad (written straight into it when it was zeroed).
    void accumulate_weight_grad(const Tensor& x, const Tensor& dy);
    void clear_saved() override;

    // LRP attribution support, set and restored by lrp::explain::ScopedAttributionForward and never
    // during training. While forward_override is set, forward() uses it instead of (weight, bias) (a
    // BN-folded pair), and a backward() after such a forward takes its input-VJP with that weight
    // (parameter gradients are refused).
    // While keep_output is set, forward() keeps its output for saved_output_for().
    std::optional<WeightBias> forward_override;
    bool keep_output = false;
    // The kept output of the last forward if that forward ran with exactly these tensors (same storage,
    // both biases undefined or the same); else an undefined tensor. Rules use it as z = f(x; w, b).
    Tensor saved_output_for(const Tensor& w, const Tensor& b) const;
    void release_output();  // drops the kept output (the stored input stays)

protected:
    // The forward of the layer's current parameters (or of the override), keeping x and, if asked, the output.
    Tensor forward_saving(const Tensor& x);
    // The weight of the last forward (for its input-VJP); refuses parameter gradients if that forward
    // ran with substituted parameters.
    const Tensor& backward_weight(bool accumulate_param_grads) const;
    Tensor x_;
    Tensor x_weight_;  // the substituted weight of the last forward; undefined: the layer's own

private:
    Tensor y_, y_w_, y_b_;  // kept output and the parameters that produced it
};

class Conv2d : public AffineLayer {
public:
    Conv2d(int in_channels, int out_channels, int kernel, int stride = 1, int padding = 0, bool bias = true,
           int dilation = 1, int groups = 1);
    Conv2d(int in_channels, int out_channels, int kh, int kw, const ops::Conv2dParams& p, bool bias);
    const char* type() const override { return "Conv2d"; }
    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    Tensor forward_with(const Tensor& x, const Tensor& w, const Tensor& b) override;
    Tensor dgrad_with(const Tensor& dy, const Tensor& w) override;
    void weight_grad_into(const Tensor& x, const Tensor& dy, const Tensor& dw) override;

    int in_channels, out_channels, kh, kw;
    ops::Conv2dParams geom;

private:
    ops::Conv2dDesc desc_for(const Tensor& x) const;
    ops::Conv2dDesc desc_;
};

class Linear : public AffineLayer {
public:
    Linear(int in_features, int out_features, bool bias = true);
    const char* type() const override { return "Linear"; }
    Tensor forward(const Tensor& x) override;  // x: N x in_features
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    Tensor forward_with(const Tensor& x, const Tensor& w, const Tensor& b) override;
    Tensor dgrad_with(const Tensor& dy, const Tensor& w) override;
    void weight_grad_into(const Tensor& x, const Tensor& dy, const Tensor& dw) override;

    int in_features, out_features;
};

}  // namespace lrp::nn
