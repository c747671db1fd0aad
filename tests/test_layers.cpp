// nn layers on the CPU: finite-difference gradient checks for every layer in train and eval mode,
// shapes, parameter names, and clear errors for wrong input shapes.
#include "grad_check.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/residual.h"
#include "lrp/nn/sequential.h"
#include "lrp/ops/elementwise.h"

using namespace lrp;
using namespace lrp::nn;

namespace {
Tensor rand_tensor(const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
    return Tensor::from_vector(test::random_vec(static_cast<size_t>(s.numel()), seed, lo, hi), s);
}
void init_params(Module& m, uint32_t seed) {
    for (auto& [n, p] : m.named_params())
        p->value.copy_from(rand_tensor(p->value.shape(), seed++, -0.5f, 0.5f));
}
}  // namespace

TEST(LayersCpu, Conv2dGradients) {
    for (int stride : {1, 2}) {
        Conv2d c(3, 4, 3, stride, 1, true);
        init_params(c, 10);
        EXPECT_TRUE(test::grad_check(c, rand_tensor({2, 3, 7, 6}, 11)));
    }
    Conv2d grouped(4, 6, 3, 1, 2, false, 2, 2);  // dilation 2, groups 2
    init_params(grouped, 12);
    EXPECT_TRUE(test::grad_check(grouped, rand_tensor({2, 4, 8, 8}, 13)));
}

TEST(LayersCpu, LinearGradients) {
    Linear l(7, 5);
    init_params(l, 20);
    EXPECT_TRUE(test::grad_check(l, rand_tensor({3, 7}, 21)));
    Linear nb(4, 3, false);
    init_params(nb, 22);
    EXPECT_TRUE(test::grad_check(nb, rand_tensor({2, 4}, 23)));
}

TEST(LayersCpu, BatchNormGradientsTrainAndEval) {
    BatchNorm2d bn(3);
    init_params(bn, 30);
    bn.train(true);
    EXPECT_TRUE(test::grad_check(bn, rand_tensor({4, 3, 5, 5}, 31)));
    bn.running_mean.copy_from(rand_tensor({3}, 32));
    bn.running_var.copy_from(rand_tensor({3}, 33, 0.5f, 2.f));
    bn.eval();
    EXPECT_TRUE(test::grad_check(bn, rand_tensor({4, 3, 5, 5}, 34)));
}

TEST(LayersCpu, BatchNormTracksBatchesOnTheHost) {
    BatchNorm2d bn(2);
    bn.forward(rand_tensor({3, 2, 4, 4}, 35));
    bn.forward(rand_tensor({3, 2, 4, 4}, 36));
    EXPECT_EQ(bn.num_batches_tracked.to_vector<int64_t>()[0], 2);
    bn.eval();
    bn.forward(rand_tensor({3, 2, 4, 4}, 37));
    EXPECT_EQ(bn.num_batches_tracked.to_vector<int64_t>()[0], 2);
}

TEST(LayersCpu, ReluPoolFlattenGradients) {
    test::GradCheckOptions o;
    o.h = 1e-3;  // kinks: keep the step below typical gaps between values
    ReLU r;
    EXPECT_TRUE(test::grad_check(r, rand_tensor({2, 3, 4, 5}, 40), o));
    MaxPool2d mp(3, 2, 1);
    EXPECT_TRUE(test::grad_check(mp, rand_tensor({2, 2, 7, 7}, 41), o));
    AvgPool2d ap(3, 2, 1, true, false);
    EXPECT_TRUE(test::grad_check(ap, rand_tensor({2, 2, 7, 7}, 42)));
    AdaptiveAvgPool2d gap(1, 1);
    EXPECT_TRUE(test::grad_check(gap, rand_tensor({2, 3, 5, 5}, 43)));
    AdaptiveAvgPool2d ap2(2, 2);
    EXPECT_TRUE(test::grad_check(ap2, rand_tensor({2, 3, 6, 4}, 44)));
    Flatten f;
    EXPECT_TRUE(test::grad_check(f, rand_tensor({2, 3, 2, 2}, 45)));
}

TEST(LayersCpu, DropoutTrainMasksAndScalesEvalIsIdentity) {
    Dropout d(0.25f);
    Tensor x = ops::full({4000}, 1.f);
    Tensor y = d.forward(x);
    int zeros = 0;
    for (float v : y.to_vector<float>()) {
        ASSERT_TRUE(v == 0.f || std::fabs(v - 1.f / 0.75f) < 1e-6f) << v;
        zeros += v == 0.f;
    }
    EXPECT_NEAR(zeros / 4000.0, 0.25, 0.03);
    Tensor dx = d.backward(ops::full({4000}, 2.f));
    std::vector<float> yv = y.to_vector<float>(), dxv = dx.to_vector<float>();
    for (size_t i = 0; i < yv.size(); ++i) ASSERT_FLOAT_EQ(dxv[i], 2.f * yv[i]);
    d.eval();
    EXPECT_EQ(d.forward(x).to_vector<float>(), x.to_vector<float>());
    EXPECT_THROW(Dropout(1.f), Error);
}

// Two Dropout layers of one model never share masks (each layer's own stream is seeded by its name, the
// same in every process); set_dropout_generator() puts them all on one stream, as the trainer does.
TEST(LayersCpu, DropoutLayersDrawDistinctReproducibleMasks) {
    auto model = [] {
        auto m = std::make_unique<Sequential>();
        m->emplace<Dropout>("a", 0.5f);
        m->emplace<Dropout>("b", 0.5f);
        return m;
    };
    auto masks = [](Sequential& m) {
        std::vector<std::vector<float>> out;
        for (Module* l : m.leaves()) out.push_back(l->forward(ops::full({256}, 1.f)).to_vector<float>());
        return out;
    };
    auto m1 = model(), m2 = model();
    const auto a = masks(*m1), b = masks(*m2);
    EXPECT_NE(a[0], a[1]) << "two layers drew the same mask";
    EXPECT_EQ(a, b) << "the same model built again draws other masks";
    Generator g(7), h(7);
    EXPECT_EQ(set_dropout_generator(*m1, &g), 2);
    set_dropout_generator(*m2, &h);
    const auto c = masks(*m1);
    EXPECT_NE(c[0], c[1]);
    EXPECT_NE(c[0], a[0]);
    EXPECT_GT(g.offset(), 0u) << "the layers drew from the shared stream";
    EXPECT_EQ(masks(*m2), c);
    EXPECT_EQ(g.offset(), h.offset());
    set_dropout_generator(*m1, nullptr);  // back to the layers' own streams, which continue where they were
    EXPECT_NE(masks(*m1), a);
}

// The directional check can fail: a conv whose backward misreports one gradient (weight off by 10%, the
// input gradient off by 10%, or a bias gradient of 0.05 where the true one is exactly 0 because a
// train-mode BatchNorm follows) is caught, while the honest network passes.
struct MisreportingConv : Conv2d {
    enum class Fault { None, Weight, Input, Bias } fault;
    MisreportingConv(Fault f) : Conv2d(3, 4, 3, 1, 1, true), fault(f) {}
    Tensor backward(const Tensor& dy, bool acc) override {
        Tensor dx = Conv2d::backward(dy, acc);
        auto shift = [](Tensor& t, float mul, float add) {
            std::vector<float> v = t.to_vector<float>();
            for (float& e : v) e = e * mul + add;
            t.copy_from(Tensor::from_vector(v, t.shape(), t.device()));
        };
        if (fault == Fault::Weight) shift(named_params()[0].second->grad, 1.1f, 0.f);
        if (fault == Fault::Bias) shift(named_params()[1].second->grad, 1.f, 0.05f);
        if (fault == Fault::Input) shift(dx, 1.1f, 0.f);
        return dx;
    }
};

TEST(LayersCpu, DirectionalGradCheckCatchesWrongGradients) {
    using F = MisreportingConv::Fault;
    for (F f : {F::None, F::Weight, F::Input, F::Bias}) {
        Sequential net;
        net.add(std::make_unique<MisreportingConv>(f));
        net.add(std::make_unique<BatchNorm2d>(4));
        net.add(std::make_unique<ReLU>());
        init_params(net, 60);
        net.train(true);
        const auto r = test::directional_grad_check(net, rand_tensor({3, 3, 6, 6}, 61));
        if (f == F::None)
            EXPECT_TRUE(r);
        else
            EXPECT_FALSE(r) << "fault " << static_cast<int>(f) << " went unnoticed";
    }
}

TEST(LayersCpu, ResidualBlockGradientsAndNames) {
    BasicBlock b(3, 4, 2);
    init_params(b, 50);
    EXPECT_TRUE(test::directional_grad_check(b, rand_tensor({3, 3, 6, 6}, 51)));
    Bottleneck bt(4, 2, 1);  // 4 -> 8 channels: projection shortcut
    init_params(bt, 52);
    EXPECT_TRUE(test::directional_grad_check(bt, rand_tensor({3, 4, 5, 5}, 53)));
    std::vector<std::string> names;
    for (auto& [n, p] : b.named_params()) names.push_back(n);
    std::vector<std::string> expected{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                      "bn2.weight", "bn2.bias", "downsample.0.weight", "downsample.1.weight",
                                      "downsample.1.bias"};
    EXPECT_EQ(names, expected);
    BasicBlock same(4, 4, 1);
    EXPECT_FALSE(same.has_downsample());
}

TEST(LayersCpu, WrongInputShapesAreClearErrors) {
    Conv2d c(3, 4, 3);
    EXPECT_THROW(c.forward(rand_tensor({2, 5, 8, 8}, 60)), Error);
    Linear l(7, 5);
    EXPECT_THROW(l.forward(rand_tensor({3, 6}, 61)), Error);
    BatchNorm2d bn(3);
    EXPECT_THROW(bn.forward(rand_tensor({2, 4, 3, 3}, 62)), Error);
    EXPECT_THROW(c.backward(rand_tensor({2, 4, 6, 6}, 63)), Error);  // backward before forward
}

TEST(LayersCpu, StateDictRoundTripAndErrors) {
    BasicBlock a(3, 4, 2), b(3, 4, 2);
    init_params(a, 70);
    a.forward(rand_tensor({2, 3, 6, 6}, 71));  // moves running stats
    StateDict sd = a.state_dict();
    EXPECT_TRUE(sd.count("bn1.running_var") && sd.count("bn1.num_batches_tracked"));
    b.load_state_dict(sd);
    Tensor x = rand_tensor({2, 3, 6, 6}, 72);
    a.eval();
    b.eval();
    EXPECT_EQ(a.forward(x).to_vector<float>(), b.forward(x).to_vector<float>());
    // A state_dict without num_batches_tracked (PyTorch before 0.4.1, torchvision's ImageNet weights) loads,
    // as in PyTorch; the other names are still required.
    StateDict old = sd;
    old.erase("bn1.num_batches_tracked");
    old.erase("bn2.num_batches_tracked");
    BasicBlock c(3, 4, 2);
    c.load_state_dict(old);
    c.eval();
    EXPECT_EQ(a.forward(x).to_vector<float>(), c.forward(x).to_vector<float>());
    // The counter in other forms PyTorch loads too (a state_dict cast with .half() arrives as f32; shape [1]):
    // taken as its integer value.
    StateDict cast = sd;
    cast["bn1.num_batches_tracked"] = Tensor::from_vector(std::vector<float>{7.f}, {1});
    cast["bn2.num_batches_tracked"] = Tensor::from_vector(std::vector<int32_t>{9}, {});
    BasicBlock d(3, 4, 2);
    d.load_state_dict(cast);
    const StateDict back = d.state_dict();
    EXPECT_EQ(back.at("bn1.num_batches_tracked").to_vector<int64_t>(), std::vector<int64_t>{7});
    EXPECT_EQ(back.at("bn2.num_batches_tracked").to_vector<int64_t>(), std::vector<int64_t>{9});
    EXPECT_EQ(back.at("bn1.num_batches_tracked").shape(), sd.at("bn1.num_batches_tracked").shape());
    cast["bn1.num_batches_tracked"] = Tensor::from_vector(std::vector<float>{1.f, 2.f}, {2});  // no counter
    EXPECT_THROW(d.load_state_dict(cast), Error);
    StateDict bad = sd;
    bad.erase("conv1.weight");
    bad["conv2.weight"] = Tensor::zeros({1});
    bad["bn1.bias"] = Tensor::zeros({1}, DType::I64);  // shape and dtype both wrong: both said
    bad["extra"] = Tensor::zeros({1});
    bad[std::string("a\0b\x1b[2K", 7)] = Tensor::zeros({1});  // a name's control bytes, escaped
    try {
        b.load_state_dict(bad);
        FAIL();
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("missing: conv1.weight"), std::string::npos) << m;
        EXPECT_NE(m.find("wrong shape: conv2.weight"), std::string::npos) << m;
        EXPECT_NE(m.find("unexpected: extra"), std::string::npos) << m;
        EXPECT_NE(m.find("wrong shape: bn1.bias is [1], expected [4]"), std::string::npos) << m;
        EXPECT_NE(m.find("wrong dtype: bn1.bias is i64, expected f32"), std::string::npos) << m;
        EXPECT_NE(m.find("unexpected: a\\x00b\\x1B[2K [1]"), std::string::npos) << m;
    }
}
