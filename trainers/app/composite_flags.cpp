// The LRP composite flags of `lrpcu explain` (see composite_flags.h): definitions and validation.
#include "composite_flags.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "lrp/log.h"
#include "lrp/parse.h"
#include "lrp/train/reldrop_step.h"

namespace lrp::cli {

namespace {
std::vector<float> parse_floats(const std::string& s, const char* what) {
    std::vector<float> v;
    std::stringstream ss(s);
    for (std::string tok; std::getline(ss, tok, ',');) {
        const std::optional<float> x = parse_finite_float(tok);
        LRP_CHECK(x.has_value(), what, ": '", tok, "' is not a finite number");
        v.push_back(*x);
    }
    LRP_CHECK(!v.empty(), what, ": no values given");
    return v;
}

std::string list(const std::vector<std::string>& v) {
    std::string l;
    for (const std::string& s : v) l += (l.empty() ? "" : ", ") + s;
    return l;
}
}  // namespace

std::vector<CLI::Option*> add_composite_flags(CLI::App& app, CompositeFlags& f) {
    const std::string p = "--" + f.prefix;
    std::vector<CLI::Option*> o;
    o.push_back(app.add_option(p + "composite", f.composite, "composite name (" + list(explain::known_composites()) + ")")
                    ->capture_default_str());
    o.push_back(app.add_option(p + "epsilon", f.epsilon, "Epsilon of the composite's Epsilon rules (default: its own)"));
    o.push_back(app.add_option(p + "gamma", f.gamma, "Gamma of epsilon_gamma_box's convolutions")->capture_default_str());
    o.push_back(app.add_option(p + "stabilizer", f.stabilizer,
                               "stabilizer of the composite's other rules (ZPlus, AlphaBeta, Gamma, ZBox, Flat, Norm, "
                               "residual split)")
                    ->capture_default_str());
    o.push_back(app.add_flag(p + "zero-bias", f.zero_bias,
                             "ignore the biases in the composite's rules (zennit's zero_params=['bias']; a rule spec "
                             "takes :zero_bias)"));
    o.push_back(app.add_option(p + "low", f.low, "ZBox lower input bound(s), comma-separated per channel "
                                                 "(epsilon_gamma_box; default: raw pixel 0 normalised with the "
                                                 "dataset's mean/std)"));
    o.push_back(app.add_option(p + "high", f.high, "ZBox upper input bound(s), comma-separated per channel "
                                                   "(epsilon_gamma_box; default: raw pixel 1 normalised with the "
                                                   "dataset's mean/std)"));
    o.push_back(app.add_option(p + "beta-smooth", f.beta_smooth,
                               "beta of composite beta_smooth: each ReLU's gradient becomes sigmoid(beta x)")
                    ->capture_default_str());
    o.push_back(app.add_option(p + "bn-fold", f.bn_fold, "none | exact | zennit_0_5_1 (default: zennit_0_5_1)"));
    o.push_back(app.add_option(p + "residual", f.residual,
                               "residual sums: norm_split (zennit's ResNet canonizer) | copy (plain gradient, "
                               "RelDrop's); default: the composite's"));
    o.push_back(app.add_option(p + "rule", f.rules,
                               "TYPE=RULE, repeatable: put a rule ahead of the composite's layer map for a layer type (" +
                                   std::string("convolution|conv, dense|linear, any_linear, batchnorm|bn, avgpool, "
                                               "maxpool, activation, any); first match wins. RULE: ") +
                                   list(explain::known_rules()) + " [:stab=<eps>][:clip][:norm_scale][:zero_bias]"));
    o.push_back(app.add_option(p + "first-rule", f.first_rules,
                               "TYPE=RULE, repeatable: ahead of the composite's first-layer map, as zennit's "
                               "first-layer maps: the one first layer (in definition order) that any entry of the "
                               "map matches gets the rule of the first entry matching it (so conv=... reaches the "
                               "first convolution only where that is the model's first matched layer)"));
    o.push_back(app.add_option(p + "layer-rule", f.layer_rules,
                               "NAME=RULE, repeatable: the rule of one layer by its dotted name (e.g. "
                               "layer4.1.conv2=epsilon:0.1; explain --print-rules lists them); beats every map"));
    return o;
}

explain::CompositeOptions composite_options_from_flags(const CLI::App& app, const CompositeFlags& f) {
    const std::string p = "--" + f.prefix;
    explain::CompositeOptions o;
    if (app.count(p + "epsilon")) {
        LRP_CHECK(std::isfinite(f.epsilon) && f.epsilon >= 0.f, p, "epsilon must be a finite number >= 0 (got ",
                  f.epsilon, ")");
        o.epsilon = f.epsilon;
    }
    LRP_CHECK(std::isfinite(f.gamma) && f.gamma >= 0.f, p, "gamma must be a finite number >= 0 (got ", f.gamma, ")");
    LRP_CHECK(std::isfinite(f.stabilizer) && f.stabilizer > 0.f, p, "stabilizer must be a finite number > 0 (got ",
              f.stabilizer, ")");
    LRP_CHECK(std::isfinite(f.beta_smooth) && f.beta_smooth > 0.f, p, "beta-smooth must be a finite number > 0 (got ",
              f.beta_smooth, ")");
    // A parameter the composite's own rules do not read would be dropped without a word.
    const std::vector<std::string> known = explain::known_composites();
    if (!f.warned && std::find(known.begin(), known.end(), f.composite) != known.end()) {
        using P = explain::CompositeParam;
        const bool split = f.residual == "norm_split" ||
                           (f.residual.empty() && explain::default_residual(f.composite) == explain::ResidualMode::NormSplit);
        struct Flag {
            const char* name;
            bool taken;
            const char* rule;  // a rule spec that gives a layer type this parameter
        };
        const Flag flags[] = {
            {"epsilon", explain::composite_takes(f.composite, P::Epsilon), "dense=epsilon:0.01"},
            {"stabilizer", explain::composite_takes(f.composite, P::Stabilizer) || split, "conv=zplus:stab=1e-4"},
            {"zero-bias", explain::composite_takes(f.composite, P::ZeroBias), "conv=zplus:zero_bias"},
            {"gamma", explain::composite_takes(f.composite, P::GammaBox), "conv=gamma:0.5"},
            {"low", explain::composite_takes(f.composite, P::GammaBox), "conv=zbox:-1:1"},
            {"high", explain::composite_takes(f.composite, P::GammaBox), "conv=zbox:-1:1"},
            {"beta-smooth", explain::composite_takes(f.composite, P::BetaSmooth), "activation=relu_beta_smooth:5"}};
        for (const Flag& k : flags)
            if (!k.taken && app.count(p + k.name))
                log_warn(p, k.name, " is not a parameter of --", f.prefix, "composite ", f.composite,
                         "; it changes nothing (a rule spec takes its own numbers, e.g. --", f.prefix, "rule ", k.rule,
                         ")");
        f.warned = true;
    }
    o.gamma = f.gamma;
    o.beta_smooth = f.beta_smooth;
    o.stabilizer = f.stabilizer;
    o.zero_bias = f.zero_bias;
    const std::string low = p + "low", high = p + "high";
    const std::vector<float> lo = f.low.empty() ? std::vector<float>() : parse_floats(f.low, low.c_str()),
                             hi = f.high.empty() ? std::vector<float>() : parse_floats(f.high, high.c_str());
    for (size_t c = 0; !lo.empty() && !hi.empty() && c < std::max(lo.size(), hi.size()); ++c) {
        const float l = lo[std::min(c, lo.size() - 1)], h = hi[std::min(c, hi.size() - 1)];
        LRP_CHECK(l <= h, low, " must not exceed ", high, " (channel ", c, ": ", l, " > ", h, ")");
    }
    if (!lo.empty()) o.low = lo.size() == 1 ? explain::Bound(lo[0]) : explain::Bound::channels(lo);
    if (!hi.empty()) o.high = hi.size() == 1 ? explain::Bound(hi[0]) : explain::Bound::channels(hi);
    if (!f.bn_fold.empty()) o.bn_fold = explain::parse_bn_fold(f.bn_fold);
    if (!f.residual.empty()) o.residual = explain::parse_residual_mode(f.residual);
    explain::add_user_rules(o, f.rules, f.first_rules, f.layer_rules, p);
    return o;
}

bool composite_lacks_bounds(const CompositeFlags& f, bool have_stats) {
    return f.composite == "epsilon_gamma_box" && (f.low.empty() || f.high.empty()) && !have_stats;
}

explain::Composite make_composite_from_flags(const CLI::App& app, const CompositeFlags& f,
                                             const std::vector<float>& mean, const std::vector<float>& stdev) {
    explain::CompositeOptions o = composite_options_from_flags(app, f);
    if (!mean.empty() && mean.size() == stdev.size()) {
        const explain::CompositeOptions d = train::dataset_composite_options(mean, stdev);  // raw 0 and 1
        if (!o.low) o.low = d.low;
        if (!o.high) o.high = d.high;
    }
    return explain::make_composite(f.composite, o);
}

namespace {
// Whether the model (or a module under it) is one of the named types.
bool holds(const nn::Module& m, std::initializer_list<const char*> types) {
    for (const char* t : types)
        if (std::string(m.type()) == t) return true;
    for (const nn::Module* c : m.children())
        if (holds(*c, types)) return true;
    return false;
}
}  // namespace

void warn_unused_for_model(const CLI::App& app, const CompositeFlags& f, nn::Module& model) {
    if (f.warned_unassigned) return;
    f.warned_unassigned = true;
    const std::string p = "--" + f.prefix;
    if (app.count(p + "residual") && !holds(model, {"BasicBlock", "Bottleneck"}))
        log_warn(p, "residual applies to residual sums; the model has none (no ResNet block), it changes nothing");
    if (app.count(p + "bn-fold") && !holds(model, {"BatchNorm2d"}))
        log_warn(p, "bn-fold applies to BatchNorm layers; the model has none, it changes nothing");
    if (f.rules.size() + f.first_rules.size() + f.layer_rules.size() == 0) return;
    explain::CompositeOptions options = composite_options_from_flags(app, f);
    if (f.composite == "epsilon_gamma_box") options.low = options.high = explain::Bound(0.f);  // bounds: irrelevant
    explain::Composite bound = explain::make_composite(f.composite, options);  // shares the options' rules
    bound.bind(model);
    for (const std::string& note :
         explain::unassigned_rules(options, bound, f.rules, f.first_rules, f.layer_rules, "--" + f.prefix))
        log_warn(note);
    // --epsilon sets the composite's own Epsilon rules: none left when user rules took every layer they had.
    if (app.count(p + "epsilon")) {
        auto user = [&](const explain::Rule* r) {
            for (const auto& e : options.layer_map) if (e.second.get() == r) return true;
            for (const auto& e : options.first_map) if (e.second.get() == r) return true;
            for (const auto& e : options.name_map) if (e.second.get() == r) return true;
            return false;
        };
        bool used = false;
        for (const nn::Module* leaf : bound.leaves()) {
            const explain::Rule* r = bound.rule_for(*leaf);
            used = used || (r && !user(r) && dynamic_cast<const explain::Epsilon*>(r));
        }
        if (!used)
            log_warn(p, "epsilon sets the Epsilon rules of composite ", f.composite, ", but the user rules took every ",
                     "layer that had one; it changes nothing (a rule spec takes its own, e.g. epsilon:0.25)");
    }
}

}  // namespace lrp::cli
