// Composites: rule assignment (first layer in definition order, first match wins, subclasses, user
// maps prepended, name maps), built-in layer tables (lrp-rules.md §6.4), residual modes, unknown names.
#include <cmath>
#include <memory>

#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/models.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/residual.h"
#include "composite_test_util.h"
#include "lrp_test_util.h"

using namespace lrp;
using namespace lrp::explain;

namespace {
std::unique_ptr<nn::Sequential> small(const std::string& arch) { return test::small_model(arch); }
using test::leaf;
using test::rule_name;
class MyConv : public nn::Conv2d {  // a subclass is still a convolution
public:
    using nn::Conv2d::Conv2d;
    const char* type() const override { return "MyConv"; }
};
}  // namespace

TEST(LrpCpuComposite, ResNetTablesAsInZennit) {
    auto m = small("resnet18");
    Composite c = make_composite("epsilon_plus_flat");
    c.bind(*m);
    EXPECT_EQ(rule_name(c, *m, "conv1"), "Flat(stabilizer=1e-06)");
    EXPECT_TRUE(c.is_folded(leaf(*m, "conv1")));
    EXPECT_EQ(rule_name(c, *m, "bn1"), "Pass");
    EXPECT_EQ(rule_name(c, *m, "relu"), "Pass");
    EXPECT_EQ(rule_name(c, *m, "layer1.0.conv1"), "ZPlus(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(c, *m, "layer2.0.downsample.0"), "ZPlus(stabilizer=1e-06)");
    EXPECT_TRUE(c.is_folded(leaf(*m, "layer2.0.downsample.1")));
    EXPECT_EQ(rule_name(c, *m, "avgpool"), "Norm(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(c, *m, "flatten"), "Gradient (unmatched)");
    EXPECT_EQ(rule_name(c, *m, "fc"), "Epsilon(epsilon=1e-06)");
    EXPECT_TRUE(c.split_residual());
    EXPECT_EQ(c.folded_pairs().size(), 20u);  // stem + 2 per block x 8 + 3 downsample

    Composite r = make_composite("reldrop");
    r.bind(*m);
    EXPECT_EQ(rule_name(r, *m, "conv1"), "Flat(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(r, *m, "layer3.1.conv2"), "Epsilon(epsilon=0.001)");
    EXPECT_EQ(rule_name(r, *m, "fc"), "Epsilon(epsilon=0.001)");
    EXPECT_EQ(rule_name(r, *m, "avgpool"), "Norm(stabilizer=1e-06)");
    EXPECT_FALSE(r.split_residual()) << "RelDrop copies relevance at residual sums";
    EXPECT_NE(r.assignment_table().find("layer1.0.conv1"), std::string::npos);
}

TEST(LrpCpuComposite, VggTablesAndFirstLayerKinds) {
    auto m = small("vgg11_bn");
    CompositeOptions o;
    o.low = -1.f;
    o.high = 1.f;
    Composite box = make_composite("epsilon_gamma_box", o);
    box.bind(*m);
    EXPECT_EQ(rule_name(box, *m, "features.0"), "ZBox(low=-1, high=1, stabilizer=1e-06)");
    EXPECT_EQ(rule_name(box, *m, "features.4"), "Gamma(gamma=0.25, stabilizer=1e-06)");
    EXPECT_EQ(rule_name(box, *m, "features.3"), "Gradient (unmatched)");  // max-pool
    EXPECT_EQ(rule_name(box, *m, "classifier"), "Epsilon(epsilon=1e-06)");
    EXPECT_THROW(make_composite("epsilon_gamma_box"), Error);  // bounds are required

    // An MLP: the Flat first map matches a dense layer (zennit's Linear = any linear), ZBox's only convs.
    nn::Sequential mlp;
    mlp.emplace<nn::Flatten>("flatten");
    mlp.emplace<nn::Linear>("fc1", 12, 6);
    mlp.emplace<nn::ReLU>("relu");
    mlp.emplace<nn::Linear>("fc2", 6, 3);
    Composite flat = make_composite("epsilon_alpha2_beta1_flat");
    flat.bind(mlp);
    EXPECT_EQ(rule_name(flat, mlp, "fc1"), "Flat(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(flat, mlp, "fc2"), "Epsilon(epsilon=1e-06)");
    Composite gb = make_composite("epsilon_gamma_box", o);
    gb.bind(mlp);
    EXPECT_EQ(rule_name(gb, mlp, "fc1"), "Epsilon(epsilon=1e-06)");
}

TEST(LrpCpuComposite, FirstLayerIsFirstInDefinitionOrderAndFirstMatchWins) {
    nn::Sequential m;
    m.emplace<nn::ReLU>("act");
    m.emplace<MyConv>("a", 3, 4, 3, 1, 1, true);
    m.emplace<nn::Conv2d>("b", 4, 4, 3, 1, 1, true);
    Composite c("t");
    c.add(LayerType::Convolution, std::make_shared<Epsilon>(0.5f));
    c.add(LayerType::AnyLinear, std::make_shared<ZPlus>());  // never reached for convs
    c.add_first(LayerType::AnyLinear, std::make_shared<WSquare>());
    c.bind(m);
    EXPECT_EQ(rule_name(c, m, "act"), "Gradient (unmatched)");
    EXPECT_EQ(rule_name(c, m, "a"), "WSquare(stabilizer=1e-06)");  // subclass of Conv2d, first in definition order
    EXPECT_EQ(rule_name(c, m, "b"), "Epsilon(epsilon=0.5)");
    EXPECT_TRUE(matches(LayerType::Convolution, leaf(m, "a")));
    // user entries prepend; name maps beat everything (and the first layer is still consumed by "a")
    CompositeOptions o;
    o.layer_map.push_back({LayerType::Convolution, make_rule("gamma:0.5")});
    o.name_map.push_back({"a", make_rule("epsilon:0.01")});
    Composite u = make_composite("epsilon_plus_flat", o);
    u.bind(m);
    EXPECT_EQ(rule_name(u, m, "a"), "Epsilon(epsilon=0.01)");
    EXPECT_EQ(rule_name(u, m, "b"), "Gamma(gamma=0.5, stabilizer=1e-06)");
    o.name_map = {{"nope", make_rule("pass")}};
    Composite bad = make_composite("epsilon_plus", o);
    EXPECT_THROW(bad.bind(m), Error);
}

// User first-layer entries go ahead of the composite's (the first given wins); a name given twice keeps
// the later rule; residual and rule-assignment strings parse or fail naming the choices.
TEST(LrpCpuComposite, UserFirstMapOrderNameOverrideAndParsers) {
    auto m = small("vgg11");
    CompositeOptions o;
    o.first_map = {{LayerType::Convolution, make_rule("wsquare")}, {LayerType::AnyLinear, make_rule("norm")}};
    o.layer_map = {{LayerType::MaxPool, make_rule("gradient")}};
    Composite c = make_composite("epsilon_plus_flat", o);
    c.set_name_rule("classifier", make_rule("flat"));
    c.set_name_rule("classifier", make_rule("epsilon:0.25"));  // replaces the entry for the same name
    c.bind(*m);
    EXPECT_EQ(rule_name(c, *m, "features.0"), "WSquare(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(c, *m, "features.2"), "Gradient");  // the max-pool entry, not "unmatched"
    EXPECT_TRUE(matches(LayerType::MaxPool, leaf(*m, "features.2")));
    EXPECT_FALSE(matches(LayerType::MaxPool, leaf(*m, "features.0")));
    EXPECT_EQ(rule_name(c, *m, "features.3"), "ZPlus(stabilizer=1e-06)");
    EXPECT_EQ(rule_name(c, *m, "classifier"), "Epsilon(epsilon=0.25)");
    EXPECT_NE(c.assignment_table().find("classifier"), std::string::npos);

    EXPECT_EQ(parse_residual_mode("copy"), ResidualMode::Copy);
    EXPECT_EQ(parse_residual_mode("norm_split"), ResidualMode::NormSplit);
    EXPECT_THROW(parse_residual_mode("split"), Error);
    auto [key, rule] = parse_rule_assignment("layer1.0.conv1=gamma:0.5:stab=1e-5", "--rule");
    EXPECT_EQ(key, "layer1.0.conv1");
    EXPECT_EQ(rule->name(), "Gamma(gamma=0.5, stabilizer=1e-05)");
    for (const char* bad : {"conv", "=gamma", "conv=", "conv=gama"}) {
        SCOPED_TRACE(bad);
        EXPECT_THROW(parse_rule_assignment(bad, "--rule"), Error);
    }
    try {
        parse_rule_assignment("conv", "--first-rule");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("--first-rule: 'conv' is not KEY=RULE"), std::string::npos) << e.what();
    }
    // An unknown layer type names the flag and spec that gave it, as a bad rule does.
    CompositeOptions user;
    test::expect_error([&] { add_user_rules(user, {"foo=epsilon"}, {}, {}, "--occlusion-"); },
                       {"--occlusion-rule 'foo=epsilon': ", "unknown layer type 'foo'"});
    test::expect_error([&] { add_user_rules(user, {}, {"xx=flat"}, {}, "--"); }, {"--first-rule 'xx=flat': "});
}

TEST(LrpCpuComposite, UnknownNamesListTheKnownOnes) {
    try {
        make_composite("epsilon_plus_flatt");
        FAIL();
    } catch (const Error& e) {
        const std::string w = e.what();
        for (const std::string& k : known_composites()) EXPECT_NE(w.find(k), std::string::npos) << w;
    }
    EXPECT_THROW(parse_layer_type("pooling"), Error);
    EXPECT_EQ(parse_layer_type("linear"), LayerType::Dense);
    EXPECT_EQ(parse_bn_fold("zennit_0_5_1"), BnFold::Zennit051);
    EXPECT_THROW(parse_bn_fold("zennit"), Error);
    // a module outside the bound model is a clear error
    auto m = small("vgg11");
    Composite c = make_composite("epsilon_plus");
    nn::ReLU stray;
    EXPECT_THROW(c.apply(stray, Tensor::zeros({1})), Error);
}

TEST(LrpCpuComposite, BnFoldOptionsAndPairs) {
    nn::Sequential m;
    m.emplace<nn::BatchNorm2d>("pre", 3);  // before a conv: not folded (gets the BatchNorm rule)
    m.emplace<nn::Conv2d>("conv", 3, 4, 3, 1, 1, false);
    m.emplace<nn::BatchNorm2d>("bn", 4);
    m.emplace<nn::ReLU>("relu");
    m.emplace<nn::BatchNorm2d>("after_relu", 4);  // not directly after a conv: not folded
    auto pairs = find_bn_fold_pairs(m);
    ASSERT_EQ(pairs.size(), 1u);
    EXPECT_EQ(pairs[0].layer->name(), "conv");
    EXPECT_EQ(pairs[0].bn->name(), "bn");
    CompositeOptions o;
    o.bn_fold = BnFold::None;
    Composite none = make_composite("epsilon_plus", o);
    none.bind(m);
    EXPECT_FALSE(none.is_folded(leaf(m, "conv")));
    EXPECT_TRUE(none.folded_pairs().empty());
}

TEST(LrpCpuComposite, MaxPoolRoutesToTheFirstMaximum) {
    // Pass on ReLU delivers relevance to zero activations; the max-pool's gradient then routes it to the
    // first maximum of each window: all-zero 4x4, 3x3/s2/p1 -> (0,0), (0,1), (1,0), (1,1).
    nn::Sequential m;
    m.emplace<nn::ReLU>("relu");
    m.emplace<nn::MaxPool2d>("pool", 3, 2, 1);
    Composite c = make_composite("epsilon_plus");
    c.bind(m);
    m.forward(test::rand_tensor({1, 1, 4, 4}, 1, -1.f, -0.1f));  // all negative: ReLU output all zero
    std::vector<float> r = m.relevance(Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {1, 1, 2, 2}), c)
                               .to_vector<float>();
    std::vector<float> expect(16, 0.f);
    expect[0] = 1, expect[1] = 2, expect[4] = 3, expect[5] = 4;
    EXPECT_EQ(r, expect);
}

// zennit's name map on a torchvision ResNet reaches every use of a block's one `relu` module; lrpcu's blocks hold
// one ReLU per use, and "<block>.relu" reaches them all (BasicBlock: relu, relu_out; Bottleneck: relu, relu2,
// relu_out), while a rule named for relu2 or relu_out itself wins there; other blocks keep the table's rule.
TEST(LrpCpuComposite, BlockReluNameReachesEveryUseAsInTorchvision) {
    for (const char* arch : {"resnet18", "resnet50"}) {
        auto m = small(arch);
        Composite c = make_composite("epsilon_plus");
        c.set_name_rule("layer1.0.relu", make_rule("gradient"));
        c.set_name_rule("layer1.1.relu_out", make_rule("pass"));  // the shared name below gives Gradient
        c.set_name_rule("layer1.1.relu", make_rule("gradient"));
        c.bind(*m);
        const std::string grad = make_rule("gradient")->name();
        EXPECT_EQ(rule_name(c, *m, "layer1.0.relu"), grad) << arch;
        EXPECT_EQ(rule_name(c, *m, "layer1.0.relu_out"), grad) << arch;
        if (std::string(arch) == "resnet50") {
            EXPECT_EQ(rule_name(c, *m, "layer1.0.relu2"), grad);
        }
        EXPECT_EQ(rule_name(c, *m, "layer1.1.relu_out"), "Pass") << arch << ": its own name wins";
        EXPECT_EQ(rule_name(c, *m, "layer2.0.relu_out"), "Pass") << arch;
        EXPECT_EQ(rule_name(c, *m, "relu"), "Pass") << arch << ": the stem's ReLU is its own";
    }
}

// Pass hands the relevance on unchanged: refused, naming the layer and both shapes, on a layer whose output has
// another shape than its input (zennit's autograd refuses it too); on one whose shapes agree it is the identity.
TEST(LrpCpuComposite, PassNeedsALayerThatKeepsTheShape) {
    auto m = small("resnet18");
    const Tensor x = test::rand_tensor({2, 3, 16, 16}, 5);
    CompositeOptions o;
    o.name_map = {{"fc", make_rule("pass")}};
    Composite onfc = make_composite("epsilon_plus", o);
    test::expect_error([&] { attribute(*m, x, Target::class_index(1), onfc); },
                       {"Pass hands the relevance on unchanged", "not to Linear 'fc' ([2, 32] to [2, 10])"});
    // layer1.0.conv2 maps 4 x 16 x 16 to the same shape: Pass there is the identity, as in zennit.
    o.name_map = {{"layer1.0.conv2", make_rule("pass")}};
    Composite same = make_composite("epsilon_plus", o);
    for (float v : attribute(*m, x, Target::class_index(1), same).to_vector<float>()) ASSERT_TRUE(std::isfinite(v));
}

// epsilon_gamma_box refuses a lower bound above the upper one in any channel, also when one bound is a number and
// the other per channel (a bound not given comes from the data); a rule for BatchNorm on a model without any says
// so, not that folding took the layers.
TEST(LrpCpuComposite, BoxBoundsInEveryChannelAndNotesWithoutBatchNorm) {
    CompositeOptions o;
    o.low = Bound(10.f);
    o.high = Bound::channels({1.f, 20.f, 30.f});
    test::expect_error([&] { make_composite("epsilon_gamma_box", o); },
                       {"the lower input bound exceeds the upper one (channel 0: 10 > 1"});
    o.low = Bound::channels({-1.f, 21.f, -3.f});
    test::expect_error([&] { make_composite("epsilon_gamma_box", o); }, {"(channel 1: 21 > 20"});
    o.low = Bound::channels({-1.f, -2.f, -3.f});
    EXPECT_NO_THROW(make_composite("epsilon_gamma_box", o));

    auto m = small("vgg11");
    CompositeOptions u;
    add_user_rules(u, {"bn=epsilon"}, {}, {}, "--");
    Composite c = make_composite("epsilon_plus", u);
    c.bind(*m);
    const std::vector<std::string> notes = unassigned_rules(u, c, {"bn=epsilon"}, {}, {}, "--");
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find("(the model has no batchnorm layer)"), std::string::npos) << notes[0];
}

// A rule that cannot apply to a layer it is given fails when the composite binds the model, before any pass (eval
// --occlusion used to report it after its whole accuracy pass).
TEST(LrpCpuComposite, MisplacedRulesFailWhenBound) {
    auto m = small("resnet18");
    CompositeOptions o;
    o.layer_map = {{LayerType::Convolution, make_rule("norm")}};
    Composite norm = make_composite("epsilon_plus", o);
    test::expect_error([&] { norm.bind(*m); },
                       {"Norm(stabilizer=1e-06) applies to AvgPool2d / AdaptiveAvgPool2d, not to Conv2d 'conv1'"});
    o.layer_map = {{LayerType::Any, make_rule("epsilon:0.1")}};
    Composite any = make_composite("epsilon_plus", o);
    test::expect_error([&] { any.bind(*m); }, {"Epsilon(epsilon=0.1) applies to Conv2d / Linear layers, not to ReLU"});
    // User rules from flags: the errors open with the flag and spec that gave the rule.
    CompositeOptions u;
    add_user_rules(u, {}, {}, {"relu=epsilon"}, "--reldrop-");
    Composite named = make_composite("epsilon_plus", u);
    test::expect_error([&] { named.bind(*m); }, {"--reldrop-layer-rule relu=epsilon: Epsilon(epsilon=1e-06) applies to "
                                                 "Conv2d / Linear layers, not to ReLU 'relu'"});
    CompositeOptions t;
    add_user_rules(t, {"activation=zplus"}, {}, {}, "--");
    Composite typed = make_composite("epsilon_plus", t);
    test::expect_error([&] { typed.bind(*m); }, {"--rule activation=zplus: ZPlus"});
    CompositeOptions r;
    test::expect_error([&] { add_user_rules(r, {"ReLU=pass"}, {}, {}, "--"); },
                       {"--rule 'ReLU=pass': unknown layer type 'ReLU'", "ReLU layers are type 'activation'"});
    CompositeOptions v;
    add_user_rules(v, {}, {}, {"layer9.conv1=flat"}, "--occlusion-");
    Composite unknown = make_composite("epsilon_plus", v);
    test::expect_error([&] { unknown.bind(*m); },
                       {"--occlusion-layer-rule layer9.conv1=flat: no layer named 'layer9.conv1' in the model"});
}
