// The LRP composite flags of `lrpcu explain` (and, prefixed, of `lrpcu eval --occlusion`): a named composite,
// its parameters (epsilon, gamma, ZBox bounds, stabilizer, zero_bias, beta_smooth, residual and BN-fold modes) and user
// rule maps by layer type, for the first layer, and by module name (zennit's layer_map / first_map / name_map).
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lrp/lrp/composites.h"
#include "lrp/nn/module.h"

namespace lrp::cli {

struct CompositeFlags {
    CompositeFlags() = default;
    CompositeFlags(std::string flag_prefix, std::string default_composite)
        : prefix(std::move(flag_prefix)), composite(std::move(default_composite)) {}
    std::string prefix;  // flag names are "--" + prefix + name: "" for explain, "occlusion-" for eval
    std::string composite = "epsilon_plus_flat";
    float epsilon = -1.f, gamma = 0.25f, stabilizer = 1e-6f, beta_smooth = 10.f;
    std::string low, high, bn_fold, residual;
    bool zero_bias = false;
    std::vector<std::string> rules, first_rules, layer_rules;
    mutable bool warned = false;  // the flags' warnings are printed once, however often they are read
    mutable bool warned_unassigned = false;
};

// Adds the flags (named with f.prefix) and returns them, e.g. for ->needs().
std::vector<CLI::Option*> add_composite_flags(CLI::App& app, CompositeFlags& f);
// The composite's options from the flags (validated; errors name the flag): parameters and rule maps.
explain::CompositeOptions composite_options_from_flags(const CLI::App& app, const CompositeFlags& f);
// The composite itself (validated as above). A ZBox bound that
// --low/--high leave open follows from the inputs' normalisation when mean/stdev are given: the raw pixel
// range [0, 1] in normalised units, (0 - mean) / std and (1 - mean) / std per channel.
explain::Composite make_composite_from_flags(const CLI::App& app, const CompositeFlags& f,
                                             const std::vector<float>& mean = {}, const std::vector<float>& stdev = {});
// Warnings, once per f, for flags of f that change nothing on `model`: --residual without residual sums (a VGG),
// --bn-fold without BatchNorm, and each --rule, --first-rule or --layer-rule that no layer gets (shadowed by an
// earlier entry, a layer type the model lacks, or a BatchNorm that folding turns into the identity; found by
// binding a composite made from f to the model, BN folding included).
void warn_unused_for_model(const CLI::App& app, const CompositeFlags& f, nn::Module& model);
// Whether the composite needs ZBox bounds that neither the flags nor the inputs' statistics give.
bool composite_lacks_bounds(const CompositeFlags& f, bool have_stats);

}  // namespace lrp::cli
