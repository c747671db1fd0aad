// Model builders: torchvision parameter counts and state_dict keys, shapes through the network,
// deterministic init, end-to-end gradient checks of narrow ResNets (Basic and Bottleneck) and a VGG,
// and a few SGD steps on a tiny synthetic problem reducing the loss.
#include "grad_check.h"
#include "lrp/nn/models.h"
#include "lrp/ops/elementwise.h"
#include "lrp/train/step.h"

using namespace lrp;
using namespace lrp::nn;

namespace {
std::unique_ptr<Sequential> model(const std::string& arch, int classes, int in_ch = 3, int size = 32, int width = 64) {
    ModelSpec s;
    s.arch = arch;
    s.num_classes = classes;
    s.in_channels = in_ch;
    s.image_size = size;
    s.base_width = width;
    return make_model(s);
}
bool has_key(Module& m, const std::string& k) {
    for (auto& [n, p] : m.named_params())
        if (n == k) return true;
    for (auto& [n, b] : m.named_buffers())
        if (n == k) return true;
    return false;
}
}  // namespace

TEST(ModelsCpu, TorchvisionParameterCounts) {
    // Reference counts: torchvision.models.*(num_classes=1000) and the CIFAR ResNet-18 (10 classes).
    EXPECT_EQ(count_params(*model("resnet18_imagenet", 1000)), 11689512);
    EXPECT_EQ(count_params(*model("resnet34_imagenet", 1000)), 21797672);
    EXPECT_EQ(count_params(*model("resnet50_imagenet", 1000)), 25557032);
    EXPECT_EQ(count_params(*model("resnet18", 10)), 11173962);
    EXPECT_EQ(count_params(*model("vgg11_imagenet", 1000)), 132863336);
    EXPECT_EQ(count_params(*model("vgg16_bn_imagenet", 1000)), 138365992);
}

TEST(ModelsCpu, TorchvisionStateDictKeys) {
    auto r = model("resnet50_imagenet", 1000);
    for (const char* k : {"conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv3.weight",
                          "layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_var",
                          "layer4.2.bn3.bias", "fc.weight", "fc.bias"})
        EXPECT_TRUE(has_key(*r, k)) << k;
    auto v = model("vgg16_bn_imagenet", 1000);
    for (const char* k : {"features.0.weight", "features.1.running_mean", "features.3.weight", "features.7.weight",
                          "classifier.0.weight", "classifier.3.weight", "classifier.6.bias"})
        EXPECT_TRUE(has_key(*v, k)) << k;
    auto c = model("vgg11", 10);
    EXPECT_TRUE(has_key(*c, "classifier.weight"));
    EXPECT_TRUE(has_key(*c, "features.0.bias"));
}

TEST(ModelsCpu, UnknownArchitectureListsKnownOnes) {
    try {
        model("resnet19", 10);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("resnet18"), std::string::npos) << e.what();
    }
    EXPECT_THROW(model("resnet18", 0), Error);
}

TEST(ModelsCpu, ShapesThroughCifarAndFashionForms) {
    Generator g(1);
    auto r = model("resnet18", 10, 1, 28, 8);
    init_weights(*r, g);
    Tensor x = Tensor::from_vector(test::random_vec(2 * 28 * 28, 2), {2, 1, 28, 28});
    EXPECT_EQ(r->forward(x).shape(), (Shape{2, 10}));
    auto v = model("vgg11_bn", 7, 1, 28, 8);  // 28x28: the fifth pool is left out
    init_weights(*v, g);
    EXPECT_EQ(v->forward(x).shape(), (Shape{2, 7}));
}

// VGG's CIFAR form flattens its last feature map into the classifier: non-square inputs are refused when the
// model is built (they failed at the first step with a Linear shape error); ResNet and the ImageNet form pool.
TEST(ModelsCpu, VggCifarFormNeedsSquareInputs) {
    ModelSpec s;
    s.arch = "vgg11";
    s.base_width = 2;
    s.image_size = 30;
    s.image_width = 40;
    try {
        make_model(s);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("vgg11 (CIFAR form) needs square inputs, got 30 x 40"), std::string::npos)
            << e.what();
    }
    s.image_width = 30;
    EXPECT_NO_THROW(make_model(s));
    s.image_size = 32;  // (the ImageNet form needs >= 32 x 32)
    s.image_width = 40;
    for (const char* arch : {"vgg11_imagenet", "resnet18"}) {
        s.arch = arch;
        EXPECT_NO_THROW(make_model(s)) << arch;
    }
}

// The ImageNet-form VGG keeps all five max-pools: an input below 32 x 32 would pool to nothing, an error that
// names the fix at construction rather than a pooling error in the first forward. ResNets take any size.
TEST(ModelsCpu, VggImageNetFormNeedsAtLeast32x32) {
    ModelSpec s;
    s.arch = "vgg11_bn_imagenet";
    s.base_width = 2;
    s.image_size = 28;
    try {
        make_model(s);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("vgg11_bn_imagenet needs inputs of at least 32 x 32 (its five max-pools "
                                              "halve them), got 28 x 28: resize the images (image folders: --resize "
                                              "32), or use vgg11_bn, the CIFAR form"),
                  std::string::npos)
            << e.what();
    }
    s.image_size = 32;
    s.image_width = 31;
    EXPECT_THROW(make_model(s), Error);
    s.image_width = 32;
    auto m = make_model(s);
    m->eval();
    EXPECT_EQ(m->forward(Tensor::zeros({1, 3, 32, 32})).shape(), (Shape{1, 10}));
    for (const char* arch : {"resnet18_imagenet", "vgg11"}) {
        s.arch = arch;
        s.image_size = s.image_width = 8;
        EXPECT_NO_THROW(make_model(s)) << arch;
    }
}

TEST(ModelsCpu, InitIsDeterministicAndScaled) {
    auto a = model("resnet18", 10, 3, 32, 16), b = model("resnet18", 10, 3, 32, 16);
    Generator ga(42), gb(42);
    init_weights(*a, ga);
    init_weights(*b, gb);
    auto pa = a->named_params(), pb = b->named_params();
    for (size_t i = 0; i < pa.size(); ++i)
        ASSERT_EQ(pa[i].second->value.to_vector<float>(), pb[i].second->value.to_vector<float>()) << pa[i].first;
    // conv1: kaiming normal fan_out = 16 * 3 * 3 -> std = sqrt(2 / 144)
    std::vector<float> w = a->named_params()[0].second->value.to_vector<float>();
    double s2 = 0;
    for (float v : w) s2 += double(v) * v;
    EXPECT_NEAR(std::sqrt(s2 / w.size()), std::sqrt(2.0 / 144), 0.03);
}

TEST(ModelsCpu, EndToEndGradientsSmallNets) {
    // Width-1 networks: a float finite difference over a wide ReLU network crosses so many kinks at any
    // step above rounding noise that the quotient never settles; with few units it does (h = 1e-3 and
    // h/2 agree to ~1e-3). Each layer is also checked coordinate-wise in test_layers.cpp, and whole
    // networks against PyTorch in test_torch_parity.cpp. Bottleneck networks are covered block-wise here
    // (LayersCpu.ResidualBlockGradientsAndNames) and whole (ResNet-50) by the PyTorch parity: at 16
    // blocks deep even width 1 crosses too many kinks for a float quotient to settle. Tolerance 3e-2:
    // undetected kink crossings leave ~1e-2 in the quotient; a wrong gradient is off by O(1).
    for (const char* arch : {"resnet18", "vgg11_bn"}) {
        auto m = model(arch, 3, 2, 8, 1);
        Generator g(7);
        init_weights(*m, g);
        m->train(true);
        Tensor x = Tensor::from_vector(test::random_vec(4 * 2 * 8 * 8, 8), {4, 2, 8, 8});
        EXPECT_TRUE(test::directional_grad_check(*m, x, 1e-3, 3e-2)) << arch << " (train mode)";
        m->eval();
        EXPECT_TRUE(test::directional_grad_check(*m, x, 1e-3, 3e-2)) << arch << " (eval mode)";
    }
}

TEST(TrainStepCpu, SgdStepsReduceLossOnTinyProblem) {
    auto m = model("resnet18", 2, 1, 8, 4);
    Generator g(3);
    init_weights(*m, g);
    // Two classes: bright vs dark images.
    std::vector<float> xs;
    std::vector<int32_t> ys;
    for (int i = 0; i < 16; ++i) {
        const float base = (i % 2) ? 0.8f : -0.8f;
        for (float v : test::random_vec(64, 100 + i, -0.3f, 0.3f)) xs.push_back(base + v);
        ys.push_back(i % 2);
    }
    Tensor x = Tensor::from_vector(xs, {16, 1, 8, 8});
    Tensor y = Tensor::from_vector(ys, {16});
    kernels::SgdParams sp;
    sp.lr = 0.05f;
    sp.momentum = 0.9f;
    train::SGD opt(m->named_params(), sp);
    float first = 0, last = 0;
    for (int step = 0; step < 8; ++step) {
        train::StepResult r = train::train_step(*m, opt, x, y);
        float l = r.loss.to_vector<float>()[0];
        ASSERT_TRUE(std::isfinite(l));
        if (step == 0) first = l;
        last = l;
    }
    EXPECT_LT(last, first * 0.7f) << "first " << first << " last " << last;
}
