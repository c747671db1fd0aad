// zennit's gradient-based composites and ReLU hooks (deconvnet, guided_backprop, beta_smooth) and
// excitation_backprop: the hooks by hand, their layer tables, the folded BN's gradient (0.5.1 residue), rule
// specs and misplaced rules, and which parameters each composite reads. Parity with zennit: test_lrp_golden.cpp.
#include <cmath>
#include <memory>

#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/models.h"
#include "composite_test_util.h"
#include "lrp_test_util.h"

using namespace lrp;
using namespace lrp::explain;

namespace {
std::unique_ptr<nn::Sequential> small(const std::string& arch) { return test::small_model(arch); }
using test::leaf;
using test::rule_name;
}  // namespace

// lrp-rules.md §4.10 on a ReLU whose inputs cover both signs, with relevance of both signs.
TEST(LrpCpuReluHooks, ValuesByHand) {
    nn::ReLU relu;
    const std::vector<float> x = {-1.f, 0.5f, 2.f, -0.2f, 0.f, 3.f};
    const std::vector<float> r = {1.f, -2.f, 3.f, 4.f, 5.f, -0.5f};
    relu.forward(Tensor::from_vector(x, {1, 6}));
    const Tensor rt = Tensor::from_vector(r, {1, 6});
    EXPECT_EQ(make_rule("relu_deconvnet")->relevance(relu, rt, nullptr).to_vector<float>(),
              (std::vector<float>{1.f, 0.f, 3.f, 4.f, 5.f, 0.f}));  // max(R, 0), the mask of x dropped
    EXPECT_EQ(make_rule("relu_guided_backprop")->relevance(relu, rt, nullptr).to_vector<float>(),
              (std::vector<float>{0.f, 0.f, 3.f, 0.f, 0.f, 0.f}));  // relu'(x) max(R, 0)
    const std::vector<float> b = make_rule("relu_beta_smooth:2")->relevance(relu, rt, nullptr).to_vector<float>();
    for (size_t i = 0; i < x.size(); ++i)
        EXPECT_NEAR(b[i], r[i] / (1.0 + std::exp(-2.0 * x[i])), 1e-6) << i;
    EXPECT_EQ(make_rule("relu_beta_smooth")->name(), "ReLUBetaSmooth(beta_smooth=10)");
    // a relevance of another shape is refused, naming the layer
    test::expect_error([&] { make_rule("relu_guided_backprop")->relevance(relu, Tensor::zeros({1, 5}), nullptr); },
                       {"ReLUGuidedBackprop on ReLU", "relevance [1, 5]", "input of [1, 6]"});
}

TEST(LrpCpuReluHooks, SpecsAndMisplacedRules) {
    test::expect_error([] { make_rule("relu_beta_smooth:0"); }, {"beta_smooth must be a finite number > 0", "got 0"});
    test::expect_error([] { make_rule("relu_beta_smooth:-3"); }, {"beta_smooth must be a finite number > 0"});
    test::expect_error([] { make_rule("relu_deconvnet:1"); }, {"too many numbers", "relu_deconvnet"});
    test::expect_error([] { make_rule("relu_guided_backprop:zero_bias"); }, {"takes no zero_bias"});
    test::expect_error([] { make_rule("relu_beta_smooth:stab=1e-3"); }, {"has no stabilizer"});
    // on another layer type: refused when the composite is bound, before any pass
    auto m = small("vgg11");
    CompositeOptions o;
    o.layer_map = {{LayerType::Convolution, make_rule("relu_deconvnet")}};
    Composite c = make_composite("epsilon_plus", o);
    test::expect_error([&] { c.bind(*m); }, {"ReLUDeconvNet replaces the gradient of a ReLU, not of Conv2d",
                                            "features.0"});
}

TEST(LrpCpuGradientComposites, TablesAsInZennit) {
    auto m = small("resnet18");
    for (const char* name : {"deconvnet", "guided_backprop", "beta_smooth"}) {
        SCOPED_TRACE(name);
        Composite c = make_composite(name);
        c.bind(*m);
        const std::string hook = std::string(name) == "deconvnet"         ? "ReLUDeconvNet"
                                 : std::string(name) == "guided_backprop" ? "ReLUGuidedBackprop"
                                                                          : "ReLUBetaSmooth(beta_smooth=10)";
        for (const char* relu : {"relu", "layer1.0.relu", "layer1.0.relu_out", "layer4.1.relu_out"})
            EXPECT_EQ(rule_name(c, *m, relu), hook) << relu;
        for (const char* grad : {"conv1", "layer2.0.downsample.0", "avgpool", "fc", "bn1", "layer3.0.bn2"})
            EXPECT_EQ(rule_name(c, *m, grad), "Gradient (unmatched)") << grad;
        EXPECT_TRUE(c.is_folded(leaf(*m, "bn1")));
        EXPECT_FALSE(c.split_residual()) << "no Sum entry: relevance is copied to both addends";
    }
    Composite e = make_composite("excitation_backprop");
    e.bind(*m);
    EXPECT_EQ(rule_name(e, *m, "conv1"), "ZPlus(stabilizer=1e-06)");  // no first-layer map
    EXPECT_EQ(rule_name(e, *m, "layer3.1.conv2"), "ZPlus(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(e, *m, "fc"), "ZPlus(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(e, *m, "avgpool"), "Norm(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(e, *m, "relu"), "Gradient (unmatched)");
    EXPECT_EQ(rule_name(e, *m, "layer1.0.bn1"), "Gradient (unmatched)");
    EXPECT_TRUE(e.split_residual());
    // the LRP composites keep BatchNorm -> Pass on a folded BN
    Composite p = make_composite("epsilon_plus");
    p.bind(*m);
    EXPECT_EQ(rule_name(p, *m, "bn1"), "Pass");
}

// A folded BN that no entry names passes the gradient of zennit 0.5.1's neutralised BN, x / sqrt(1 + eps): on a
// model without ReLU the deconvnet map is the plain gradient, so zennit_0_5_1 and exact differ by exactly that
// factor (Pass would make them equal).
TEST(LrpCpuGradientComposites, FoldedBatchNormPassesItsGradient) {
    nn::Sequential m;
    auto& conv = m.emplace<nn::Conv2d>("conv", 2, 3, 3, 1, 1, true);
    auto& bn = m.emplace<nn::BatchNorm2d>("bn", 3);
    m.emplace<nn::Flatten>("flatten");
    auto& fc = m.emplace<nn::Linear>("fc", 3 * 5 * 5, 4, true);
    conv.weight.value = test::rand_tensor(conv.weight.value.shape(), 1);
    conv.bias.value = test::rand_tensor({3}, 2);
    bn.weight.value = test::rand_tensor({3}, 3, 0.5f, 1.5f);
    bn.bias.value = test::rand_tensor({3}, 4);
    bn.running_mean = test::rand_tensor({3}, 5);
    bn.running_var = test::rand_tensor({3}, 6, 0.5f, 2.f);
    fc.weight.value = test::rand_tensor(fc.weight.value.shape(), 7);
    const Tensor x = test::rand_tensor({2, 2, 5, 5}, 8);
    const Tensor labels = Tensor::from_vector(std::vector<int32_t>{1, 3}, {2});
    auto run = [&](BnFold f) {
        CompositeOptions o;
        o.bn_fold = f;
        Composite c = make_composite("deconvnet", o);
        return attribute(m, x, Target::label(labels), c).to_vector<float>();
    };
    const std::vector<float> zennit = run(BnFold::Zennit051), exact = run(BnFold::Exact), none = run(BnFold::None);
    const double factor = 1.0 / std::sqrt(1.0 + double(bn.eps));
    std::vector<double> scaled;
    for (float v : exact) scaled.push_back(v * factor);
    // fp32 rounding of the two passes: ~1e-7 relative; the residue: 5e-6 for eps 1e-5
    EXPECT_LT(test::rel_l2(zennit, scaled), 1e-6);
    EXPECT_GT(test::rel_l2(zennit, exact), 3e-6) << "the 0.5.1 residue is missing (the BN passed relevance)";
    EXPECT_LT(test::rel_l2(none, exact), 1e-6) << "the model's own gradient, folded or not";
}

// On a folded BN a user's pass or gradient is kept (pass: no residue, gradient: the residue), any other rule becomes
// Pass; unassigned_rules names only the replaced one.
TEST(LrpCpuGradientComposites, RulesOnAFoldedBatchNorm) {
    auto m = small("resnet18");
    for (const char* composite : {"guided_backprop", "epsilon_plus"}) {
        SCOPED_TRACE(composite);
        for (const char* spec : {"pass", "gradient", "flat"}) {
            SCOPED_TRACE(spec);
            CompositeOptions o;
            add_user_rules(o, {std::string("bn=") + spec}, {}, {}, "--");
            Composite c = make_composite(composite, o);
            c.bind(*m);
            EXPECT_EQ(rule_name(c, *m, "layer1.0.bn1"), std::string(spec) == "gradient" ? "Gradient" : "Pass");
            EXPECT_TRUE(c.is_folded(leaf(*m, "layer1.0.bn1")));
            const std::vector<std::string> notes = unassigned_rules(o, c, {std::string("bn=") + spec}, {}, {}, "--");
            EXPECT_EQ(notes.size(), std::string(spec) == "flat" ? 1u : 0u);
            if (!notes.empty()) {
                EXPECT_NE(notes[0].find("other rules become pass"), std::string::npos) << notes[0];
            }
        }
    }
}

TEST(LrpCpuGradientComposites, ParametersEachComposite) {
    using P = CompositeParam;
    EXPECT_TRUE(composite_takes("epsilon_plus", P::Epsilon));
    EXPECT_TRUE(composite_takes("reldrop", P::ZeroBias));
    EXPECT_FALSE(composite_takes("epsilon_plus", P::GammaBox));
    EXPECT_TRUE(composite_takes("epsilon_gamma_box", P::GammaBox));
    EXPECT_FALSE(composite_takes("excitation_backprop", P::Epsilon));
    EXPECT_TRUE(composite_takes("excitation_backprop", P::Stabilizer));
    EXPECT_TRUE(composite_takes("excitation_backprop", P::ZeroBias));
    for (const char* n : {"deconvnet", "guided_backprop", "beta_smooth"})
        for (P p : {P::Epsilon, P::Stabilizer, P::ZeroBias, P::GammaBox})
            EXPECT_FALSE(composite_takes(n, p)) << n;
    EXPECT_TRUE(composite_takes("beta_smooth", P::BetaSmooth));
    EXPECT_FALSE(composite_takes("guided_backprop", P::BetaSmooth));
    EXPECT_THROW(composite_takes("guided", P::Epsilon), Error);
    // beta_smooth's parameter reaches its hooks
    CompositeOptions o;
    o.beta_smooth = 2.5f;
    auto m = small("vgg11");
    Composite c = make_composite("beta_smooth", o);
    c.bind(*m);
    EXPECT_EQ(rule_name(c, *m, "features.1"), "ReLUBetaSmooth(beta_smooth=2.5)");
}
