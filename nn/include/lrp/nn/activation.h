// Parameter-free layers: ReLU, Flatten, Dropout (inverted, Philox-seeded), Identity.
#pragma once
#include "lrp/generator.h"
#include "lrp/nn/module.h"

namespace lrp::nn {

class ReLU : public Module {
public:
    const char* type() const override { return "ReLU"; }
    bool nonneg_output(bool, std::unordered_set<const Module*>&) const override { return true; }
    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    void clear_saved() override { x_ = Tensor(), extra_dy_ = Tensor(); }
    const Tensor& saved_input() const;
    // Adds g to dL/d(output) of the next backward(), which consumes it (differentiable LRP leaves here what
    // a heatmap loss contributes through this ReLU's output). A forward or clear_saved() drops it.
    void add_output_grad(const Tensor& g);
    bool has_output_grad() const { return extra_dy_.defined(); }

private:
    Tensor x_, extra_dy_;
};

// Flattens all dimensions after the first (PyTorch's nn.Flatten()).
class Flatten : public Module {
public:
    const char* type() const override { return "Flatten"; }
    bool nonneg_output(bool in, std::unordered_set<const Module*>&) const override { return in; }
    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;

private:
    Shape in_shape_;
};

class Identity : public Module {
public:
    const char* type() const override { return "Identity"; }
    bool nonneg_output(bool in, std::unordered_set<const Module*>&) const override { return in; }
    Tensor forward(const Tensor& x) override { return x; }
    Tensor backward(const Tensor& dy, bool = true) override { return dy; }
};

// Inverted dropout: train mode zeroes each element with probability p and scales the rest by 1/(1-p);
// eval mode is the identity. The mask comes from the generator set with set_generator() or
// set_dropout_generator() (the trainer's: from --seed and the epoch, so resume reproduces it); without one,
// each layer draws from its own stream, seeded by its dotted name, so two layers never share masks.
class Dropout : public Module {
public:
    explicit Dropout(float p = 0.5f);
    const char* type() const override { return "Dropout"; }
    bool nonneg_output(bool in, std::unordered_set<const Module*>&) const override { return in; }
    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    void clear_saved() override { mask_ = Tensor(); }
    void set_generator(Generator* g) { gen_ = g; }  // nullptr: back to the layer's own stream
    // The stream the next train-mode forward draws its mask from (the set generator, or the layer's own, seeded
    // from its name on first use). Saving and restoring its state replays a forward with the same mask.
    Generator& stream();
    const Tensor& saved_mask() const { return mask_; }  // undefined when the last forward was the identity

    float p;

private:
    Generator own_gen_;
    bool own_seeded_ = false;  // own_gen_ is seeded from the name at the first masked forward
    Generator* gen_ = nullptr;
    Tensor mask_;  // undefined when the last forward was the identity
};

// Points every Dropout in `root` at `g` (nullptr: their own streams); returns how many there are.
int set_dropout_generator(Module& root, Generator* g);

}  // namespace lrp::nn
