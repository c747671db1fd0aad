// The fast paths of the relevance pass. The folded attribution forward: every affine rule sees the kept
// output z = f(x; W', b') (bit-identical to a recomputation) under each BN-fold mode; gradient-rule layers
// differentiate the folded model; fields restored; parameter gradients refused while folded. The sign
// analysis: which layers get input >= 0, and the sign-split rules' skip of the x- half equals the full
// computation, ZPlus on such input clamps no W-. CPU and CUDA.
#include <set>

#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/lrp/rules.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/models.h"
#include "lrp/op_profile.h"
#include "lrp/ops/elementwise.h"
#include "lrp_test_util.h"

using namespace lrp;
using namespace lrp::explain;

namespace {
// Epsilon that records, per call, whether the kept z was there and equal to f(x; w, b) bit for bit.
class ProbeEpsilon : public Epsilon {
public:
    explicit ProbeEpsilon(int* calls, int* kept, int* equal) : Epsilon(1e-3f), calls_(calls), kept_(kept), equal_(equal) {}

protected:
    Tensor affine(const Call& c, const Tensor& r) const override {
        ++*calls_;
        if (c.z.defined()) {
            ++*kept_;
            if (c.z.to_vector<float>() == c.forward(c.x, c.w, c.b).to_vector<float>()) ++*equal_;
        }
        return Epsilon::affine(c, r);
    }

private:
    int *calls_, *kept_, *equal_;
};

std::unique_ptr<nn::Sequential> small_model(const std::string& arch, Device d, uint64_t seed) {
    nn::ModelSpec s;
    s.arch = arch;
    s.num_classes = 5;
    const bool imagenet_vgg = arch.rfind("vgg", 0) == 0 && arch.find("_imagenet") != std::string::npos;
    s.image_size = imagenet_vgg ? 32 : 8;  // the ImageNet-form VGG's five pools need 32 x 32
    s.base_width = 4;
    auto m = nn::make_model(s);
    Generator g(seed);
    nn::init_weights(*m, g);
    // non-trivial BN statistics, so folding changes the weights
    uint32_t k = 100;
    for (auto& [n, b] : m->named_buffers()) {
        if (n.find("running_mean") != std::string::npos) b->copy_from(test::rand_tensor(b->shape(), k++, -0.3f, 0.3f));
        if (n.find("running_var") != std::string::npos) b->copy_from(test::rand_tensor(b->shape(), k++, 0.5f, 2.f));
    }
    m->to(d);
    return m;
}

void check_every_rule_sees_kept_z(Device d) {
    for (const std::string arch : {"resnet18", "resnet50", "vgg11_bn", "vgg11"}) {
        for (BnFold mode : {BnFold::None, BnFold::Exact, BnFold::Zennit051}) {
            auto m = small_model(arch, d, 7);
            int calls = 0, kept = 0, equal = 0;
            Composite c("probe");
            c.add(LayerType::AnyLinear, std::make_shared<ProbeEpsilon>(&calls, &kept, &equal));
            c.add(LayerType::Activation, std::make_shared<Pass>());
            c.add(LayerType::BatchNorm, std::make_shared<Pass>());
            c.add(LayerType::AvgPool, std::make_shared<Norm>());
            c.set_bn_fold(mode);
            Tensor x = test::rand_tensor({3, 3, 8, 8}, 8, -1.f, 1.f, d);
            attribute(*m, x, Target::prediction(), c);
            const std::string what = arch + " / " + bn_fold_name(mode) + " on " + d.str();
            EXPECT_GT(calls, 5) << what;
            EXPECT_EQ(kept, calls) << what << ": every affine rule call gets the kept output";
            EXPECT_EQ(equal, calls) << what << ": the kept output is f(x; W', b') bit for bit";
            for (nn::Module* leaf : m->leaves())
                if (auto* l = dynamic_cast<nn::AffineLayer*>(leaf)) {
                    EXPECT_FALSE(l->forward_override.has_value() || l->keep_output) << what << ": " << l->name();
                    EXPECT_FALSE(l->saved_output_for(l->weight.value, l->bias.value).defined()) << what;
                } else if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(leaf)) {
                    EXPECT_FALSE(bn->folded_scale.has_value()) << what << ": " << bn->name();
                }
        }
    }
}

// With no rule anywhere, the relevance pass is the gradient of the folded model: the input gradient of
// the selected logit (exact fold), which needs each folded conv to differentiate with W', not W.
void check_gradient_of_folded_model(Device d) {
    auto m = small_model("resnet18", d, 11);
    m->eval();
    Tensor x = test::rand_tensor({2, 3, 8, 8}, 12, -1.f, 1.f, d);
    Composite c("gradient");
    c.set_residual(ResidualMode::Copy);
    c.set_bn_fold(BnFold::Exact);
    Tensor r = attribute(*m, x, Target::class_index(3), c);
    Tensor y = m->forward(x);
    Tensor grad = m->backward(initial_relevance(y, Target::class_index(3)), false);
    EXPECT_LE(test::rel_l2(r, grad), 1e-5) << d.str();
}

// The names of the affine leaves whose input the structural analysis proves >= 0.
std::set<std::string> nonneg_layers(const nn::Module& m) {
    std::unordered_set<const nn::Module*> found;
    m.nonneg_output(false, found);
    std::set<std::string> names;
    for (const nn::Module* l : found) names.insert(l->name());
    return names;
}

std::set<std::string> affine_names_except(nn::Module& m, const std::string& skip) {
    std::set<std::string> names;
    for (nn::Module* l : m.leaves())
        if (dynamic_cast<nn::AffineLayer*>(l) && l->name() != skip) names.insert(l->name());
    return names;
}

// ZPlus, AlphaBeta and Gamma on an input >= 0 (with exact zeros): the x- skip equals the full rule.
void check_sign_split_skip(Device d) {
    const std::vector<std::shared_ptr<const Rule>> rules = {
        std::make_shared<ZPlus>(), std::make_shared<AlphaBeta>(2.f, 1.f), std::make_shared<Gamma>(0.25f),
        std::make_shared<ZPlus>(1e-6f, true)};
    nn::Conv2d conv(3, 5, 3, 2, 1, true);
    nn::Linear fc(7, 4, true);
    conv.weight.value.copy_from(test::rand_tensor(conv.weight.value.shape(), 20));
    conv.bias.value.copy_from(test::rand_tensor({5}, 21));
    fc.weight.value.copy_from(test::rand_tensor({4, 7}, 22));
    fc.bias.value.copy_from(test::rand_tensor({4}, 23));
    conv.to(d);
    fc.to(d);
    std::vector<float> xv = test::rand_tensor({2, 3, 7, 9}, 24, -1.f, 1.f).to_vector<float>();
    for (float& v : xv) v = std::max(v, 0.f);  // a ReLU output: about half exact zeros
    Tensor x = Tensor::from_vector(xv, {2, 3, 7, 9}, d);
    Tensor xf = ops::relu(test::rand_tensor({3, 7}, 25, -1.f, 1.f, d));
    Tensor rc = test::rand_tensor({2, 5, 4, 5}, 26, -1.f, 1.f, d), rf = test::rand_tensor({3, 4}, 27, -1.f, 1.f, d);
    conv.forward(x);
    fc.forward(xf);
    for (const auto& rule : rules) {
        for (auto [layer, r] : {std::pair<nn::AffineLayer*, Tensor>{&conv, rc}, {&fc, rf}}) {
            AffineParams full{layer->weight.value, layer->bias.value};
            AffineParams skip = full;
            skip.input_nonneg = true;
            Tensor a = rule->relevance(*layer, r, &full);
            const bool count = !profile::enabled();  // LRP_OP_PROFILE set: other calls count too
            if (count) {
                profile::set_enabled(true);
                profile::reset();
            }
            Tensor b = rule->relevance(*layer, r, &skip);
            int64_t clamps = 0;
            for (const profile::Row& row : profile::rows())
                if (row.name == "clamp") clamps += row.calls;
            if (count) {
                profile::set_enabled(false);
                profile::reset();
                // ZPlus on x >= 0 clamps W+ and b+ only (W- meets only a negative input part)
                if (rule->name().rfind("ZPlus", 0) == 0) {
                    EXPECT_EQ(clamps, rule->name().find("zero_bias") == std::string::npos ? 2 : 1) << rule->name();
                }
            }
            EXPECT_EQ(b.to_vector<float>(), a.to_vector<float>()) << rule->name() << " on " << layer->type() << ", " << d.str();
            EXPECT_GT(test::rel_l2(a, Tensor::zeros(a.shape(), DType::F32, d)), 0.0) << "non-trivial";
        }
    }
}
}  // namespace

TEST(LrpCpuSignAnalysis, LayersAfterAReluHaveNonNegativeInput) {
    for (const std::string arch : {"resnet18", "resnet50", "resnet18_imagenet"}) {
        auto m = small_model(arch, Device::cpu(), 1);
        EXPECT_EQ(nonneg_layers(*m), affine_names_except(*m, "conv1")) << arch << ": all but the stem";
    }
    for (const std::string arch : {"vgg11", "vgg11_bn", "vgg16_bn_imagenet"}) {
        auto m = small_model(arch, Device::cpu(), 1);
        EXPECT_EQ(nonneg_layers(*m), affine_names_except(*m, "features.0")) << arch << ": all but the first conv";
    }
    // A BN, another conv or the raw input between a ReLU and a layer: unknown sign.
    nn::Sequential s;
    s.emplace<nn::Conv2d>("a", 3, 4, 3);
    s.emplace<nn::Conv2d>("b", 4, 4, 3);
    s.emplace<nn::ReLU>("r");
    s.emplace<nn::BatchNorm2d>("bn", 4);
    s.emplace<nn::Conv2d>("c", 4, 4, 3);
    s.emplace<nn::ReLU>("r2");
    s.emplace<nn::Dropout>("drop");
    s.emplace<nn::Flatten>("flat");
    s.emplace<nn::Linear>("fc", 4, 2);
    EXPECT_EQ(nonneg_layers(s), std::set<std::string>{"fc"});
    Composite c = make_composite("epsilon_plus");
    c.bind(s);
    EXPECT_NE(c.assignment_table().find("[input >= 0]"), std::string::npos) << c.assignment_table();
}

TEST(LrpCpuSignAnalysis, SignSplitRulesSkipTheEmptyHalfExactly) { check_sign_split_skip(Device::cpu()); }

TEST(LrpCudaSignAnalysis, SignSplitRulesSkipTheEmptyHalfExactly) {
    LRP_SKIP_WITHOUT_CUDA();
    check_sign_split_skip(Device::cuda(0));
}

TEST(LrpCpuKeptOutput, EveryAffineRuleSeesTheKeptOutput) { check_every_rule_sees_kept_z(Device::cpu()); }
TEST(LrpCpuKeptOutput, GradientRuleDifferentiatesTheFoldedModel) { check_gradient_of_folded_model(Device::cpu()); }

TEST(LrpCpuKeptOutput, ParameterGradientsRefusedWhileFolded) {
    auto m = small_model("resnet18", Device::cpu(), 13);
    m->eval();
    Composite c = make_composite("epsilon_plus_flat");
    c.bind(*m);
    const Tensor x = test::rand_tensor({2, 3, 8, 8}, 14);
    Tensor y;
    {
        ScopedAttributionForward folded(*m, c.folded_pairs(), c.bn_fold());
        y = m->forward(x);
        try {
            m->backward(ops::scale(y, 1.f));
            FAIL() << "a training backward through a folded model must throw";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("parameter gradients"), std::string::npos) << e.what();
        }
        EXPECT_THROW(ScopedAttributionForward(*m, c.folded_pairs(), c.bn_fold()), Error) << "nested folding";
    }
    // The refusal belongs to the folded forward, not to the scope: still refused after it ends ...
    EXPECT_THROW(m->backward(ops::scale(y, 1.f)), Error);
    // ... and a plain forward makes the model trainable again.
    m->zero_grad();
    y = m->forward(x);
    EXPECT_NO_THROW(m->backward(ops::scale(y, 1.f)));
}

TEST(LrpCudaKeptOutput, EveryAffineRuleSeesTheKeptOutput) {
    LRP_SKIP_WITHOUT_CUDA();
    check_every_rule_sees_kept_z(Device::cuda(0));
    check_gradient_of_folded_model(Device::cuda(0));
}
