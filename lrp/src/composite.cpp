// Composite: layer types, rule assignment (name map > first-layer map > layer map, first match wins),
// BN folding at bind time, and the RelevancePolicy dispatch.
#include "lrp/lrp/composite.h"

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <sstream>

#include "lrp/lrp/rules.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/pooling.h"

namespace lrp::explain {

namespace {
const std::vector<std::pair<const char*, LayerType>>& type_names() {
    static const std::vector<std::pair<const char*, LayerType>> t = {
        {"convolution", LayerType::Convolution}, {"dense", LayerType::Dense},     {"any_linear", LayerType::AnyLinear},
        {"batchnorm", LayerType::BatchNorm},     {"avgpool", LayerType::AvgPool}, {"maxpool", LayerType::MaxPool},
        {"activation", LayerType::Activation},   {"any", LayerType::Any},
    };
    return t;
}
}  // namespace

const char* layer_type_name(LayerType t) {
    for (auto& [n, v] : type_names())
        if (v == t) return n;
    return "?";
}

LayerType parse_layer_type(const std::string& s) {
    for (auto& [n, v] : type_names())
        if (s == n) return v;
    if (s == "conv" || s == "Conv2d") return LayerType::Convolution;
    if (s == "linear" || s == "Linear") return LayerType::Dense;  // torch.nn.Linear; zennit's Linear is any_linear
    if (s == "bn" || s == "BatchNorm2d") return LayerType::BatchNorm;
    std::string list;
    for (auto& [n, v] : type_names()) list += (list.empty() ? "" : ", ") + std::string(n);
    std::string low = s;
    std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool act = low == "relu" || low == "sigmoid" || low == "tanh";  // a type named for its activation
    LRP_THROW("unknown layer type '", s, "'; known: ", list, " (aliases: conv, linear = dense, bn)",
              act ? "; ReLU layers are type 'activation' (a single one: --layer-rule NAME=RULE)" : "");
}

bool matches(LayerType t, const nn::Module& m) {
    switch (t) {
        case LayerType::Convolution: return dynamic_cast<const nn::Conv2d*>(&m) != nullptr;
        case LayerType::Dense: return dynamic_cast<const nn::Linear*>(&m) != nullptr;
        case LayerType::AnyLinear: return dynamic_cast<const nn::AffineLayer*>(&m) != nullptr;
        case LayerType::BatchNorm: return dynamic_cast<const nn::BatchNorm2d*>(&m) != nullptr;
        case LayerType::AvgPool:
            return dynamic_cast<const nn::AvgPool2d*>(&m) != nullptr ||
                   dynamic_cast<const nn::AdaptiveAvgPool2d*>(&m) != nullptr;
        case LayerType::MaxPool: return dynamic_cast<const nn::MaxPool2d*>(&m) != nullptr;
        case LayerType::Activation: return dynamic_cast<const nn::ReLU*>(&m) != nullptr;
        case LayerType::Any: return true;
    }
    return false;
}

const char* residual_mode_name(ResidualMode m) { return m == ResidualMode::NormSplit ? "norm_split" : "copy"; }
ResidualMode parse_residual_mode(const std::string& s) {
    if (s == "norm_split") return ResidualMode::NormSplit;
    if (s == "copy") return ResidualMode::Copy;
    LRP_THROW("unknown residual mode '", s, "'; known: norm_split (zennit's ResNet canonizer), copy (plain gradient)");
}

namespace {
void check_rule(const RulePtr& r, const char* what) { LRP_CHECK(r != nullptr, "Composite::", what, ": rule is null"); }

// torchvision's residual blocks apply one `relu` module at every activation (after bn1, after bn2 of a Bottleneck,
// after the residual add), so zennit's name map reaches all of them through "<block>.relu". lrpcu's blocks hold one
// ReLU per use (relu, relu2, relu_out): the name a rule for those two others reaches them by ("" for other leaves).
std::string torchvision_relu_name(const nn::Module& leaf) {
    if (!dynamic_cast<const nn::ReLU*>(&leaf)) return {};
    const std::string& n = leaf.name();
    for (const std::string tail : {".relu2", ".relu_out"})
        if (n.size() > tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0)
            return n.substr(0, n.size() - tail.size()) + ".relu";
    return {};
}
}  // namespace

Composite& Composite::add(LayerType t, RulePtr rule) {
    check_rule(rule, "add");
    layer_map_.push_back({t, std::move(rule)});
    return *this;
}
Composite& Composite::prepend(LayerType t, RulePtr rule) {
    check_rule(rule, "prepend");
    layer_map_.insert(layer_map_.begin(), {t, std::move(rule)});
    return *this;
}
Composite& Composite::add_first(LayerType t, RulePtr rule) {
    check_rule(rule, "add_first");
    first_map_.push_back({t, std::move(rule)});
    return *this;
}
Composite& Composite::prepend_first(LayerType t, RulePtr rule) {
    check_rule(rule, "prepend_first");
    first_map_.insert(first_map_.begin(), {t, std::move(rule)});
    return *this;
}
Composite& Composite::set_name_rule(const std::string& module_name, RulePtr rule) {
    check_rule(rule, "set_name_rule");
    for (auto& [n, r] : name_map_)
        if (n == module_name) {
            r = std::move(rule);
            return *this;
        }
    name_map_.emplace_back(module_name, std::move(rule));
    return *this;
}
Composite& Composite::set_rule_origin(RulePtr rule, std::string origin) {
    check_rule(rule, "set_rule_origin");
    origins_.emplace_back(std::move(rule), std::move(origin));
    return *this;
}
Composite& Composite::set_residual(ResidualMode m, float stabilizer) {
    residual_ = m;
    residual_eps_ = stabilizer;
    return *this;
}
Composite& Composite::set_bn_fold(BnFold f) {
    bn_fold_ = f;
    return *this;
}

void Composite::bind(nn::Module& model) {
    bound_ = nullptr;
    bindings_.clear();
    order_.clear();
    folded_.clear();
    std::unordered_map<const nn::Module*, AffineParams> folded;
    if (bn_fold_ != BnFold::None) {
        for (const BnFoldPair& p : find_bn_fold_pairs(model)) {
            folded_.push_back({p.layer, p.bn, fold_batchnorm(*p.layer, *p.bn)});
            folded[p.layer] = folded_.back().params;
        }
    }
    const std::vector<nn::Module*> leaves = model.leaves();
    std::unordered_set<const nn::Module*> nonneg_inputs;  // affine leaves whose input follows a ReLU
    model.nonneg_output(false, nonneg_inputs);
    // Where a user's rule came from (its flag and spec), to open an error about it; else the composite's name.
    auto origin = [&](const Rule* r) -> const std::string* {
        for (const auto& [rule, text] : origins_)
            if (rule.get() == r) return &text;
        return nullptr;
    };
    for (auto& [n, r] : name_map_) {
        bool found = false;
        for (nn::Module* l : leaves) found = found || l->name() == n;
        const std::string* o = origin(r.get());
        LRP_CHECK(found, o ? *o : "Composite '" + name_ + "'", ": no layer named '", n, "' in the model (names are ",
                  "dotted state_dict prefixes such as 'layer1.0.conv1'; lrpcu explain --print-rules lists a model's ",
                  "layers)");
    }
    static const RulePtr pass = std::make_shared<Pass>();
    bool first_done = false;
    for (nn::Module* leaf : leaves) {
        Binding b;
        if (!first_done) {
            for (const Entry& e : first_map_)
                if (matches(e.type, *leaf)) {
                    b.rule = e.rule;
                    first_done = true;
                    break;
                }
        }
        if (!b.rule)
            for (const Entry& e : layer_map_)
                if (matches(e.type, *leaf)) {
                    b.rule = e.rule;
                    break;
                }
        // A rule named for the leaf itself wins over one that reaches it as torchvision's shared <block>.relu.
        const std::string shared = torchvision_relu_name(*leaf);
        for (auto& [n, r] : name_map_)
            if (!shared.empty() && n == shared) b.rule = r;
        for (auto& [n, r] : name_map_)
            if (leaf->name() == n) b.rule = r;
        // A BN folded into the layer before is the identity there (zennit_0_5_1: times 1/sqrt(1 + eps)): Pass hands
        // relevance on (zennit's BatchNorm -> Pass), Gradient or no rule give the gradient of that map (as zennit's
        // gradient-based composites give the neutralised BN), any other rule becomes Pass.
        if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(leaf)) {
            for (const FoldedPair& f : folded_)
                if (f.bn == bn) {
                    b.folded = true;
                    if (b.rule && !dynamic_cast<const Gradient*>(b.rule.get()) && !dynamic_cast<const Pass*>(b.rule.get()))
                        b.rule = pass;
                }
        }
        if (auto* layer = dynamic_cast<nn::AffineLayer*>(leaf)) {
            b.affine = true;
            auto it = folded.find(leaf);
            b.folded = it != folded.end();
            b.params = b.folded ? it->second : AffineParams{layer->weight.value, layer->bias.value};
            b.params.input_nonneg = nonneg_inputs.count(leaf) > 0;
        }
        if (b.rule) {  // a misplaced rule fails now, not in the middle of a pass
            try {
                b.rule->check_layer(*leaf);
            } catch (const Error& e) {
                const std::string* o = origin(b.rule.get());
                if (!o) throw;
                LRP_THROW(*o, ": ", e.detail());
            }
        }
        bindings_[leaf] = std::move(b);
        order_.push_back(leaf);
    }
    bound_ = &model;
}

const Composite::Binding& Composite::binding(const nn::Module& m) const {
    auto it = bindings_.find(&m);
    LRP_CHECK(it != bindings_.end(), "Composite '", name_, "': ", m.type(), " '", m.name(),
              "' is not a leaf of the bound model (call bind(model) first, or use attribute())");
    return it->second;
}

Tensor Composite::apply(nn::Module& m, const Tensor& r) {
    const Binding& b = binding(m);
    if (!b.rule) return m.backward(r, /*accumulate_param_grads=*/false);
    return b.rule->relevance(m, r, b.affine ? &b.params : nullptr);
}

const Rule* Composite::rule_for(const nn::Module& m) const { return binding(m).rule.get(); }
bool Composite::is_folded(const nn::Module& m) const { return binding(m).folded; }
bool Composite::assigns(const Rule* rule) const {
    for (const auto& [leaf, b] : bindings_)
        if (b.rule.get() == rule) return true;
    return false;
}

std::string Composite::assignment_table() const {
    std::ostringstream os;
    os << "composite " << name_ << " (residual " << residual_mode_name(residual_) << ", bn_fold "
       << bn_fold_name(bn_fold_) << ")\n";
    for (const nn::Module* m : order_) {
        const Binding& b = bindings_.at(m);
        os << "  " << std::left << std::setw(28) << (m->name().empty() ? "<root>" : m->name()) << std::setw(20)
           << m->type() << (b.rule ? b.rule->name() : std::string("Gradient (unmatched)"))
           << (b.folded ? (b.affine ? "  [BN folded in]" : "  [folded]") : "")
           << (b.affine && b.params.input_nonneg ? "  [input >= 0]" : "") << "\n";
    }
    return os.str();
}

}  // namespace lrp::explain
