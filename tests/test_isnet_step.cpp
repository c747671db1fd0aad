// The ISNet step (lrp/train/isnet_step.h) on the CPU: the foreground mask follows the raw threshold through each
// channel's normalisation; one SGD step moves the parameters by minus the gradient of (1 - P) CE + P L_heat
// (directional finite differences of that loss); repeated steps on a batch lower the heatmap loss; P = 0 is the
// plain step; settings and flags are validated with messages that name them. The gradient checks run with z^B
// (the default) and with epsilon on the first layer.
#include <cmath>

#include "grad_check.h"
#include "lrp/lrp/flex.h"
#include "lrp/lrp/flex_zb.h"
#include "lrp/lrp/target.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/sequential.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"
#include "lrp/train/isnet_step.h"
#include "lrp/train/optimizer.h"
#include "isnet_test_util.h"
#include "reldrop_step_test_util.h"
#include "lrp_test_util.h"

using namespace lrp;
using lrp::test::plain_sgd;
using lrp::test::rand_tensor;
using lrp::test::tiny_batch;
using lrp::test::tiny_net;
using lrp::test::TinyBatch;

namespace {

train::IsnetSettings settings(float P = 0.7f, const std::string& explain = "label", const std::string& first = "zb") {
    train::TrainConfig c;
    c.augment = "isnet";
    c.isnet_p = P;
    c.isnet_explain = explain;
    c.isnet_first_rule = first;
    c.isnet_c1 = 0.5f;
    c.isnet_mask = "threshold:0.55";  // the object (>= 0.6) but not the marker (0.5)
    return train::isnet_settings(c, {0.2f}, {0.4f});
}

}  // namespace

TEST(IsnetStepCpu, MaskIsTheRawThresholdPerChannel) {
    train::TrainConfig c;
    c.augment = "isnet";
    c.isnet_mask = "threshold:0.3";
    train::Isnet isnet(train::isnet_settings(c, {0.5f, 0.1f}, {0.25f, 0.5f}));
    EXPECT_EQ(isnet.settings().input_zero, (std::vector<float>{-2.f, -0.2f}));  // a raw 0, normalised
    // Raw values per (channel, pixel); foreground where some channel's raw value exceeds 0.3.
    const std::vector<float> raw{0.1f, 0.31f, 0.2f, 0.9f, /* channel 1 */ 0.29f, 0.0f, 0.35f, 0.3f};
    std::vector<float> x(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) x[i] = i < 4 ? (raw[i] - 0.5f) / 0.25f : (raw[i] - 0.1f) / 0.5f;
    Tensor m = isnet.mask(Tensor::from_vector(x, Shape{1, 2, 2, 2}));
    EXPECT_EQ(m.shape(), (Shape{1, 2, 2}));
    EXPECT_EQ(m.to_vector<float>(), (std::vector<float>{0.f, 1.f, 1.f, 1.f}));
    test::expect_error([&] { isnet.mask(Tensor::zeros(Shape{1, 3, 2, 2})); }, {"for a foreground level of 2 channel(s)"});
}

namespace {
// SGD with lr 1, no momentum or decay: the update is minus the gradient of the step's loss (explaining the label,
// Selective ISNet's quantity, whose seed depends on the logits, or every logit: the mean over the N K maps), with z^B
// or epsilon on the first layer.
void check_update_is_the_gradient(const std::string& explain, const std::string& first) {
    auto m = tiny_net(3);
    TinyBatch b = tiny_batch(6);
    train::Isnet isnet(settings(0.7f, explain, first));
    const std::vector<std::vector<float>> before = test::param_values(*m);
    train::SGD opt = plain_sgd(*m, 1.f);
    Generator g(1);
    const train::IsnetStepResult r = isnet.step(*m, opt, b.x, b.y, g);
    EXPECT_GT(r.heat_loss.to_vector<float>()[0], 0.f);
    EXPECT_EQ(r.nonfinite.to_vector<float>()[0], 0.f);
    // Gradient = before - after; the weights restored for the finite differences.
    const std::vector<test::GradVar> vars = test::update_as_gradient(*m, before);
    explain::FlexPass flex(explain::FlexOptions{isnet.settings().epsilon});
    // Raw 0 and 1 are -0.5 and 2 after the normalisation (mean 0.2, stdev 0.4).
    explain::FlexZb zb({-0.5f}, {2.f}, isnet.settings().epsilon);
    const float P = isnet.settings().P;
    const int K = explain == "all" ? 3 : 1;  // tiny_net's classes
    auto loss = [&] {
        Tensor logits = m->forward(b.x);
        double heat = 0;
        for (int k = 0; k < K; ++k) {
            const Tensor cls = explain == "all" ? Tensor::from_vector(std::vector<int32_t>(6, k), Shape{6}) : b.y;
            Tensor G = flex.gradient(
                *m, explain == "selective" ? ops::isnet_selective_seed(logits, isnet.settings().selective_eps)
                    : explain == "selective-softmin"
                        ? ops::isnet_selective_seed(logits, isnet.settings().epsilon, kernels::kIsnetSelectiveSoftmin)
                        : explain::initial_relevance(logits, explain::Target::label(cls)));
            Tensor per = Tensor::empty(Shape{6}), dR = Tensor::empty(b.x.shape()), bad = Tensor::empty(Shape{6}, DType::I32);
            const Tensor xr = ops::add(b.x, ops::full(b.x.shape(), 0.5f));  // x - input_zero (raw 0 is -0.5)
            const Tensor R = first == "zb" ? zb.heatmap(*m, flex, b.x) : ops::mul(G, xr);
            ops::isnet_heat_loss(R, isnet.mask(b.x), isnet.settings().loss, per, dR, bad);
            for (float v : per.to_vector<float>()) heat += v;
        }
        const double ce = train::cross_entropy(logits, b.y, 0.f, Tensor()).to_vector<float>()[0];
        return (1 - P) * ce + P * heat / (6 * K);
    };
    // every tensor must find a kink-free direction (an undecided one is not checked at all)
    EXPECT_TRUE(test::directional_check(vars, loss, "ISNet step (" + explain + ", " + first + ")", 1e-3, 2e-2, 5, 8, 1e-4,
                                        {"0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"}));
}
}  // namespace

TEST(IsnetStepCpu, UpdateIsTheGradientOfTheCombinedLoss) {
    check_update_is_the_gradient("label", "zb");
    check_update_is_the_gradient("label", "epsilon");
}
TEST(IsnetStepCpu, SelectiveUpdateIsTheGradientThroughItsSeed) {
    check_update_is_the_gradient("selective", "zb");
    check_update_is_the_gradient("selective", "epsilon");
}
TEST(IsnetStepCpu, SoftminSelectiveUpdateIsTheGradientThroughItsSeed) {
    check_update_is_the_gradient("selective-softmin", "zb");
    check_update_is_the_gradient("selective-softmin", "epsilon");
}
TEST(IsnetStepCpu, AllClassesUpdateIsTheGradientOfTheMeanOverMaps) {
    check_update_is_the_gradient("all", "zb");
    check_update_is_the_gradient("all", "epsilon");
}

// The original ISNet's maps: K N of them, class k's map of image n at k N + n, each the map of explaining that class;
// the calibration's total of an image is the mean of its maps' totals.
TEST(IsnetStepCpu, AllClassesHeatmapsAreThePerClassMaps) {
    auto m = tiny_net(7), ref = tiny_net(7);
    TinyBatch b = tiny_batch(4);
    train::Isnet isnet(settings(0.7f, "all")), label(settings(0.7f, "label"));
    Generator g(1);
    const Tensor totals = isnet.heatmap_totals(*m, b.x, b.y, g);
    ASSERT_EQ(totals.shape(), (Shape{1, 4}));  // per image, the mean over its 3 maps
    train::SGD opt = plain_sgd(*m, 0.f);  // lr 0: the step leaves the weights as they are
    const train::IsnetStepResult r = isnet.step(*m, opt, b.x, b.y, g);
    ASSERT_EQ(r.heatmap.shape(), (Shape{12, 1, 8, 8}));
    const std::vector<float> t = totals.to_vector<float>();
    std::vector<double> mean_total(4, 0.0);
    for (int k = 0; k < 3; ++k) {
        train::SGD o = plain_sgd(*ref, 0.f);
        const Tensor cls = Tensor::from_vector(std::vector<int32_t>(4, k), Shape{4});
        const train::IsnetStepResult one = label.step(*ref, o, b.x, cls, g);
        EXPECT_LT(test::rel_l2(r.heatmap.slice(4 * k, 4 * k + 4), one.heatmap), 1e-6) << k;
        const std::vector<float> h = one.heatmap.to_vector<float>();
        for (int n = 0; n < 4; ++n) {
            double abs_sum = 0;
            for (int j = 0; j < 64; ++j) abs_sum += std::fabs(h[n * 64 + j]);
            mean_total[static_cast<size_t>(n)] += abs_sum / 3;
        }
    }
    for (int n = 0; n < 4; ++n) EXPECT_NEAR(t[n], mean_total[static_cast<size_t>(n)], 1e-4 * mean_total[static_cast<size_t>(n)]) << n;
    EXPECT_GT(test::rel_l2(r.heatmap.slice(0, 4), r.heatmap.slice(4, 8)), 1e-2);  // the classes' maps differ
}

// `explain --flex`'s map of a model (eval mode) is the map the ISNet step trains on (tiny_net has no BN: train and eval
// mode agree), for z^B and for the epsilon first layer; its hidden maps (--flex-layers) are the pass's.
TEST(IsnetStepCpu, FlexHeatmapIsTheStepsMap) {
    TinyBatch b = tiny_batch(4);
    for (const std::string first : {"zb", "epsilon"}) {
        auto m = tiny_net(11), ref = tiny_net(11);
        Tensor logits;
        const Tensor R = train::flex_heatmap(*m, b.x, explain::Target::label(b.y), first, 0.01f, {0.2f}, {0.4f}, logits);
        train::Isnet isnet(settings(0.7f, "label", first));
        train::SGD opt = plain_sgd(*ref, 0.f);
        Generator g(1);
        const train::IsnetStepResult r = isnet.step(*ref, opt, b.x, b.y, g);
        EXPECT_LT(test::rel_l2(R, r.heatmap), 1e-6) << first;
        EXPECT_LT(test::rel_l2(logits, r.step.logits), 1e-6) << first;
    }
    auto m = tiny_net(11);
    Tensor logits;
    // With the hidden maps (explain --flex-layers): those of the same pass, at the model's own point or by name.
    std::vector<std::pair<std::string, Tensor>> hidden;
    const Tensor R = train::flex_heatmap(*m, b.x, explain::Target::label(b.y), "zb", 0.01f, {0.2f}, {0.4f}, logits, &hidden);
    ASSERT_EQ(hidden.size(), 1u);
    EXPECT_EQ(hidden[0].first, "2");
    {
        m->eval();
        const Tensor z = m->forward(b.x);
        explain::FlexPass pass(explain::FlexOptions{0.01f});
        pass.gradient(*m, explain::initial_relevance(z, explain::Target::label(b.y)));
        EXPECT_LT(test::rel_l2(hidden[0].second, explain::FlexHidden(*m).map(pass, 0)), 1e-7);
        m->clear_saved();
    }
    EXPECT_EQ(train::flex_heatmap(*m, b.x, explain::Target::label(b.y), "zb", 0.01f, {0.2f}, {0.4f}, logits)
                  .to_vector<float>(), R.to_vector<float>());  // the input map is the same with or without them
    train::flex_heatmap(*m, b.x, explain::Target::label(b.y), "epsilon", 0.01f, {0.2f}, {0.4f}, logits, &hidden, {"1", "2"});
    ASSERT_EQ(hidden.size(), 2u);
    EXPECT_EQ(hidden[0].first, "1");
    EXPECT_EQ(hidden[0].second.shape(), (Shape{4, 4, 8, 8}));
    EXPECT_EQ(hidden[1].second.shape(), (Shape{4, 4, 4, 4}));
    test::expect_error([&] { train::flex_heatmap(*m, b.x, explain::Target::prediction(), "zb", 0.01f, {0.2f}, {0.4f}, logits, &hidden, {"9"}); },
                       {"no module named '9'"});
    test::expect_error([&] { train::flex_heatmap(*m, b.x, explain::Target::prediction(), "flat", 0.01f, {0.2f}, {0.4f}, logits); },
                       {"first layer's rule must be zb or epsilon (got 'flat')"});
    test::expect_error([&] { train::flex_heatmap(*m, b.x, explain::Target::prediction(), "zb", 0.01f, {0.2f, 0.1f}, {0.4f, 1.f}, logits); },
                       {"inputs [4, 1, 8, 8] with a normalisation of 2 channel(s)"});
    test::expect_error([&] { train::flex_heatmap(*m, b.x, explain::Target::prediction(), "zb", 0.01f, {0.2f}, {0.f}, logits); },
                       {"channel 0 has mean 0.2 and stdev 0"});
}

TEST(IsnetStepCpu, RepeatedStepsLowerTheHeatmapLoss) {
    auto m = tiny_net(5);
    TinyBatch b = tiny_batch(9);
    train::Isnet isnet(settings(0.7f, "stochastic"));
    train::SGD opt = plain_sgd(*m, 0.02f);
    Generator g(3);
    float first = 0, last = 0;
    for (int s = 0; s < 60; ++s) {
        const float h = isnet.step(*m, opt, b.x, b.y, g, {0.f, 1.f}).heat_loss.to_vector<float>()[0];
        ASSERT_TRUE(std::isfinite(h));
        if (s == 0) first = h;
        last = h;
    }
    EXPECT_LT(last, 0.7f * first) << "first " << first << ", last " << last;
    for (nn::Module* l : m->leaves())  // the step's backward consumed every gradient the adjoint left
        if (auto* r = dynamic_cast<nn::ReLU*>(l)) {
            EXPECT_FALSE(r->has_output_grad()) << r->name();
        }
}

// P = 0: the heatmap path runs (its loss is reported) but the update is the plain step's, bit for bit.
TEST(IsnetStepCpu, ZeroWeightIsThePlainStep) {
    auto a = tiny_net(9), c = tiny_net(9);
    TinyBatch b = tiny_batch(6);
    train::Isnet isnet(settings(0.f));
    train::SGD oa = plain_sgd(*a, 0.1f), oc = plain_sgd(*c, 0.1f);
    Generator g(1);
    const train::IsnetStepResult r = isnet.step(*a, oa, b.x, b.y, g);
    const train::StepResult p = train::train_step(*c, oc, b.x, b.y);
    EXPECT_EQ(r.step.loss.to_vector<float>(), p.loss.to_vector<float>());
    EXPECT_GT(r.heat_loss.to_vector<float>()[0], 0.f);
    auto pa = a->named_params(), pc = c->named_params();
    for (size_t i = 0; i < pa.size(); ++i)
        EXPECT_EQ(pa[i].second->value.to_vector<float>(), pc[i].second->value.to_vector<float>()) << pa[i].first;
}

TEST(IsnetStepCpu, SettingsAreValidated) {
    train::TrainConfig c;
    c.augment = "isnet";
    c.isnet_p = 1.f;
    test::expect_error([&] { c.validate(); }, {"--isnet-p must be in [0, 1)"});
    c.isnet_p = 0.5f;
    c.isnet_mask = "otsu";
    test::expect_error([&] { c.validate(); }, {"--isnet-mask must be auto, threshold:<v>", "'otsu'"});
    c.isnet_mask = "threshold:1.5";
    test::expect_error([&] { c.validate(); }, {"needs a number v in [0, 1)", "'threshold:1.5'"});
    for (const char* bad : {"threshold:0.1x", "threshold:0x0.1p0", "threshold:nan"}) {
        c.isnet_mask = bad;
        test::expect_error([&] { c.validate(); }, {"needs a number v in [0, 1)", bad});
    }
    c.isnet_mask = "threshold:0.1";
    c.isnet_c1 = 30.f;
    test::expect_error([&] { c.validate(); }, {"--isnet-c1/--isnet-c2: need 0 < C1 <= C2"});
    c.isnet_c1 = 1.f;
    c.isnet_explain = "every";
    test::expect_error([&] { c.validate(); }, {"--isnet-explain must be stochastic, selective, selective-softmin, label, pred or all", "'every'"});
    c.isnet_explain = "selective";
    c.isnet_selective_eps = 0.f;
    test::expect_error([&] { c.validate(); }, {"--isnet-selective-eps must be a finite number > 0"});
    c.isnet_selective_eps = 1e-7f;
    EXPECT_NO_THROW(c.validate());
    c.isnet_explain = "stochastic";
    c.isnet_decay = -0.1f;
    test::expect_error([&] { c.validate(); }, {"--isnet-decay must be in [0, 1]"});
    c.isnet_decay = 0.9f;
    c.isnet_first_rule = "zbox";
    test::expect_error([&] { c.validate(); }, {"--isnet-first-rule must be zb or epsilon (got 'zbox')"});
    c.isnet_first_rule = "epsilon";
    EXPECT_NO_THROW(c.validate());
    train::IsnetSettings s = settings();
    s.P = -0.5f;
    test::expect_error([&] { train::Isnet bad(s); }, {"heatmap-loss weight P must be in [0, 1)"});
    s = settings();
    s.input_zero = {0.f, 0.f};
    test::expect_error([&] { train::Isnet bad(s); }, {"2 input zero(s) for 1 channel(s)"});
    s = settings();
    s.loss.E = 0.f;
    test::expect_error([&] { train::Isnet bad(s); }, {"E must be positive"});
    s = settings();
    s.input_one = {-0.5f};  // raw 1 at raw 0
    test::expect_error([&] { train::Isnet bad(s); }, {"z^B: bounds [-0.5, -0.5] of channel 0"});
    s.first_rule = "epsilon";  // the bounds are not used
    EXPECT_NO_THROW(train::Isnet ok(s));
    s.first_rule = "flat";
    test::expect_error([&] { train::Isnet bad(s); }, {"first layer's rule must be zb or epsilon (got 'flat')"});
}
