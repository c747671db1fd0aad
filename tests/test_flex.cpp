// LRP-Flex (lrp/flex.h): the modified gradient equals LRP-epsilon with the equivalent composite; the pass's
// adjoint plus the ordinary backward is the gradient of a loss on heatmap and logits (directional finite
// differences, eval mode and train mode without BN); with plain ReLUs (RRR) the pass is the input gradient; train
// mode holds BN's batch statistics constant in the pass; pending ReLU gradients are consumed once; CPU and CUDA agree.
#include <limits>
#include <map>

#include "grad_check.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/lrp/flex.h"
#include "lrp/lrp/rules.h"
#include "lrp/lrp/target.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/residual.h"
#include "lrp/nn/sequential.h"
#include "lrp/ops/elementwise.h"
#include "flex_test_util.h"
#include "lrp_test_util.h"

using namespace lrp;
using namespace lrp::nn;
using lrp::explain::FlexOptions;
using lrp::explain::FlexPass;
using lrp::test::dot;
using lrp::test::rand_tensor;
using lrp::test::randomize;
using lrp::test::small_resnet;
using lrp::test::small_vgg;

namespace {

// L = <r1, logits> + <r2, G * x>, G the LRP-Flex gradient of the seed (one-hot of `labels`).
struct FlexLoss {
    Module& model;
    Tensor x, r1, r2, labels;
    FlexPass pass;

    Tensor seed(const Tensor& logits) const {
        return explain::initial_relevance(logits, explain::Target::label(labels));
    }
    double value() {
        Tensor logits = model.forward(x);
        Tensor g = pass.gradient(model, seed(logits));
        return dot(r1, logits) + dot(r2, ops::mul(g, x));
    }
    // Fills Param::grad with dL/dtheta: the adjoint of the pass, then the ordinary backward.
    void gradients() {
        Tensor logits = model.forward(x);
        Tensor g = pass.gradient(model, seed(logits));
        model.zero_grad();
        pass.adjoint(model, ops::mul(r2, x));
        model.backward(r1, true);
    }
};

FlexLoss make_loss(Module& model, const Shape& xs, int classes, uint32_t seed, Device d = Device::cpu()) {
    Tensor x = rand_tensor(xs, seed, -1.f, 1.f, d);
    Tensor logits = model.forward(x);
    std::vector<int32_t> lab;
    for (int64_t i = 0; i < xs[0]; ++i) lab.push_back(static_cast<int32_t>((i * 2 + 1) % classes));
    return FlexLoss{model, x, rand_tensor(logits.shape(), seed + 1, -1.f, 1.f, d), rand_tensor(xs, seed + 2, -1.f, 1.f, d),
                    Tensor::from_vector(lab, Shape{xs[0]}, d), FlexPass(FlexOptions{0.05f})};
}

struct Doubler : Module {
    const char* type() const override { return "Doubler"; }
    Tensor forward(const Tensor& x) override { return ops::scale(x, 2.f); }
    Tensor backward(const Tensor& dy, bool) override { return ops::scale(dy, 2.f); }
};
struct NoAdjoint : RelevanceAdjoint {
    Tensor apply(Module&, const Tensor& h) override { return h; }
};

::testing::AssertionResult check_gradient(Module& model, FlexLoss& L, double rel_tol) {
    L.gradients();
    std::vector<test::GradVar> vars;
    for (auto& [n, p] : model.named_params()) vars.emplace_back(n, p->value, p->grad);
    return test::directional_check(vars, [&] { return L.value(); }, model.type(), 1e-3, rel_tol, 7, 8, 1e-4);
}

}  // namespace

TEST(FlexCpu, GradientOfHeatmapLossResNetEvalMode) {
    auto m = small_resnet();
    randomize(*m, 3);
    m->eval();
    FlexLoss L = make_loss(*m, Shape{3, 2, 8, 8}, 5, 40);
    EXPECT_TRUE(check_gradient(*m, L, 2e-2));
}

TEST(FlexCpu, GradientOfHeatmapLossWithoutBnInTrainMode) {
    auto m = small_vgg();
    randomize(*m, 5);
    m->train();
    FlexLoss L = make_loss(*m, Shape{2, 2, 8, 8}, 3, 50);
    EXPECT_TRUE(check_gradient(*m, L, 2e-2));
}

// The heatmap term alone (r1 = 0) must move the parameters: the check above could otherwise pass on the
// ordinary backward alone.
TEST(FlexCpu, HeatmapTermAloneIsCheckedAndNonZero) {
    auto m = small_resnet();
    randomize(*m, 8);
    m->eval();
    FlexLoss L = make_loss(*m, Shape{2, 2, 8, 8}, 5, 60);
    ops::fill(L.r1, 0.f);
    EXPECT_TRUE(check_gradient(*m, L, 2e-2));
    double norm = 0;
    for (auto& [n, p] : m->named_params()) norm += dot(p->grad, p->grad);
    EXPECT_GT(norm, 1e-6);
}

// plain_relu (RRR): the pass is the model's ordinary input gradient (eval mode), and its adjoint plus the backward
// is the gradient of a loss on that gradient.
TEST(FlexCpu, PlainReluIsTheInputGradientAndItsAdjointIsExact) {
    auto m = small_resnet();
    randomize(*m, 31);
    m->eval();
    FlexLoss L = make_loss(*m, Shape{3, 2, 8, 8}, 5, 80);
    L.pass = FlexPass(FlexOptions{0.f, true});
    const Tensor logits = m->forward(L.x);
    const Tensor g = L.pass.gradient(*m, L.seed(logits));
    m->forward(L.x);
    const Tensor want = m->backward(L.seed(logits), false);
    EXPECT_LT(test::rel_l2(g, want), 1e-6);
    EXPECT_TRUE(check_gradient(*m, L, 2e-2));
    // The epsilon-modified pass differs (the comparison above is sensitive to the ReLU rule).
    FlexPass eps(FlexOptions{0.5f});
    m->forward(L.x);
    EXPECT_GT(test::rel_l2(eps.gradient(*m, L.seed(logits)), want), 1e-2);
}

// G * x equals LRP-epsilon with the equivalent composite: epsilon (the same) on every layer feeding a ReLU,
// LRP-0 on the output layer and on the layers feeding a residual sum, the sum split with stabiliser epsilon
// (the ReLU after it), Pass on ReLU, BN folded exactly, gradient routing on max-pool, Norm on the average
// pool; initial relevance logit x one-hot. (isnet-edda.md A.7: checked to float precision.)
TEST(FlexCpu, ModifiedGradientTimesInputIsLrpEpsilon) {
    const float eps = 0.05f;
    auto m = small_resnet();
    randomize(*m, 11);
    m->eval();
    Tensor x = rand_tensor(Shape{3, 2, 8, 8}, 12);
    Tensor labels = Tensor::from_vector(std::vector<int32_t>{1, 4, 0}, Shape{3});
    Tensor logits = m->forward(x);
    FlexPass pass(FlexOptions{eps});
    Tensor flex = ops::mul(pass.gradient(*m, explain::initial_relevance(logits, explain::Target::label(labels))), x);

    explain::Composite c = test::flex_equivalent_composite(eps);
    Tensor lrp = explain::attribute(*m, x, explain::Target::label(labels).scaled_by_logit(), c);
    EXPECT_LT(test::rel_l2(flex, lrp), 1e-4);
    // With the flex epsilon changed, the maps must differ (the comparison is sensitive to it).
    FlexPass other(FlexOptions{0.5f});
    m->forward(x);
    Tensor flex2 = ops::mul(other.gradient(*m, explain::initial_relevance(logits, explain::Target::label(labels))), x);
    EXPECT_GT(test::rel_l2(flex2, lrp), 1e-2);
}

// In train mode the pass uses the batch statistics as constants: it equals the eval-mode pass of a model
// whose running statistics are those batch statistics (G and the adjoint's parameter gradients).
TEST(FlexCpu, TrainModeHoldsBatchStatisticsConstant) {
    auto m = small_resnet();
    randomize(*m, 21);
    std::vector<BatchNorm2d*> bns;
    for (Module* l : m->leaves())
        if (auto* bn = dynamic_cast<BatchNorm2d*>(l)) bn->momentum = 1.f, bns.push_back(bn);
    m->train();
    FlexLoss L = make_loss(*m, Shape{3, 2, 8, 8}, 5, 70);
    Tensor logits_train = m->forward(L.x);
    Tensor g_train = L.pass.gradient(*m, L.seed(logits_train));
    m->zero_grad();
    L.pass.adjoint(*m, ops::mul(L.r2, L.x));
    std::map<std::string, std::vector<float>> grads_train;
    for (auto& [n, p] : m->named_params())
        if (p->grad.defined()) grads_train[n] = p->grad.to_vector<float>();
    EXPECT_GT(grads_train.size(), 10u);
    // Running variance after momentum 1 is the unbiased batch variance; the forward normalised with the
    // biased one.
    for (BatchNorm2d* bn : bns) {
        const Shape& s = bn->saved_input().shape();
        const double n = double(s[0]) * s[2] * s[3];
        bn->running_var.copy_from(ops::scale(bn->running_var, static_cast<float>((n - 1) / n)));
    }
    m->eval();
    Tensor logits_eval = m->forward(L.x);
    EXPECT_LT(test::rel_l2(logits_eval, logits_train), 1e-5);
    Tensor g_eval = L.pass.gradient(*m, L.seed(logits_eval));
    EXPECT_LT(test::rel_l2(g_eval, g_train), 1e-5);
    for (auto& [n, p] : m->named_params())  // the train-mode values stay in the storage the adjoint writes into
        if (p->grad.defined()) ops::fill(p->grad, std::numeric_limits<float>::quiet_NaN());
    m->zero_grad();
    L.pass.adjoint(*m, ops::mul(L.r2, L.x));
    for (auto& [n, p] : m->named_params()) {
        ASSERT_EQ(p->grad.defined(), grads_train.count(n) == 1) << n;
        if (p->grad.defined()) {
            EXPECT_LT(test::rel_l2(p->grad.to_vector<float>(), grads_train[n]), 1e-4) << n;
        }
    }
}

TEST(FlexCpu, PendingReluGradientIsConsumedOnceAndDroppedByForward) {
    ReLU r;
    Tensor x = rand_tensor(Shape{2, 3}, 1);
    r.forward(x);
    Tensor extra = rand_tensor(Shape{2, 3}, 2), dy = rand_tensor(Shape{2, 3}, 3);
    r.add_output_grad(extra);
    EXPECT_TRUE(r.has_output_grad());
    Tensor with = r.backward(dy), plain = r.backward(dy);
    EXPECT_FALSE(r.has_output_grad());
    Tensor want = Tensor::empty(Shape{2, 3});
    ops::relu_bwd(x, ops::add(dy, extra), want);
    EXPECT_EQ(with.to_vector<float>(), want.to_vector<float>());
    Tensor want_plain = Tensor::empty(Shape{2, 3});
    ops::relu_bwd(x, dy, want_plain);
    EXPECT_EQ(plain.to_vector<float>(), want_plain.to_vector<float>());
    r.add_output_grad(extra);
    r.forward(x);
    EXPECT_FALSE(r.has_output_grad());
    test::expect_error([&] { r.add_output_grad(rand_tensor(Shape{3, 2}, 4)); }, {"output gradient [3, 2]"});
}

TEST(FlexCpu, Errors) {
    auto m = small_resnet();
    randomize(*m, 1);
    m->eval();
    Tensor x = rand_tensor(Shape{2, 2, 8, 8}, 2);
    Tensor logits = m->forward(x);
    FlexPass pass;
    test::expect_error([&] { pass.adjoint(*m, x); }, {"adjoint() without a preceding gradient()"});
    Tensor G = pass.gradient(*m, explain::initial_relevance(logits, explain::Target::prediction()));
    test::expect_error([&] { pass.adjoint(*m, rand_tensor(Shape{2, 2, 8, 7}, 3)); },
                       {"adjoint() of [2, 2, 8, 7] for a gradient of [2, 2, 8, 8]"});
    test::expect_error([&] { pass.adjoint(*m, G); }, {"without a preceding gradient()"});  // the failed call released it
    // After an attribution (BN-folded forward) without a plain forward, the pass refuses by layer name.
    explain::Composite eps = explain::make_composite("epsilon_plus");
    explain::attribute(*m, x, explain::Target::prediction(), eps);
    test::expect_error([&] { pass.gradient(*m, logits); }, {"'block2.bn2': the last forward was folded"});
    m->forward(x);
    FlexPass bad(FlexOptions{0.f});
    test::expect_error([&] { bad.gradient(*m, logits); }, {"epsilon must be positive"});
    // A leaf without a modified gradient is refused by type and name.
    Sequential s;
    s.emplace<Conv2d>("0", 2, 2, 3, 1, 1, false);
    s.emplace<Doubler>("twice");
    Tensor y = s.forward(x);
    test::expect_error([&] { pass.gradient(s, y); }, {"no modified gradient for Doubler 'twice'"});
    // A pass that split a residual sum has no adjoint.
    explain::Composite c("split");
    c.set_residual(explain::ResidualMode::NormSplit);
    explain::attribute(*m, x, explain::Target::prediction(), c);
    NoAdjoint none;
    test::expect_error([&] { m->relevance_adjoint(x, none); }, {"adjoint of the split residual rule is not implemented"});
}

// CPU and CUDA: the same G and the same gradients (pass adjoint + backward).
TEST(FlexCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    auto cpu = small_resnet(), gpu = small_resnet();
    randomize(*cpu, 31);
    randomize(*gpu, 31);
    gpu->to(dev);
    cpu->eval(), gpu->eval();
    FlexLoss a = make_loss(*cpu, Shape{3, 2, 9, 7}, 5, 80);
    FlexLoss b = make_loss(*gpu, Shape{3, 2, 9, 7}, 5, 80, dev);
    Tensor ga = a.pass.gradient(*cpu, a.seed(cpu->forward(a.x)));
    Tensor gb = b.pass.gradient(*gpu, b.seed(gpu->forward(b.x)));
    EXPECT_LT(test::rel_l2(gb, ga), 1e-5);
    a.gradients();
    b.gradients();
    auto pa = cpu->named_params(), pb = gpu->named_params();
    for (size_t i = 0; i < pa.size(); ++i)
        EXPECT_LT(test::rel_l2(pb[i].second->grad, pa[i].second->grad), 1e-4) << pa[i].first;
}
