// Composite: which rule each leaf layer of a model gets (zennit's LayerMapComposite /
// SpecialFirstLayerMapComposite / name maps, lrp-rules.md §6), how residual sums are handled, and the
// BN-fold canonizer. It is the RelevancePolicy that Module::relevance() consults: bind(model) assigns
// rules and folds BNs from the current weights; apply() then runs each leaf's rule.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "lrp/lrp/canonizer.h"
#include "lrp/lrp/rule.h"

namespace lrp::explain {

// zennit's layer types, matched with dynamic_cast (subclasses included).
enum class LayerType {
    Convolution,  // Conv2d                             (zennit: Convolution)
    Dense,        // Linear                             (torch.nn.Linear)
    AnyLinear,    // Conv2d or Linear                   (zennit: Linear)
    BatchNorm,    // BatchNorm2d
    AvgPool,      // AvgPool2d, AdaptiveAvgPool2d
    MaxPool,      // MaxPool2d
    Activation,   // ReLU
    Any,          // every leaf
};
const char* layer_type_name(LayerType t);
LayerType parse_layer_type(const std::string& s);  // "conv", "dense", "linear", "bn", ...; throws listing them
bool matches(LayerType t, const nn::Module& m);

// Residual sums out = a + b: norm_split = zennit's ResNet canonizer with Sum -> Norm (proportional split,
// conserving); copy = plain gradient (relevance copied to both branches; RelDrop's reference).
enum class ResidualMode { NormSplit, Copy };
const char* residual_mode_name(ResidualMode m);
ResidualMode parse_residual_mode(const std::string& s);  // "norm_split" | "copy"; throws naming them

class Composite : public nn::RelevancePolicy {
public:
    explicit Composite(std::string name = "custom") : name_(std::move(name)) {}

    // Layer map: tried in order, the first matching entry wins. add() appends; prepend() puts an entry
    // ahead of the existing ones (zennit prepends user layer_map entries to the built-in list).
    Composite& add(LayerType t, RulePtr rule);
    Composite& prepend(LayerType t, RulePtr rule);
    // First-layer map: the first leaf in definition order (Module::leaves()) matching an entry gets that
    // entry's rule; later leaves use the layer map. prepend_first() puts an entry ahead.
    Composite& add_first(LayerType t, RulePtr rule);
    Composite& prepend_first(LayerType t, RulePtr rule);
    // Exact dotted module names ("layer1.0.conv2"); beat both maps. A name's module still counts as the
    // first layer if it is one (as in zennit's mixed composites). "<block>.relu" of a residual block also reaches
    // the block's relu2 and relu_out (torchvision's blocks apply that one module at each of these points; a rule
    // named for relu2 or relu_out itself wins there).
    Composite& set_name_rule(const std::string& module_name, RulePtr rule);
    // Where a user's rule came from, e.g. "--layer-rule layer9=epsilon": bind()'s errors about that rule (a name no
    // leaf has, a rule on a layer type it does not apply to) start with it.
    Composite& set_rule_origin(RulePtr rule, std::string origin);
    Composite& set_residual(ResidualMode m, float stabilizer = 1e-6f);
    Composite& set_bn_fold(BnFold f);

    // Assigns a rule to every leaf of `model` and computes the folded (W', b') from the current weights
    // on the model's device. Call again after the weights change (attribute() does it every time).
    // A BN folded into the layer before it is the identity in the relevance pass: the gradient of the neutralised
    // BN (zennit_0_5_1: times 1/sqrt(1 + eps)) where the maps give it Gradient or no rule, else Pass (any rule other
    // than Pass or Gradient is replaced by Pass); an unfolded BN gets the BatchNorm entry of the maps.
    void bind(nn::Module& model);

    // RelevancePolicy
    Tensor apply(nn::Module& m, const Tensor& r) override;
    bool split_residual() const override { return residual_ == ResidualMode::NormSplit; }
    float residual_stabilizer() const override { return residual_eps_; }

    const std::string& name() const { return name_; }
    ResidualMode residual() const { return residual_; }
    BnFold bn_fold() const { return bn_fold_; }
    // After bind(): the rule a leaf got (nullptr: plain gradient), whether its parameters are folded,
    // the folded (layer, BN, W', b') pairs, and a printable per-leaf table ("name  type  rule").
    const Rule* rule_for(const nn::Module& m) const;
    // After bind(): whether some leaf got `rule` (a user's entry can be shadowed by an earlier one, match no
    // layer of the model, or name a BatchNorm that folding turns into the identity).
    bool assigns(const Rule* rule) const;
    // After bind(): the bound model's leaves, in definition order.
    const std::vector<const nn::Module*>& leaves() const { return order_; }
    bool is_folded(const nn::Module& m) const;
    const std::vector<FoldedPair>& folded_pairs() const { return folded_; }
    std::string assignment_table() const;

private:
    struct Entry {
        LayerType type;
        RulePtr rule;
    };
    struct Binding {
        RulePtr rule;  // null: gradient
        bool affine = false;
        bool folded = false;
        AffineParams params;
    };
    const Binding& binding(const nn::Module& m) const;

    std::string name_;
    std::vector<Entry> layer_map_, first_map_;
    std::vector<std::pair<std::string, RulePtr>> name_map_;
    std::vector<std::pair<RulePtr, std::string>> origins_;  // shared: an address is never another rule's
    ResidualMode residual_ = ResidualMode::NormSplit;
    float residual_eps_ = 1e-6f;
    BnFold bn_fold_ = BnFold::Zennit051;

    nn::Module* bound_ = nullptr;
    std::vector<const nn::Module*> order_;
    std::unordered_map<const nn::Module*, Binding> bindings_;
    std::vector<FoldedPair> folded_;
};

}  // namespace lrp::explain
