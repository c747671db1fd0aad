// Module: the layer interface of lrpcu. A forward (train or eval mode) keeps what the reversed pass
// needs (layer inputs, indices, batch statistics) until the next forward. The reversed pass has two
// modes over the same stored forward: backward() yields input gradients and accumulates parameter
// gradients; relevance() yields LRP relevance, with the rule per layer chosen by a RelevancePolicy.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lrp/tensor.h"

namespace lrp::nn {

using StateDict = std::map<std::string, Tensor>;

// A trainable tensor and its gradient (allocated on first backward or by zero_grad()).
struct Param {
    Tensor value;
    Tensor grad;
    bool requires_grad = true;
    bool grad_is_zero = true;  // set by zero_grad(): the next accumulation overwrites instead of adding
};

class Module;

// Decides how relevance crosses each leaf layer (implemented by LRP composites in lrp/). The default
// for a layer without a rule is the plain gradient (the input-VJP), as in zennit.
class RelevancePolicy {
public:
    virtual ~RelevancePolicy() = default;
    // Relevance at the input of leaf module m, given relevance r at its output (after m's forward).
    virtual Tensor apply(Module& m, const Tensor& r) = 0;
    // Residual sums out = a + b: false copies r to both branches (plain gradient); true splits it
    // in proportion to the branch contributions (zennit's ResNet canonizer: Sum + Norm rule).
    virtual bool split_residual() const { return false; }
    virtual float residual_stabilizer() const { return 1e-6f; }
};

// The adjoint of a relevance pass (differentiable LRP, e.g. ISNet training): given h = dL/d(relevance at a
// leaf's input), returns dL/d(relevance at its output) and accumulates what else L depends on through
// that step (parameter gradients, gradients at stored activations). Implemented in lrp/ (lrp/flex.h).
class RelevanceAdjoint {
public:
    virtual ~RelevanceAdjoint() = default;
    virtual Tensor apply(Module& m, const Tensor& h) = 0;
};

class Module {
public:
    virtual ~Module() = default;
    Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    virtual const char* type() const = 0;  // "Conv2d", "BasicBlock", ... (PyTorch class names)

    // Forward on the device of x; stores what backward/relevance need.
    virtual Tensor forward(const Tensor& x) = 0;
    // Gradient mode: returns dL/dx for dy = dL/d(output); with accumulate_param_grads, adds the
    // parameter gradients into Param::grad (zero them with zero_grad()).
    virtual Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) = 0;
    // Relevance mode: leaves ask the policy; containers recurse in reverse order.
    virtual Tensor relevance(const Tensor& r, RelevancePolicy& policy);
    // Adjoint of the last relevance() pass (run after it, over the same forward): containers walk their
    // children in forward order (a residual sum whose relevance was copied adds its branches' adjoints);
    // leaves ask `adj`. Returns dL/d(relevance at the output) for h = dL/d(relevance at the input).
    virtual Tensor relevance_adjoint(const Tensor& h, RelevanceAdjoint& adj);
    // Structural sign analysis (reads no data): given whether this module's input is known to be >= 0
    // elementwise, returns whether its output is, and adds each affine leaf whose input is known >= 0
    // to `nonneg_inputs` (LRP rules that split inputs by sign skip the empty half there).
    // Default: the output sign is unknown.
    virtual bool nonneg_output(bool input_nonneg, std::unordered_set<const Module*>& nonneg_inputs) const;

    // Train/eval mode, recursively.
    void train(bool on = true);
    void eval() { train(false); }
    bool training() const { return training_; }

    // Moves parameters and buffers (recursively) to d; drops stored activations.
    void to(Device d);
    Device device() const { return device_; }

    // Full dotted name in the model ("layer1.0.conv1"; "" for the root), set when registered.
    const std::string& name() const { return name_; }
    bool is_leaf() const { return children_.empty(); }

    // Recursive views, names in torchvision's state_dict convention.
    std::vector<std::pair<std::string, Param*>> named_params();
    std::vector<std::pair<std::string, Tensor*>> named_buffers();
    std::vector<Module*> children() const;
    const std::vector<std::pair<std::string, Module*>>& named_children() const { return children_; }
    std::vector<Module*> leaves();  // all leaf modules, forward order
    std::vector<Param*> params();

    void zero_grad();
    StateDict state_dict();  // copies on the host; parameters and buffers
    // Loads values (converted to each tensor's device); shape and name errors are collected into one
    // lrp::Error. With strict = false, unexpected names are ignored (missing ones are still errors).
    void load_state_dict(const StateDict& sd, bool strict = true);

    // Drops stored activations (frees device memory between phases).
    virtual void clear_saved() {}

protected:
    void register_param(const std::string& name, Param& p);
    // A host buffer (e.g. BatchNorm's num_batches_tracked) stays on the CPU when the module moves.
    void register_buffer(const std::string& name, Tensor& t, bool host = false);
    // Registers a child (owned by the caller's member) under `name`.
    void register_child(const std::string& name, Module& m);
    virtual void on_train_changed() {}

    bool training_ = true;
    Device device_ = Device::cpu();

private:
    void set_name(const std::string& name);

    std::string name_;
    std::vector<std::pair<std::string, Param*>> params_;
    struct Buffer {
        std::string name;
        Tensor* t;
        bool host;
    };
    std::vector<Buffer> buffers_;
    std::vector<std::pair<std::string, Module*>> children_;
};

// Accumulates a freshly computed gradient into p.grad: takes `fresh` over when the gradient is
// undefined or zeroed, adds it otherwise. `fresh` must not be used by the caller afterwards.
void accumulate_grad(Param& p, Tensor fresh);
// Where to write p's next fresh gradient (p.value's shape, on d) before accumulate_grad: p.grad itself when the
// accumulation will overwrite it (zeroed, same shape and device: no copy then), else a new tensor.
Tensor grad_destination(const Param& p, Device d);

}  // namespace lrp::nn
