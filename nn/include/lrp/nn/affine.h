// Conv2d and Linear: the affine layers. Both expose what LRP rules need besides forward/backward:
// the saved input, and forward / input-VJP with substituted weights (W+, W-, W + gamma W+, ...).
#pragma once
#include "lrp/nn/module.h"
#include "lrp/ops/conv.h"

namespace lrp::nn {

class AffineLayer : public Module {
public:
    Param weight;
    Param bias;  // undefined value when the layer has no bias
    bool has_bias() const { return bias.value.defined(); }

    // The input of the last forward (kept in train and eval mode).
    const Tensor& saved_input() const;
    // f(x; w, b) with this layer's geometry; b may be undefined (no bias).
    virtual Tensor forward_with(const Tensor& x, const Tensor& w, const Tensor& b) = 0;
    // Input-VJP of f(.; w) at the last forward's geometry.
    virtual Tensor dgrad_with(const Tensor& dy, const Tensor& w) = 0;
    void clear_saved() override { x_ = Tensor(); }

protected:
    Tensor x_;
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

    int in_features, out_features;
};

}  // namespace lrp::nn
