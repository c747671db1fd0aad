// Attribution end to end: BN folding (folded forward = conv + eval BN, bias-free convs, the zennit 0.5.1
// residue, the folded attribution forward and its kept outputs, weights followed), LRP-0 == gradient x input on a ReLU network with BN, max-pool, a residual
// block and average pooling; residual norm_split conserves and copy doubles; initial relevance targets,
// linearity in the seed and batch independence; CPU and CUDA.
#include <cmath>

#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/lrp/rule_math.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/residual.h"
#include "lrp/ops/elementwise.h"
#include "lrp_test_util.h"

using namespace lrp;
using namespace lrp::explain;

namespace {
void randomize(nn::Module& m, uint32_t seed) {
    for (auto& [n, p] : m.named_params()) {
        const bool bn_weight = n.find("bn") != std::string::npos && n.find("weight") != std::string::npos;
        p->value.copy_from(test::rand_tensor(p->value.shape(), seed++, bn_weight ? 0.5f : -0.5f, bn_weight ? 1.5f : 0.5f));
    }
    for (auto& [n, b] : m.named_buffers()) {
        if (n.find("running_mean") != std::string::npos) b->copy_from(test::rand_tensor(b->shape(), seed++, -0.3f, 0.3f));
        if (n.find("running_var") != std::string::npos) b->copy_from(test::rand_tensor(b->shape(), seed++, 0.5f, 2.f));
    }
}

// conv(bias)-bn-relu-maxpool, a BasicBlock with a projection, conv(bias)-relu, avgpool, flatten, linear.
std::unique_ptr<nn::Sequential> relu_net() {
    auto m = std::make_unique<nn::Sequential>();
    m->emplace<nn::Conv2d>("conv1", 3, 4, 3, 1, 1, true);
    m->emplace<nn::BatchNorm2d>("bn1", 4);
    m->emplace<nn::ReLU>("relu1");
    m->emplace<nn::MaxPool2d>("pool", 2);
    m->emplace<nn::BasicBlock>("block", 4, 6, 2);
    m->emplace<nn::Conv2d>("conv2", 6, 5, 3, 1, 1, true);
    m->emplace<nn::ReLU>("relu2");
    m->emplace<nn::AvgPool2d>("avg", 2);
    m->emplace<nn::Flatten>("flatten");
    m->emplace<nn::Linear>("fc", 5, 4);
    randomize(*m, 40);
    return m;
}

Tensor labels(std::vector<int32_t> v, Device d = Device::cpu()) {
    return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, d);
}
}  // namespace

TEST(LrpCpuCanonizer, FoldedForwardEqualsConvPlusEvalBn) {
    for (bool bias : {true, false}) {
        nn::Sequential m;
        auto& conv = m.emplace<nn::Conv2d>("conv", 3, 4, 3, 2, 1, bias);
        auto& bn = m.emplace<nn::BatchNorm2d>("bn", 4);
        randomize(m, 1);
        m.eval();
        Tensor x = test::rand_tensor({2, 3, 7, 7}, 2);
        Tensor y = m.forward(x);
        AffineParams p = fold_batchnorm(conv, bn);
        EXPECT_LE(test::rel_l2(conv.forward_with(x, p.weight, p.bias), y), 1e-6) << bias;
        if (!bias) {  // b' = -mean * scale + beta
            std::vector<float> g = bn.weight.value.to_vector<float>(), be = bn.bias.value.to_vector<float>(),
                               mu = bn.running_mean.to_vector<float>(), var = bn.running_var.to_vector<float>(),
                               b = p.bias.to_vector<float>();
            for (int c = 0; c < 4; ++c)
                EXPECT_NEAR(b[c], -mu[c] * g[c] / std::sqrt(var[c] + 1e-5) + be[c], 1e-6);
        }
    }
}

TEST(LrpCpuCanonizer, Zennit051ResidueAndWeightsFollowed) {
    nn::Sequential m;
    auto& conv = m.emplace<nn::Conv2d>("conv", 3, 4, 3, 1, 1, true);
    auto& bn = m.emplace<nn::BatchNorm2d>("bn", 4);
    m.emplace<nn::Flatten>("flatten");
    m.emplace<nn::Linear>("fc", 4 * 25, 3, false);
    randomize(m, 5);
    m.eval();
    Tensor x = test::rand_tensor({2, 3, 5, 5}, 6);
    Tensor bn_out = bn.forward(conv.forward(x));
    const AffineParams p0 = fold_batchnorm(conv, bn);
    for (BnFold mode : {BnFold::Exact, BnFold::Zennit051}) {
        ScopedAttributionForward folded(m, {{&conv, &bn, p0}}, mode);
        Tensor out = bn.forward(conv.forward(x));
        const double f = mode == BnFold::Zennit051 ? 1.0 / std::sqrt(1.0 + 1e-5) : 1.0;
        EXPECT_LE(test::rel_l2(out, ops::scale(bn_out, static_cast<float>(f))), 1e-6) << bn_fold_name(mode);
        // the conv ran with (W', b') and kept that output, which is exactly a recomputation
        Tensor z = conv.saved_output_for(p0.weight, p0.bias);
        ASSERT_TRUE(z.defined());
        EXPECT_EQ(z.to_vector<float>(), conv.forward_with(x, p0.weight, p0.bias).to_vector<float>());
        EXPECT_FALSE(conv.saved_output_for(conv.weight.value, conv.bias.value).defined()) << "not the raw weights";
        EXPECT_FALSE(conv.saved_output_for(p0.weight, Tensor()).defined()) << "not without bias";
    }
    EXPECT_FALSE(bn.folded_scale.has_value());
    EXPECT_FALSE(conv.forward_override.has_value());
    EXPECT_FALSE(conv.keep_output);
    EXPECT_FALSE(conv.saved_output_for(p0.weight, p0.bias).defined()) << "kept output released";
    EXPECT_EQ(bn.forward(conv.forward(x)).to_vector<float>(), bn_out.to_vector<float>());
    // The logits of a 0.5.1 attribution differ from the exact ones by the residue (fc has no bias here).
    Composite z = make_composite("epsilon_plus");
    Tensor lz, le;
    attribute(m, x, Target::prediction(), z, &lz);
    CompositeOptions o;
    o.bn_fold = BnFold::Exact;
    Composite e = make_composite("epsilon_plus", o);
    Tensor r1 = attribute(m, x, Target::class_index(1), e, &le);
    // 1e-6: a few fp32 roundings (the CPU GEMM's summation order varies with the BLAS), 5x below the residue
    // (about 5e-6) that a missing factor would leave.
    EXPECT_LE(test::rel_l2(lz, ops::scale(le, static_cast<float>(1.0 / std::sqrt(1.0 + 1e-5)))), 1e-6);
    EXPECT_GT(test::rel_l2(lz, le), 3e-6);  // and the residue is there
    // the folded parameters follow the weights: change bn, attribute again
    bn.weight.value.copy_from(test::rand_tensor({4}, 9, 0.5f, 1.5f));
    Tensor r2 = attribute(m, x, Target::class_index(1), e);
    EXPECT_GT(test::rel_l2(r2, r1), 1e-3);
    AffineParams p = fold_batchnorm(conv, bn);
    EXPECT_LE(test::rel_l2(conv.forward_with(x, p.weight, p.bias), bn.forward(conv.forward(x))), 1e-6);
}

namespace {
// LRP-0 with the seed f_t e_t equals x * df_t/dx for a ReLU network (lrp-rules.md §11.2.6).
void check_lrp0(Device d) {
    auto m = relu_net();
    m->to(d);
    m->eval();
    Tensor x = test::rand_tensor({3, 3, 8, 8}, 50, -1.f, 1.f, d);
    Composite c("lrp0");
    c.add(LayerType::Activation, std::make_shared<Pass>());
    c.add(LayerType::AvgPool, std::make_shared<Norm>(1e-9f));
    c.add(LayerType::BatchNorm, std::make_shared<Pass>());
    c.add(LayerType::AnyLinear, std::make_shared<Epsilon>(1e-9f));
    c.set_residual(ResidualMode::NormSplit, 1e-9f);
    c.set_bn_fold(BnFold::Exact);
    Target t = Target::label(labels({0, 3, 1}, d)).scaled_by_logit();
    Tensor logits;
    Tensor r = attribute(*m, x, t, c, &logits);
    // gradient x input of the selected logits
    Tensor seed = initial_relevance(logits, Target::label(labels({0, 3, 1}, d)));
    m->forward(x);
    Tensor grad = m->backward(seed, false);
    Tensor gxi = ops::mul(x, grad);
    EXPECT_LE(test::rel_l2(r, gxi), 1e-5) << d.str();
    // with copy residuals the identity fails, as designed
    c.set_residual(ResidualMode::Copy);
    EXPECT_GT(test::rel_l2(attribute(*m, x, t, c), gxi), 1e-2);
}

void check_residual_modes(Device d) {
    nn::Sequential m;
    m.emplace<nn::BasicBlock>("block", 4, 4, 1);
    randomize(m, 60);
    m.to(d);
    m.eval();
    Tensor x = test::rand_tensor({2, 4, 6, 6}, 61, 0.f, 1.f, d);
    Composite c("conserving");
    c.add(LayerType::Activation, std::make_shared<Pass>());
    c.add(LayerType::BatchNorm, std::make_shared<Pass>());
    c.add(LayerType::Convolution, std::make_shared<ZPlus>());
    c.set_bn_fold(BnFold::None);
    c.bind(m);
    m.forward(x);
    Tensor r = test::rand_tensor({2, 4, 6, 6}, 62, 0.1f, 1.f, d);
    const double total = math::host_sum(r);
    EXPECT_NEAR(math::host_sum(m.relevance(r, c)), total, 1e-4 * total) << "norm_split conserves";
    c.set_residual(ResidualMode::Copy);
    EXPECT_NEAR(math::host_sum(m.relevance(r, c)), 2 * total, 2e-4 * total) << "copy doubles";
}

void check_targets(Device d) {
    Tensor logits = Tensor::from_vector(std::vector<float>{1.f, 5.f, 5.f, -2.f, 0.f, 0.f, -3.f, 0.5f}, {2, 4}, d);
    auto rows = [&](const Target& t) { return initial_relevance(logits, t).to_vector<float>(); };
    EXPECT_EQ(rows(Target::prediction()), (std::vector<float>{0, 1, 0, 0, 0, 0, 0, 1}));  // ties: first maximum
    EXPECT_EQ(rows(Target::prediction().scaled_by_logit()), (std::vector<float>{0, 5, 0, 0, 0, 0, 0, 0.5f}));
    EXPECT_EQ(rows(Target::label(labels({3, 2}, d))), (std::vector<float>{0, 0, 0, 1, 0, 0, 1, 0}));
    EXPECT_EQ(rows(Target::label(labels({3, 2})).scaled_by_logit()), (std::vector<float>{0, 0, 0, -2, 0, 0, -3, 0}));
    EXPECT_EQ(rows(Target::class_index(0)), (std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0}));
    EXPECT_EQ(rows(Target::output()), logits.to_vector<float>());
    EXPECT_EQ(initial_relevance(logits, Target::prediction()).device(), d);
}
}  // namespace

TEST(LrpCpuAttribution, Lrp0EqualsGradientTimesInput) { check_lrp0(Device::cpu()); }
TEST(LrpCpuAttribution, ResidualNormSplitConservesCopyDoubles) { check_residual_modes(Device::cpu()); }
TEST(LrpCpuAttribution, InitialRelevanceTargets) {
    check_targets(Device::cpu());
    Tensor logits = Tensor::zeros({2, 4});
    EXPECT_THROW(initial_relevance(logits, Target::class_index(4)), Error);
    EXPECT_THROW(initial_relevance(logits, Target::label(labels({0, 9}))), Error);
    EXPECT_THROW(initial_relevance(logits, Target::label(labels({0}))), Error);
    // int64 labels are range-checked before narrowing (2^32 + 3 must not become class 3).
    const Tensor wide = Tensor::from_vector(std::vector<int64_t>{(int64_t{1} << 32) + 3, 1}, {2});
    EXPECT_THROW(initial_relevance(logits, Target::label(wide)), Error);
    const Tensor fine = Tensor::from_vector(std::vector<int64_t>{3, 1}, {2});
    EXPECT_EQ(initial_relevance(logits, Target::label(fine)).to_vector<float>(),
              initial_relevance(logits, Target::label(labels({3, 1}))).to_vector<float>());
    EXPECT_EQ(Target::parse("pred*logit").str(), "pred*logit");
    EXPECT_EQ(Target::parse("7").cls, 7);
    EXPECT_EQ(Target::parse("label", labels({1, 2})).kind, Target::Kind::Label);
    EXPECT_THROW(Target::parse("label"), Error);
    EXPECT_THROW(Target::parse("seven"), Error);
    for (const char* bad : {"+3", " 3", "3 ", "-1", "labelx"})
        test::expect_error([&] { Target::parse(bad, labels({1, 2})); }, {"unknown target '" + std::string(bad) + "'"});
    test::expect_error([] { Target::parse("99999999999"); }, {"target class 99999999999 is too large for a class index"});
    test::expect_error([] { Target::parse("output*logit"); }, {"output already starts from the logits"});
    // int64 host labels are accepted
    Tensor l64 = Tensor::from_vector(std::vector<int64_t>{2, 1}, {2});
    EXPECT_EQ(initial_relevance(logits, Target::label(l64)).to_vector<float>(), (std::vector<float>{0, 0, 1, 0, 0, 1, 0, 0}));
    // A fixed class's indices are built once per batch size and device and shared by copies; they follow cls.
    Target t = Target::class_index(3);
    const int32_t* first = t.class_indices(2, Device::cpu()).data<int32_t>();
    EXPECT_EQ(t.class_indices(2, Device::cpu()).data<int32_t>(), first) << "not cached";
    Target copy = t;
    EXPECT_EQ(copy.class_indices(2, Device::cpu()).data<int32_t>(), first) << "a copy does not share the cache";
    EXPECT_EQ(t.class_indices(5, Device::cpu()).to_vector<int32_t>(), (std::vector<int32_t>(5, 3)));
    copy.cls = 1;
    EXPECT_EQ(copy.class_indices(5, Device::cpu()).to_vector<int32_t>(), (std::vector<int32_t>(5, 1)));
    EXPECT_EQ(initial_relevance(logits, t).to_vector<float>(), (std::vector<float>{0, 0, 0, 1, 0, 0, 0, 1}));
}

TEST(LrpCpuAttribution, LinearInTheSeedAndBatchIndependent) {
    auto m = relu_net();
    Tensor x = test::rand_tensor({3, 3, 8, 8}, 70);
    Composite c = make_composite("epsilon_gamma_box", [] {
        CompositeOptions o;
        o.low = -1.f;
        o.high = 1.f;
        return o;
    }());
    Tensor logits;
    Tensor r1 = attribute(*m, x, Target::class_index(2), c, &logits);
    Tensor rl = attribute(*m, x, Target::class_index(2).scaled_by_logit(), c);
    std::vector<float> lg = logits.to_vector<float>(), a = r1.to_vector<float>(), b = rl.to_vector<float>();
    const size_t per = a.size() / 3;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], lg[(i / per) * 4 + 2] * a[i], 1e-5 * (1 + std::fabs(b[i])));
    // sample 1 alone gives the same map as inside the batch
    Tensor r_one = attribute(*m, x.slice(1, 2).clone(), Target::class_index(2), c);
    std::vector<float> one = r_one.to_vector<float>();
    std::vector<float> inside(a.begin() + per, a.begin() + 2 * per);
    // 1e-5: the CPU GEMM may block a batch of 1 differently from a batch of 3 (float rounding only);
    // any mixing between samples would be O(1).
    EXPECT_LE(test::rel_l2(one, inside), 1e-5);
}

TEST(LrpCudaAttribution, Lrp0ResidualTargetsAndCompositesMatchCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    check_lrp0(dev);
    check_residual_modes(dev);
    check_targets(dev);
    auto m = relu_net();
    Tensor x = test::rand_tensor({2, 3, 8, 8}, 80);
    CompositeOptions o;
    o.low = -1.f;
    o.high = 1.f;
    for (const std::string& name : known_composites()) {
        Composite c = make_composite(name, o);
        Tensor cpu = attribute(*m, x, Target::prediction(), c);
        m->to(dev);
        Tensor gpu = attribute(*m, x.to(dev), Target::prediction(), c);
        m->to(Device::cpu());
        EXPECT_EQ(gpu.device(), dev);
        EXPECT_LE(test::rel_l2(gpu.to(Device::cpu()), cpu), 1e-4) << name;
    }
}
