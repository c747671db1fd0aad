// The folded attribution forward: every affine rule sees the kept output z = f(x; W', b') of the forward
// (bit-identical to a recomputation) under each BN-fold mode; gradient-rule layers differentiate the
// folded model; the layer fields are restored; parameter gradients are refused while folded. CPU and CUDA.
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/lrp/rules.h"
#include "lrp/nn/models.h"
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
    s.image_size = 8;
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
}  // namespace

TEST(LrpCpuKeptOutput, EveryAffineRuleSeesTheKeptOutput) { check_every_rule_sees_kept_z(Device::cpu()); }
TEST(LrpCpuKeptOutput, GradientRuleDifferentiatesTheFoldedModel) { check_gradient_of_folded_model(Device::cpu()); }

TEST(LrpCpuKeptOutput, ParameterGradientsRefusedWhileFolded) {
    auto m = small_model("resnet18", Device::cpu(), 13);
    m->eval();
    Composite c = make_composite("epsilon_plus_flat");
    c.bind(*m);
    ScopedAttributionForward folded(*m, c.folded_pairs(), c.bn_fold());
    Tensor y = m->forward(test::rand_tensor({2, 3, 8, 8}, 14));
    try {
        m->backward(ops::scale(y, 1.f));
        FAIL() << "a training backward through a folded model must throw";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("parameter gradients"), std::string::npos) << e.what();
    }
    EXPECT_THROW(ScopedAttributionForward(*m, c.folded_pairs(), c.bn_fold()), Error) << "nested folding";
}

TEST(LrpCudaKeptOutput, EveryAffineRuleSeesTheKeptOutput) {
    LRP_SKIP_WITHOUT_CUDA();
    check_every_rule_sees_kept_z(Device::cuda(0));
    check_gradient_of_folded_model(Device::cuda(0));
}
