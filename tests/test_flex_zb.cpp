// z^B on the first layer of an LRP-Flex pass (lrp/flex_zb.h): its heatmap equals lrpcu's zennit-exact ZBox on the
// BN-folded first conv with the LRP-epsilon composite the pass stands for; the adjoint plus the backward is the
// gradient of a loss on that heatmap (directional finite differences: conv-BN-ReLU in eval mode, conv-ReLU in train
// mode, a Linear-first MLP); train mode holds BN's batch statistics constant; bad models, bounds and call orders are
// refused; CPU and CUDA agree. A strided 7 x 7 stem is checked against ZBox too.
#include <algorithm>
#include <cmath>

#include "flex_test_util.h"
#include "grad_check.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/lrp/flex_zb.h"
#include "lrp/lrp/rules.h"
#include "lrp/lrp/target.h"
#include "lrp/ops/elementwise.h"

using namespace lrp;
using lrp::explain::FlexOptions;
using lrp::explain::FlexPass;
using lrp::explain::FlexZb;
using lrp::test::dot;
using lrp::test::rand_tensor;

namespace {

const std::vector<float> kLow{-1.25f, -1.5f}, kHigh{1.5f, 1.f};  // the inputs below lie in [-1, 1]

// The first BN's gamma with both signs, so the folded weight's sign parts differ from the conv's.
void mixed_sign_gamma(nn::Module& m) {
    for (auto& [n, p] : m.named_params())
        if (n == "bn1.weight") p->value.copy_from(Tensor::from_vector(std::vector<float>{0.8f, -0.6f, 1.3f, -1.1f}, Shape{4}));
}

// L = <r1, logits> + <r2, R>, R the z^B heatmap of the pass seeded with the one-hot of `labels`.
struct ZbLoss {
    nn::Module& model;
    Tensor x, r1, r2, labels;
    FlexPass pass{FlexOptions{0.05f}};
    FlexZb zb{kLow, kHigh, 0.05f};

    Tensor heat() {
        Tensor logits = model.forward(x);
        pass.gradient(model, explain::initial_relevance(logits, explain::Target::label(labels)));
        last_logits = logits;
        return zb.heatmap(model, pass, x);
    }
    double value() {
        Tensor r = heat();
        return dot(r1, last_logits) + dot(r2, r);
    }
    void gradients() {
        heat();
        model.zero_grad();
        zb.adjoint(model, pass, r2);
        model.backward(r1, true);
    }
    Tensor last_logits = Tensor();
};

ZbLoss make_loss(nn::Module& model, const Shape& xs, int classes, uint32_t seed, Device d = Device::cpu()) {
    Tensor x = rand_tensor(xs, seed, -1.f, 1.f, d);
    Tensor logits = model.forward(x);
    std::vector<int32_t> lab;
    for (int64_t i = 0; i < xs[0]; ++i) lab.push_back(static_cast<int32_t>((i * 2 + 1) % classes));
    return ZbLoss{model, x, rand_tensor(logits.shape(), seed + 1, -1.f, 1.f, d), rand_tensor(xs, seed + 2, -1.f, 1.f, d),
                  Tensor::from_vector(lab, Shape{xs[0]}, d)};
}

// `must`: the tensors the z^B step's own terms reach, which the check may not skip for want of a kink-free direction.
::testing::AssertionResult check_gradient(nn::Module& model, ZbLoss& L, double rel_tol,
                                          const std::vector<std::string>& must) {
    L.gradients();
    std::vector<test::GradVar> vars;
    for (auto& [n, p] : model.named_params()) vars.emplace_back(n, p->value, p->grad);
    return test::directional_check(vars, [&] { return L.value(); }, model.type(), 1e-3, rel_tol, 7, 8, 1e-4, must);
}
const std::vector<std::string> kResnetMust{"conv1.weight", "bn1.weight", "fc.weight"};

std::unique_ptr<nn::Sequential> small_mlp() {
    auto m = std::make_unique<nn::Sequential>("MLP");
    m->emplace<nn::Linear>("0", 6, 5, true);
    m->emplace<nn::ReLU>("1");
    m->emplace<nn::Linear>("2", 5, 4, true);
    m->emplace<nn::ReLU>("3");
    m->emplace<nn::Linear>("4", 4, 3, true);
    return m;
}

}  // namespace

// The pass's relevance at the first ReLU, then ZBox (lrp/rules.h, checked against zennit) on conv1 with bn1 folded:
// the composite of FlexCpu.ModifiedGradientTimesInputIsLrpEpsilon with ZBox on the first layer.
TEST(FlexZbCpu, HeatmapIsZBoxOnTheFoldedFirstLayer) {
    const float eps = 0.05f;
    auto m = test::small_resnet();
    test::randomize(*m, 11);
    mixed_sign_gamma(*m);
    m->eval();
    Tensor x = rand_tensor(Shape{3, 2, 8, 8}, 12);
    Tensor labels = Tensor::from_vector(std::vector<int32_t>{1, 4, 0}, Shape{3});
    Tensor logits = m->forward(x);
    FlexPass pass(FlexOptions{eps});
    pass.gradient(*m, explain::initial_relevance(logits, explain::Target::label(labels)));
    FlexZb zb(kLow, kHigh, eps);
    Tensor flex = zb.heatmap(*m, pass, x);

    explain::Composite c = test::flex_equivalent_composite(eps);
    c.set_name_rule("conv1", std::make_shared<explain::ZBox>(explain::Bound::channels(kLow),
                                                             explain::Bound::channels(kHigh), explain::Stabilizer(eps)));
    Tensor lrp = explain::attribute(*m, x, explain::Target::label(labels).scaled_by_logit(), c);
    EXPECT_LT(test::rel_l2(flex, lrp), 1e-4);
    // The epsilon first layer (G * x) is another map: the comparison is sensitive to the first rule.
    m->forward(x);
    Tensor g = pass.gradient(*m, explain::initial_relevance(logits, explain::Target::label(labels)));
    EXPECT_GT(test::rel_l2(ops::mul(g, x), lrp), 1e-2);
    // And to the bounds.
    FlexZb other({-2.f, -2.f}, kHigh, eps);
    EXPECT_GT(test::rel_l2(other.heatmap(*m, pass, x), lrp), 1e-2);
}

// An ImageNet-style stem (7 x 7 conv, stride 2, padding 3, BN, ReLU, max-pool): the folded conv's geometry is the
// layer's own, as zennit's ZBox sees it.
TEST(FlexZbCpu, StridedStemIsZBoxOnTheFoldedFirstLayer) {
    const float eps = 0.05f;
    nn::Sequential m("stem");
    m.emplace<nn::Conv2d>("conv1", 2, 4, 7, 2, 3, false);
    m.emplace<nn::BatchNorm2d>("bn1", 4);
    m.emplace<nn::ReLU>("relu");
    m.emplace<nn::MaxPool2d>("maxpool", 3, 2, 1);
    m.emplace<nn::Flatten>("flatten");
    m.emplace<nn::Linear>("fc", 4 * 3 * 3, 3, true);
    test::randomize(m, 17);
    mixed_sign_gamma(m);
    m.eval();
    Tensor x = rand_tensor(Shape{2, 2, 11, 11}, 18);
    Tensor labels = Tensor::from_vector(std::vector<int32_t>{2, 0}, Shape{2});
    Tensor logits = m.forward(x);
    FlexPass pass(FlexOptions{eps});
    pass.gradient(m, explain::initial_relevance(logits, explain::Target::label(labels)));
    Tensor flex = FlexZb(kLow, kHigh, eps).heatmap(m, pass, x);
    explain::Composite c("stem-equivalent");
    c.set_bn_fold(explain::BnFold::Exact);
    c.add(explain::LayerType::Activation, std::make_shared<explain::Pass>());
    c.add(explain::LayerType::MaxPool, std::make_shared<explain::Gradient>());
    c.set_name_rule("fc", std::make_shared<explain::Epsilon>(0.f));
    c.set_name_rule("conv1", std::make_shared<explain::ZBox>(explain::Bound::channels(kLow),
                                                             explain::Bound::channels(kHigh), explain::Stabilizer(eps)));
    Tensor lrp = explain::attribute(m, x, explain::Target::label(labels).scaled_by_logit(), c);
    EXPECT_LT(test::rel_l2(flex, lrp), 1e-4);
    EXPECT_GT(dot(flex, flex), 1e-6);  // not a map of zeros on both sides
}

TEST(FlexZbCpu, GradientOfHeatmapLossResNetEvalMode) {
    auto m = test::small_resnet();
    test::randomize(*m, 3);
    mixed_sign_gamma(*m);
    m->eval();
    ZbLoss L = make_loss(*m, Shape{3, 2, 8, 8}, 5, 40);
    EXPECT_TRUE(check_gradient(*m, L, 2e-2, kResnetMust));
}

// The heatmap term alone (r1 = 0) moves the first layer's weight and gamma: the check above cannot pass on the
// ordinary backward alone, nor without the z^B step's own terms.
TEST(FlexZbCpu, HeatmapTermAloneIsCheckedAndReachesTheFirstLayer) {
    auto m = test::small_resnet();
    test::randomize(*m, 8);
    mixed_sign_gamma(*m);
    m->eval();
    ZbLoss L = make_loss(*m, Shape{2, 2, 8, 8}, 5, 60);
    ops::fill(L.r1, 0.f);
    EXPECT_TRUE(check_gradient(*m, L, 2e-2, kResnetMust));
    for (auto& [n, p] : m->named_params())
        if (n == "conv1.weight" || n == "bn1.weight" || n == "fc.weight") {
            EXPECT_GT(dot(p->grad, p->grad), 1e-8) << n;
        }
}

TEST(FlexZbCpu, GradientOfHeatmapLossWithoutBnInTrainMode) {
    auto m = test::small_vgg();
    test::randomize(*m, 5);
    m->train();
    ZbLoss L = make_loss(*m, Shape{2, 2, 8, 8}, 3, 50);
    EXPECT_TRUE(check_gradient(*m, L, 2e-2, {"0.weight", "10.weight"}));
}

TEST(FlexZbCpu, GradientOfHeatmapLossLinearFirst) {
    auto m = small_mlp();
    test::randomize(*m, 9);
    m->eval();
    ZbLoss L = make_loss(*m, Shape{4, 6}, 3, 90);
    L.zb = FlexZb({-1.2f}, {1.1f}, 0.05f);  // one bound pair for every feature
    EXPECT_TRUE(check_gradient(*m, L, 2e-2, {"0.weight", "4.weight"}));
}

// In train mode the folded weight uses the batch statistics as constants: the heatmap and the adjoint's gradients
// equal the eval-mode ones of a model whose running statistics are those batch statistics.
TEST(FlexZbCpu, TrainModeHoldsBatchStatisticsConstant) {
    auto m = test::small_resnet();
    test::randomize(*m, 21);
    mixed_sign_gamma(*m);
    std::vector<nn::BatchNorm2d*> bns;
    for (nn::Module* l : m->leaves())
        if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(l)) bn->momentum = 1.f, bns.push_back(bn);
    m->train();
    ZbLoss L = make_loss(*m, Shape{3, 2, 8, 8}, 5, 70);
    const Tensor r_train = L.heat();
    m->zero_grad();
    L.zb.adjoint(*m, L.pass, L.r2);
    std::vector<std::pair<std::string, std::vector<float>>> grads;
    for (auto& [n, p] : m->named_params())
        if (p->grad.defined()) grads.emplace_back(n, p->grad.to_vector<float>());
    for (nn::BatchNorm2d* bn : bns) {  // running variance after momentum 1 is unbiased; the forward used the biased one
        const Shape& s = bn->saved_input().shape();
        const double n = double(s[0]) * s[2] * s[3];
        bn->running_var.copy_from(ops::scale(bn->running_var, static_cast<float>((n - 1) / n)));
    }
    m->eval();
    const Tensor r_eval = L.heat();
    EXPECT_LT(test::rel_l2(r_eval, r_train), 1e-5);
    m->zero_grad();
    L.zb.adjoint(*m, L.pass, L.r2);
    size_t i = 0;
    for (auto& [n, p] : m->named_params()) {
        if (!p->grad.defined()) continue;
        ASSERT_LT(i, grads.size());
        EXPECT_EQ(grads[i].first, n);
        EXPECT_LT(test::rel_l2(p->grad.to_vector<float>(), grads[i++].second), 1e-4) << n;
    }
    EXPECT_EQ(i, grads.size());
}

TEST(FlexZbCpu, Errors) {
    test::expect_error([] { FlexZb({0.f}, {0.f, 1.f}, 0.01f); }, {"1 low and 2 high bound(s)"});
    test::expect_error([] { FlexZb({1.f}, {1.f}, 0.01f); }, {"bounds [1, 1] of channel 0"});
    test::expect_error([] { FlexZb({0.f}, {1.f}, 0.f); }, {"epsilon must be positive"});
    auto m = test::small_resnet();
    test::randomize(*m, 1);
    m->eval();
    Tensor x = rand_tensor(Shape{2, 2, 8, 8}, 2);
    FlexPass pass;
    FlexZb zb(kLow, kHigh, 0.01f);
    test::expect_error([&] { zb.adjoint(*m, pass, x); }, {"adjoint() without a preceding heatmap()"});
    Tensor logits = m->forward(x);
    test::expect_error([&] { zb.heatmap(*m, pass, x); }, {"ReLU 'relu' was not in the last pass"});
    pass.gradient(*m, explain::initial_relevance(logits, explain::Target::prediction()));
    FlexZb three({0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}, 0.01f);
    test::expect_error([&] { three.heatmap(*m, pass, x); }, {"3 bound(s) for an input with 2 channel(s)"});
    test::expect_error([&] { zb.heatmap(*m, pass, rand_tensor(Shape{1, 2, 8, 8}, 3)); },
                       {"input [1, 2, 8, 8]", "saw [2, 2, 8, 8]"});
    zb.heatmap(*m, pass, x);
    test::expect_error([&] { zb.adjoint(*m, pass, rand_tensor(Shape{2, 2, 8, 7}, 4)); },
                       {"adjoint() of [2, 2, 8, 7] for a heatmap of [2, 2, 8, 8]"});
    const Tensor R = zb.heatmap(*m, pass, x);
    pass.gradient(*m, explain::initial_relevance(logits, explain::Target::prediction()));  // another pass
    test::expect_error([&] { zb.adjoint(*m, pass, R); }, {"adjoint() with a pass that ran again since heatmap()"});
    const Tensor R2 = zb.heatmap(*m, pass, x);
    zb.release();  // a heatmap used without its adjoint: what it kept is gone
    test::expect_error([&] { zb.adjoint(*m, pass, R2); }, {"adjoint() without a preceding heatmap()"});
    // A model that does not begin with conv/linear [BN] ReLU is refused, naming how it begins.
    nn::Sequential s;
    s.emplace<nn::MaxPool2d>("pool", 2);
    s.emplace<nn::Conv2d>("conv", 2, 3, 3, 1, 1, false);
    s.emplace<nn::ReLU>("relu");
    s.emplace<nn::Flatten>("flat");
    s.emplace<nn::Linear>("fc", 48, 2, true);
    Tensor y = s.forward(x);
    FlexPass p2;
    p2.gradient(s, y);
    test::expect_error([&] { zb.heatmap(s, p2, x); }, {"begins with MaxPool2d 'pool', Conv2d 'conv', ReLU 'relu'"});
}

// CPU and CUDA: the same heatmap and the same gradients (z^B adjoint, pass adjoint, backward).
TEST(FlexZbCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    auto cpu = test::small_resnet(), gpu = test::small_resnet();
    for (auto* m : {cpu.get(), gpu.get()}) test::randomize(*m, 31), mixed_sign_gamma(*m);
    gpu->to(dev);
    cpu->train(), gpu->train();
    ZbLoss a = make_loss(*cpu, Shape{3, 2, 9, 7}, 5, 80);
    ZbLoss b = make_loss(*gpu, Shape{3, 2, 9, 7}, 5, 80, dev);
    EXPECT_LT(test::rel_l2(b.heat(), a.heat()), 1e-5);
    a.gradients();
    b.gradients();
    // Train mode: a bias before BN has a gradient of rounding size only, so each parameter's difference is held to
    // 1e-4 of the largest gradient as well as of its own.
    auto pa = cpu->named_params(), pb = gpu->named_params();
    double largest = 0;
    for (auto& [n, p] : pa) largest = std::max(largest, std::sqrt(dot(p->grad, p->grad)));
    for (size_t i = 0; i < pa.size(); ++i) {
        const Tensor& ga = pa[i].second->grad;
        const Tensor gb = pb[i].second->grad.to(Device::cpu());
        const Tensor diff = ops::add(gb, ops::scale(ga, -1.f));
        EXPECT_LT(std::sqrt(dot(diff, diff)), 1e-4 * std::max(std::sqrt(dot(ga, ga)), largest * 1e-2)) << pa[i].first;
    }
}
