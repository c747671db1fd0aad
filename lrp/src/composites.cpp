// Named composites: the zennit 0.5.1 built-ins (base map Activation -> Pass, AvgPool -> Norm, BatchNorm ->
// Pass, then Convolution / Dense entries; first-layer maps) and RelDrop's reference composite.
#include "lrp/lrp/composites.h"

#include <algorithm>
#include <functional>
#include <set>

namespace lrp::explain {

namespace {
// low <= high in every channel, where both bounds are numbers (a tensor bound is checked by its user).
void check_box(const Bound& lo, const Bound& hi) {
    if (lo.full.defined() || hi.full.defined()) return;
    const size_t n = std::max<size_t>({lo.per_channel.size(), hi.per_channel.size(), 1});
    auto at = [](const Bound& b, size_t c) {
        return b.per_channel.empty() ? b.value : b.per_channel[std::min(c, b.per_channel.size() - 1)];
    };
    for (size_t c = 0; c < n; ++c)
        LRP_CHECK(at(lo, c) <= at(hi, c), "composite epsilon_gamma_box: the lower input bound exceeds the upper one ",
                  "(channel ", c, ": ", at(lo, c), " > ", at(hi, c), "; a bound not given, --low or --high, is the ",
                  "data's: (0 - mean) / std, (1 - mean) / std)");
}

using Builder = std::function<void(Composite&, const CompositeOptions&)>;

// A named composite: its builder and the defaults it takes where CompositeOptions leaves them unset.
struct Entry {
    std::string name;
    float epsilon;          // of its Epsilon rules
    ResidualMode residual;  // of its residual additions
    Builder build;
    int takes;              // the CompositeParam bits its rules read
};

constexpr int kEps = int(CompositeParam::Epsilon), kStab = int(CompositeParam::Stabilizer),
              kZeroBias = int(CompositeParam::ZeroBias), kBox = int(CompositeParam::GammaBox),
              kBeta = int(CompositeParam::BetaSmooth);
constexpr int kLrp = kEps | kStab | kZeroBias;  // the Epsilon-on-dense LRP composites

// zennit's layer_map_base (its Sum -> Norm entry is the norm_split residual mode, the zennit entries' default).
void base_map(Composite& c, const CompositeOptions& o) {
    c.add(LayerType::Activation, std::make_shared<Pass>());
    c.add(LayerType::AvgPool, std::make_shared<Norm>(o.stabilizer));
    c.add(LayerType::BatchNorm, std::make_shared<Pass>());
}

// o.epsilon is set by make_composite (the entry's default where the caller left it unset).
RulePtr dense_epsilon(const CompositeOptions& o) { return std::make_shared<Epsilon>(*o.epsilon, o.zero_bias); }

constexpr ResidualMode kNorm = ResidualMode::NormSplit;

const std::vector<Entry>& registry() {
    static const std::vector<Entry> r = {
        {"epsilon_plus", 1e-6f, kNorm,
         [](Composite& c, const CompositeOptions& o) {
             base_map(c, o);
             c.add(LayerType::Convolution, std::make_shared<ZPlus>(o.stabilizer, o.zero_bias));
             c.add(LayerType::Dense, dense_epsilon(o));
         },
         kLrp},
        {"epsilon_plus_flat", 1e-6f, kNorm,
         [](Composite& c, const CompositeOptions& o) {
             base_map(c, o);
             c.add(LayerType::Convolution, std::make_shared<ZPlus>(o.stabilizer, o.zero_bias));
             c.add(LayerType::Dense, dense_epsilon(o));
             c.add_first(LayerType::AnyLinear, std::make_shared<Flat>(o.stabilizer));
         },
         kLrp},
        {"epsilon_gamma_box", 1e-6f, kNorm,
         [](Composite& c, const CompositeOptions& o) {
             LRP_CHECK(o.low && o.high, "composite epsilon_gamma_box needs the input bounds low and high "
                                        "(e.g. (0 - mean) / std and (1 - mean) / std per channel)");
             check_box(*o.low, *o.high);
             base_map(c, o);
             c.add(LayerType::Convolution, std::make_shared<Gamma>(o.gamma, o.stabilizer, o.zero_bias));
             c.add(LayerType::Dense, dense_epsilon(o));
             c.add_first(LayerType::Convolution, std::make_shared<ZBox>(*o.low, *o.high, o.stabilizer, o.zero_bias));
         },
         kLrp | kBox},
        {"epsilon_alpha2_beta1", 1e-6f, kNorm,
         [](Composite& c, const CompositeOptions& o) {
             base_map(c, o);
             c.add(LayerType::Convolution, std::make_shared<AlphaBeta>(2.f, 1.f, o.stabilizer, o.zero_bias));
             c.add(LayerType::Dense, dense_epsilon(o));
         },
         kLrp},
        {"epsilon_alpha2_beta1_flat", 1e-6f, kNorm,
         [](Composite& c, const CompositeOptions& o) {
             base_map(c, o);
             c.add(LayerType::Convolution, std::make_shared<AlphaBeta>(2.f, 1.f, o.stabilizer, o.zero_bias));
             c.add(LayerType::Dense, dense_epsilon(o));
             c.add_first(LayerType::AnyLinear, std::make_shared<Flat>(o.stabilizer));
         },
         kLrp},
        // RelDrop (lrp-rules.md §6.3): no base map and no Sum entry; Flat on the first conv/dense layer,
        // Epsilon(1e-3) on every other, Norm on average pools, Pass on ReLU and BN; residuals copied.
        {"reldrop", 1e-3f, ResidualMode::Copy,
         [](Composite& c, const CompositeOptions& o) {
             RulePtr eps = std::make_shared<Epsilon>(*o.epsilon, o.zero_bias);
             c.add(LayerType::Activation, std::make_shared<Pass>());
             c.add(LayerType::AvgPool, std::make_shared<Norm>(o.stabilizer));
             c.add(LayerType::Convolution, eps);
             c.add(LayerType::AnyLinear, eps);
             c.add(LayerType::BatchNorm, std::make_shared<Pass>());
             c.add_first(LayerType::AnyLinear, std::make_shared<Flat>(o.stabilizer));
         },
         kLrp},
        // zennit's gradient-based composites (lrp-rules.md §6.2): only ReLUs get a hook; every other layer its
        // gradient, residual sums too (no Sum entry: copy) and a folded BN (its 0.5.1 residue included).
        {"deconvnet", 1e-6f, ResidualMode::Copy,
         [](Composite& c, const CompositeOptions&) { c.add(LayerType::Activation, std::make_shared<ReLUDeconvNet>()); },
         0},
        {"guided_backprop", 1e-6f, ResidualMode::Copy,
         [](Composite& c, const CompositeOptions&) {
             c.add(LayerType::Activation, std::make_shared<ReLUGuidedBackprop>());
         },
         0},
        {"beta_smooth", 1e-6f, ResidualMode::Copy,
         [](Composite& c, const CompositeOptions& o) {
             c.add(LayerType::Activation, std::make_shared<ReLUBetaSmooth>(o.beta_smooth));
         },
         kBeta},
        // ExcitationBackprop: Sum, AvgPool -> Norm, every convolution and dense layer -> ZPlus; no activation,
        // BatchNorm or first-layer entry (ReLUs pass their gradient).
        {"excitation_backprop", 1e-6f, kNorm,
         [](Composite& c, const CompositeOptions& o) {
             c.add(LayerType::AvgPool, std::make_shared<Norm>(o.stabilizer));
             c.add(LayerType::AnyLinear, std::make_shared<ZPlus>(o.stabilizer, o.zero_bias));
         },
         kStab | kZeroBias},
    };
    return r;
}


const Entry& entry(const std::string& name) {
    for (const Entry& e : registry())
        if (e.name == name) return e;
    std::string list;
    for (const Entry& e : registry()) list += (list.empty() ? "" : ", ") + e.name;
    LRP_THROW("unknown composite '", name, "'; known: ", list);
}
}  // namespace

std::vector<std::string> known_composites() {
    std::vector<std::string> out;
    for (const Entry& e : registry()) out.push_back(e.name);
    return out;
}

float default_epsilon(const std::string& name) { return entry(name).epsilon; }
bool composite_takes(const std::string& name, CompositeParam p) { return (entry(name).takes & int(p)) != 0; }
ResidualMode default_residual(const std::string& name) { return entry(name).residual; }

Composite make_composite(const std::string& name, const CompositeOptions& options) {
    const Entry& e = entry(name);
    CompositeOptions o = options;
    if (!o.epsilon) o.epsilon = e.epsilon;
    Composite c(e.name);
    e.build(c, o);
    c.set_residual(o.residual.value_or(e.residual), o.stabilizer);
    // User entries go ahead of the built-in ones (in their given order).
    for (auto it = o.layer_map.rbegin(); it != o.layer_map.rend(); ++it) c.prepend(it->first, it->second);
    for (auto it = o.first_map.rbegin(); it != o.first_map.rend(); ++it) c.prepend_first(it->first, it->second);
    for (auto& [module_name, rule] : o.name_map) c.set_name_rule(module_name, rule);
    for (const auto& [rule, origin] : o.origins) c.set_rule_origin(rule, origin);
    if (o.bn_fold) c.set_bn_fold(*o.bn_fold);
    return c;
}

void add_user_rules(CompositeOptions& o, const std::vector<std::string>& rules,
                    const std::vector<std::string>& first_rules, const std::vector<std::string>& layer_rules,
                    const std::string& flag_prefix) {
    // A layer type's error, told for the flag and spec that gave it (as a rule's is).
    const auto layer_type = [](const std::string& type, const std::string& a, const std::string& flag) {
        try {
            return parse_layer_type(type);
        } catch (const Error& e) {
            LRP_THROW(flag, " '", a, "': ", e.detail());
        }
    };
    for (const std::string& a : rules) {
        auto [type, rule] = parse_rule_assignment(a, flag_prefix + "rule");
        o.layer_map.emplace_back(layer_type(type, a, flag_prefix + "rule"), rule);
        o.origins.emplace_back(rule, flag_prefix + "rule " + a);
    }
    for (const std::string& a : first_rules) {
        auto [type, rule] = parse_rule_assignment(a, flag_prefix + "first-rule");
        o.first_map.emplace_back(layer_type(type, a, flag_prefix + "first-rule"), rule);
        o.origins.emplace_back(rule, flag_prefix + "first-rule " + a);
    }
    std::set<std::string> named;
    for (const std::string& a : layer_rules) {
        auto [name, rule] = parse_rule_assignment(a, flag_prefix + "layer-rule");
        LRP_CHECK(named.insert(name).second, flag_prefix, "layer-rule: layer '", name, "' is given twice");
        o.name_map.emplace_back(name, rule);
        o.origins.emplace_back(rule, flag_prefix + "layer-rule " + a);
    }
}

namespace {
constexpr const char* kFoldedBn = " (BatchNorm layers are folded into the layers before them, where only pass or "
                                  "gradient apply and other rules become pass; ";
}  // namespace

std::vector<std::string> unassigned_rules(const CompositeOptions& o, const Composite& bound,
                                          const std::vector<std::string>& rules,
                                          const std::vector<std::string>& first_rules,
                                          const std::vector<std::string>& layer_rules, const std::string& flag_prefix) {
    const bool folded = bound.bn_fold() != BnFold::None;
    auto named = [&](const nn::Module* leaf) {  // whether a layer-rule (name map) gave the leaf its rule
        for (const auto& [name, rule] : o.name_map)
            if (bound.rule_for(*leaf) == rule.get()) return true;
        return false;
    };
    // Why no leaf got a type entry's rule.
    auto why_type = [&](LayerType t) -> std::string {
        bool any = false, all_named = true;
        for (const nn::Module* leaf : bound.leaves())
            if (matches(t, *leaf)) any = true, all_named = all_named && named(leaf);
        if (!any) return std::string(" (the model has no ") + layer_type_name(t) + " layer)";
        if (t == LayerType::BatchNorm && folded)
            return std::string(kFoldedBn) + flag_prefix + "bn-fold none keeps them)";
        if (all_named) return " (" + flag_prefix + "layer-rule gives each such layer its own)";
        return " (an earlier entry takes those layers; lrpcu explain --print-rules shows an assignment)";
    };
    std::vector<std::string> notes;
    // add_user_rules makes one entry per spec, in the flags' order.
    auto note = [&](const std::string& flag, const std::string& spec, const std::string& why) {
        // On a folded BN the rule became pass: nothing changes where the composite passes there anyway (its BatchNorm
        // entry), but a composite that gives the BN its gradient loses the 0.5.1 residue.
        const bool folded_bn = why.rfind(kFoldedBn, 0) == 0;
        notes.push_back(flag_prefix + flag + " " + spec + " is the rule of no layer" + why +
                        (folded_bn ? "; those layers pass relevance unchanged" : "; it changes nothing"));
    };
    for (size_t i = 0; i < o.layer_map.size() && i < rules.size(); ++i)
        if (!bound.assigns(o.layer_map[i].second.get())) note("rule", rules[i], why_type(o.layer_map[i].first));
    for (size_t i = 0; i < o.first_map.size() && i < first_rules.size(); ++i)
        if (!bound.assigns(o.first_map[i].second.get()))
            note("first-rule", first_rules[i],
                 o.first_map[i].first == LayerType::BatchNorm && folded
                     ? why_type(LayerType::BatchNorm)
                     : " (the first layer is another's: an earlier entry's, a layer-rule's, or one of another type; lrpcu "
                       "explain --print-rules shows an assignment)");
    // a named leaf always gets its rule, unless it is a BatchNorm folded away
    for (size_t i = 0; i < o.name_map.size() && i < layer_rules.size(); ++i)
        if (!bound.assigns(o.name_map[i].second.get())) note("layer-rule", layer_rules[i], why_type(LayerType::BatchNorm));
    return notes;
}

}  // namespace lrp::explain
