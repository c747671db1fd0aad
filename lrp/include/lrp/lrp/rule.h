// The rule interface: a Rule maps relevance at a leaf module's output to relevance at its input. Rules
// for Conv2d / Linear derive from AffineRule and see the layer's effective parameters (its own, or the
// BN-folded pair the composite computed) plus forward/VJP helpers with substituted weights.
#pragma once
#include <memory>
#include <string>

#include "lrp/nn/affine.h"
#include "lrp/nn/module.h"

namespace lrp::explain {

// (W, b) as a rule sees them; bias undefined = no bias (treated as b = 0). input_nonneg: the layer's
// input is >= 0 by construction (Module::nonneg_output, e.g. it follows a ReLU), so the x- half of a
// sign-split rule is exactly zero and may be skipped.
struct AffineParams {
    Tensor weight;
    Tensor bias;
    bool input_nonneg = false;
};

class Rule {
public:
    virtual ~Rule() = default;
    // "Epsilon(epsilon=0.001)": for assignment tables and error messages.
    virtual std::string name() const = 0;
    // Relevance at m's input given r at its output, after m's forward. `params` is non-null for affine
    // layers (Conv2d, Linear) and holds the effective (possibly BN-folded) parameters.
    virtual Tensor relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const = 0;
    // Throws, naming the rule and the layer, when the rule cannot apply to m; a composite asks it when it binds a
    // model, so a misplaced rule fails before any pass. (Shapes are checked when the rule runs.)
    virtual void check_layer(const nn::Module& m) const { (void)m; }
};
using RulePtr = std::shared_ptr<const Rule>;

// Base of the rules for affine layers. The derived rule implements affine() with the helpers of Call.
class AffineRule : public Rule {
public:
    Tensor relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const final;
    void check_layer(const nn::Module& m) const final;  // Conv2d / Linear

    // One application: the stored input x, the effective parameters, and the layer's geometry.
    struct Call {
        nn::AffineLayer& layer;
        const Tensor& x;  // input of the last forward
        const Tensor& w;  // effective weight
        const Tensor& b;  // effective bias (undefined: none)
        const Tensor& z;  // f(x; w, b) as the attribution forward computed it (undefined if not kept)
        bool x_nonneg;    // x >= 0 by construction: x+ = x and x- = 0, so rules may drop the x- terms
        // f(x; w, b), or f(x; w) without bias: the kept forward output when it is that, else recomputed.
        // The kept output is bit-identical to the recomputation, so a rule loses nothing by using it.
        Tensor output(bool with_bias = true) const {
            if (z.defined() && (with_bias || !b.defined())) return z;
            return forward(x, w, with_bias ? b : Tensor());
        }
        // f(x; w, b) with the layer's geometry (b undefined: no bias).
        Tensor forward(const Tensor& in, const Tensor& weight, const Tensor& bias = Tensor()) const {
            return layer.forward_with(in, weight, bias);
        }
        // Input-VJP dgrad(s, weight) at the last forward's geometry (incl. the output padding of strided convs).
        Tensor dgrad(const Tensor& s, const Tensor& weight) const { return layer.dgrad_with(s, weight); }
    };

protected:
    virtual Tensor affine(const Call& c, const Tensor& r) const = 0;
};

}  // namespace lrp::explain
