// The named composites: zennit 0.5.1's built-in LRP composites (epsilon_plus, epsilon_plus_flat,
// epsilon_gamma_box, epsilon_alpha2_beta1, epsilon_alpha2_beta1_flat, excitation_backprop) and its
// gradient-based ones (deconvnet, guided_backprop, beta_smooth) with ResNet/VGG canonizers, and RelDrop's
// reference composite ("reldrop"), with user layer/first/name maps and parameters.
//
// Residual handling per composite: the zennit LRP built-ins run with zennit's ResNet canonizer (Sum -> Norm),
// so residual sums are split in proportion to the branch contributions (norm_split, conserving); reldrop
// and the gradient-based composites have no Sum rule, so relevance is copied to both branches (copy). BN folding defaults to
// zennit_0_5_1 for all (the version the goldens and RelDrop pin); CompositeOptions overrides both.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lrp/lrp/composite.h"
#include "lrp/lrp/rules.h"

namespace lrp::explain {

struct CompositeOptions {
    std::optional<float> epsilon;  // Epsilon on dense layers (and RelDrop's convs): default 1e-6, reldrop 1e-3
    float stabilizer = 1e-6f;      // every other rule (ZPlus, AlphaBeta, Gamma, ZBox, Flat, Norm, residual split)
    float gamma = 0.25f;           // epsilon_gamma_box
    std::optional<Bound> low, high;  // epsilon_gamma_box (required there): ZBox bounds of the input
    bool zero_bias = false;        // zennit's zero_params=['bias'] for every parameterised rule
    float beta_smooth = 10.f;      // beta_smooth's ReLU gradient sigmoid(beta_smooth x)
    std::optional<ResidualMode> residual;
    std::optional<BnFold> bn_fold;
    // User entries, prepended to the built-in maps (zennit's layer_map / first_map arguments); the name
    // map beats both.
    std::vector<std::pair<LayerType, RulePtr>> layer_map, first_map;
    std::vector<std::pair<std::string, RulePtr>> name_map;
    // Where user rules came from ("--layer-rule layer9=epsilon"), for bind()'s errors (Composite::set_rule_origin).
    std::vector<std::pair<RulePtr, std::string>> origins;
};

// Appends user rule maps given as the command line takes them: TYPE=RULE entries to layer_map (`rules`)
// and first_map (`first_rules`), NAME=RULE entries to name_map (`layer_rules`; a name twice is an error).
// Errors name the flag: flag_prefix + "rule", "first-rule", "layer-rule" (e.g. "--reldrop-rule").
void add_user_rules(CompositeOptions& o, const std::vector<std::string>& rules,
                    const std::vector<std::string>& first_rules, const std::vector<std::string>& layer_rules,
                    const std::string& flag_prefix);

// After a composite made from `o` is bound to a model: a note for each user entry no leaf got (shadowed by an
// earlier entry, a layer type the model lacks, or a BatchNorm that folding turns into the identity), naming the
// spec as given (`rules` etc., as add_user_rules took them, with the same flag_prefix).
std::vector<std::string> unassigned_rules(const CompositeOptions& o, const Composite& bound,
                                          const std::vector<std::string>& rules,
                                          const std::vector<std::string>& first_rules,
                                          const std::vector<std::string>& layer_rules, const std::string& flag_prefix);

// Throws for an unknown name, listing the known ones.
Composite make_composite(const std::string& name, const CompositeOptions& options = {});
std::vector<std::string> known_composites();
// What composite `name` takes where CompositeOptions leaves epsilon / residual unset (throws for an unknown
// name): 1e-6 and norm_split for the zennit built-ins, 1e-3 and copy for reldrop.
float default_epsilon(const std::string& name);
// The CompositeOptions a composite's own rules read (user rule entries aside; the residual split reads the
// stabilizer whatever the composite).
enum class CompositeParam { Epsilon = 1, Stabilizer = 2, ZeroBias = 4, GammaBox = 8, BetaSmooth = 16 };
bool composite_takes(const std::string& name, CompositeParam p);
ResidualMode default_residual(const std::string& name);

}  // namespace lrp::explain
