// The built-in LRP rules with zennit 0.5.1 semantics (docs: lrp-rules.md §4): Epsilon, ZPlus, AlphaBeta,
// Gamma, ZBox, WSquare, Flat for Conv2d / Linear; Norm for average pools; Pass; Gradient (the plain VJP);
// zennit's DeconvNet, GuidedBackprop and BetaSmooth ReLU hooks.
// zero_bias = zennit's zero_params=['bias']. Every rule is a composition of op-table ops (CPU and CUDA).
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "lrp/lrp/rule.h"
#include "lrp/lrp/stabilizer.h"

namespace lrp::explain {

// R_in = x * dgrad(R / stab(z), W), z = f(x; W, b).
class Epsilon : public AffineRule {
public:
    explicit Epsilon(Stabilizer epsilon = 1e-6f, bool zero_bias = false) : stab_(epsilon), zero_bias_(zero_bias) {}
    std::string name() const override;

protected:
    Tensor affine(const Call& c, const Tensor& r) const override;

private:
    Stabilizer stab_;
    bool zero_bias_;
};

// One shared denominator z+ = f(x+; W+, b+) + f(x-; W-, 0); R_in = x+ dgrad(s, W+) + x- dgrad(s, W-).
class ZPlus : public AffineRule {
public:
    explicit ZPlus(Stabilizer stabilizer = 1e-6f, bool zero_bias = false) : stab_(stabilizer), zero_bias_(zero_bias) {}
    std::string name() const override;

protected:
    Tensor affine(const Call& c, const Tensor& r) const override;

private:
    Stabilizer stab_;
    bool zero_bias_;
};

// alpha * (positive-contribution term) - beta * (negative-contribution term); alpha, beta >= 0, alpha - beta = 1.
class AlphaBeta : public AffineRule {
public:
    explicit AlphaBeta(float alpha = 2.f, float beta = 1.f, Stabilizer stabilizer = 1e-6f, bool zero_bias = false);
    std::string name() const override;

protected:
    Tensor affine(const Call& c, const Tensor& r) const override;

private:
    float alpha_, beta_;
    Stabilizer stab_;
    bool zero_bias_;
};

// Generalised, sign-aware Gamma with W(+/-)g = W + gamma W(+/-); outputs with z == 0 get no relevance.
class Gamma : public AffineRule {
public:
    explicit Gamma(float gamma = 0.25f, Stabilizer stabilizer = 1e-6f, bool zero_bias = false);
    std::string name() const override;

protected:
    Tensor affine(const Call& c, const Tensor& r) const override;

private:
    float gamma_;
    Stabilizer stab_;
    bool zero_bias_;
};

// Box bounds for ZBox: a scalar, one value per channel (dim 1), or a tensor of the input's shape with a
// batch dim of 1 (broadcast) or >= N (cut to the input's batch).
struct Bound {
    float value = 0.f;
    std::vector<float> per_channel;
    Tensor full;
    Bound(float v = 0.f) : value(v) {}  // NOLINT: a number is a scalar bound
    static Bound channels(std::vector<float> v) {
        Bound b;
        b.per_channel = std::move(v);
        return b;
    }
    static Bound tensor(Tensor t) {
        Bound b;
        b.full = std::move(t);
        return b;
    }
    // The bound expanded to `shape` on device d. Per-channel values and a host `full` tensor are uploaded
    // once per device and value (cached), so repeated attributions copy nothing from the host (graph
    // capturable); values changed in place are uploaded again.
    Tensor expand(const Shape& shape, Device d) const;
    std::string str() const;

private:
    struct UploadCache {
        std::mutex m;
        std::vector<float> values;
        Tensor t;
        Tensor full_src, full_t;  // `full` and its copy on full_t's device
        std::vector<uint8_t> full_bytes;  // a host `full`'s bytes when uploaded (in-place changes re-upload)
    };
    Tensor channels_on(Device d) const;
    Tensor full_on(Device d) const;
    std::shared_ptr<UploadCache> cache_ = std::make_shared<UploadCache>();
};

// z = f(x; W, b) - (f(l; W+, b+) + f(h; W-, b-)); R_in = x dgrad(s, W) - (l dgrad(s, W+) + h dgrad(s, W-)).
class ZBox : public AffineRule {
public:
    ZBox(Bound low, Bound high, Stabilizer stabilizer = 1e-6f, bool zero_bias = false)
        : low_(std::move(low)), high_(std::move(high)), stab_(stabilizer), zero_bias_(zero_bias) {}
    std::string name() const override;

protected:
    Tensor affine(const Call& c, const Tensor& r) const override;

private:
    Bound low_, high_;
    Stabilizer stab_;
    bool zero_bias_;
};

// R_in = dgrad(R / stab(f(1; W^2, b^2)), W^2): independent of x; the bias is squared unless zeroed.
class WSquare : public AffineRule {
public:
    explicit WSquare(Stabilizer stabilizer = 1e-6f, bool zero_bias = false) : stab_(stabilizer), zero_bias_(zero_bias) {}
    std::string name() const override;

protected:
    Tensor affine(const Call& c, const Tensor& r) const override;

private:
    Stabilizer stab_;
    bool zero_bias_;
};

// R_in = dgrad(R / stab(f(1; 1, 0)), 1): weights 1, bias always 0, independent of x.
class Flat : public AffineRule {
public:
    explicit Flat(Stabilizer stabilizer = 1e-6f) : stab_(stabilizer) {}
    std::string name() const override;

protected:
    Tensor affine(const Call& c, const Tensor& r) const override;

private:
    Stabilizer stab_;
};

// AvgPool2d / AdaptiveAvgPool2d: R_in = x * (df/dx)^T [R / stab(f(x))]. (Residual sums: the composite's
// residual mode, which the ResNet blocks apply with the same formula.)
class Norm : public Rule {
public:
    explicit Norm(Stabilizer stabilizer = 1e-6f) : stab_(stabilizer) {}
    std::string name() const override;
    Tensor relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const override;
    void check_layer(const nn::Module& m) const override;  // AvgPool2d / AdaptiveAvgPool2d

private:
    Stabilizer stab_;
};

// R_in = R (elementwise layers: activations, folded batch norms).
class Pass : public Rule {
public:
    std::string name() const override { return "Pass"; }
    Tensor relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const override;
    void check_layer(const nn::Module& m) const override;  // not Flatten (shapes: when it runs)
};

// The plain gradient (the module's input-VJP), what an unmatched module gets.
class Gradient : public Rule {
public:
    std::string name() const override { return "Gradient"; }
    Tensor relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const override;
};

// zennit's non-LRP ReLU hooks (lrp-rules.md §4.10), for ReLU layers only, with x the ReLU's input:
// DeconvNet R_in = max(R, 0); GuidedBackprop R_in = relu'(x) max(R, 0); BetaSmooth R_in = sigmoid(beta x) R.
class ReLUDeconvNet : public Rule {
public:
    std::string name() const override { return "ReLUDeconvNet"; }
    Tensor relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const override;
    void check_layer(const nn::Module& m) const override;  // ReLU
};
class ReLUGuidedBackprop : public Rule {
public:
    std::string name() const override { return "ReLUGuidedBackprop"; }
    Tensor relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const override;
    void check_layer(const nn::Module& m) const override;  // ReLU
};
class ReLUBetaSmooth : public Rule {
public:
    explicit ReLUBetaSmooth(float beta_smooth = 10.f);
    std::string name() const override;
    Tensor relevance(nn::Module& m, const Tensor& r, const AffineParams* params) const override;
    void check_layer(const nn::Module& m) const override;  // ReLU

private:
    float beta_;
};

// Rule from a textual spec, for CLIs and configs: "epsilon[:eps]", "zplus", "alpha_beta[:a[:b]]",
// "gamma[:g]", "zbox:low:high", "wsquare", "flat", "norm", "pass", "gradient", "relu_deconvnet",
// "relu_guided_backprop", "relu_beta_smooth[:beta]". Numbers are optional
// positional parameters; "stab=<eps>" sets the stabilizer of any rule that has one, "zero_bias" zeroes
// the bias. Throws naming the known rules.
RulePtr make_rule(const std::string& spec);
std::vector<std::string> known_rules();
// "KEY=SPEC" (a layer type or module name, then a rule spec: "conv=gamma:0.5:stab=1e-5") -> {KEY, rule};
// `what` names the flag or setting in errors.
std::pair<std::string, RulePtr> parse_rule_assignment(const std::string& arg, const std::string& what);

}  // namespace lrp::explain
