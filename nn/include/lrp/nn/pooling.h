// Pooling layers: MaxPool2d (first-maximum routing), AvgPool2d (PyTorch divisor rules) and
// AdaptiveAvgPool2d for output sizes that divide the input (incl. the global 1x1 case).
#pragma once
#include "lrp/nn/module.h"
#include "lrp/ops/pool.h"

namespace lrp::nn {

class MaxPool2d : public Module {
public:
    explicit MaxPool2d(int kernel, int stride = -1, int padding = 0, int dilation = 1, bool ceil_mode = false);
    const char* type() const override { return "MaxPool2d"; }
    bool nonneg_output(bool in, std::unordered_set<const Module*>&) const override { return in; }
    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    void clear_saved() override { idx_ = Tensor(); x_ = Tensor(); }
    const Tensor& saved_input() const { return x_; }
    // v (shaped as the last input) read at the last forward's maxima: the pool's linearisation there.
    Tensor gather(const Tensor& v) const;

    ops::Pool2dParams geom;

private:
    ops::Pool2dDesc desc_;
    Tensor x_, idx_;
};

class AvgPool2d : public Module {
public:
    explicit AvgPool2d(int kernel, int stride = -1, int padding = 0, bool ceil_mode = false,
                       bool count_include_pad = true, int divisor_override = 0);
    const char* type() const override { return "AvgPool2d"; }
    bool nonneg_output(bool in, std::unordered_set<const Module*>&) const override { return in; }
    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    void clear_saved() override { x_ = Tensor(); }
    const Tensor& saved_input() const { return x_; }
    // avgpool_fwd / avgpool_bwd at the last forward's geometry (the Norm rule uses both).
    Tensor pool(const Tensor& x) const;
    Tensor pool_backward(const Tensor& dy) const;

    ops::Pool2dParams geom;

private:
    ops::Pool2dDesc desc_;
    Tensor x_;
};

// Output (oh, ow) from any input size, with PyTorch's windows (overlapping when oh does not divide H,
// repeated when oh > H, e.g. torchvision VGG's (7, 7) on small inputs). (1, 1) is the global average
// pool. Output N x C x oh x ow.
class AdaptiveAvgPool2d : public Module {
public:
    explicit AdaptiveAvgPool2d(int oh = 1, int ow = 1);
    const char* type() const override { return "AdaptiveAvgPool2d"; }
    bool nonneg_output(bool in, std::unordered_set<const Module*>&) const override { return in; }
    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    void clear_saved() override { x_ = Tensor(); }
    const Tensor& saved_input() const { return x_; }

    // The pool at the last forward's geometry, applied to x (shaped as that input; stores nothing).
    Tensor pool(const Tensor& x) const;

    int out_h, out_w;

private:
    Tensor x_;
    ops::Pool2dDesc desc_;
};

}  // namespace lrp::nn
