// LRP deep supervision (lrp/flex_lds.h, the ISNet step's lds): the supervised points of ResNets and VGGs, the hidden
// map at a max-pool conserving relevance in a bias-free network, and one SGD step moving the parameters by minus the
// gradient of (1 - P) CE + P GWRP(input map's loss, hidden maps' losses) (directional finite differences, z^B and
// epsilon first layer, pooled points, residual stage points, overlapping mask windows, a point at z^B's first ReLU);
// per-layer cuts; the settings' checks.
#include <algorithm>
#include <cmath>

#include "grad_check.h"
#include "isnet_test_util.h"
#include "lrp/lrp/flex.h"
#include "lrp/lrp/flex_lds.h"
#include "lrp/lrp/flex_zb.h"
#include "lrp/lrp/target.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/models.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/residual.h"
#include "lrp/nn/sequential.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"
#include "lrp/train/isnet_step.h"
#include "lrp/train/optimizer.h"
#include "lrp_test_util.h"
#include "reldrop_step_test_util.h"

using namespace lrp;
using lrp::test::plain_sgd;
using lrp::test::tiny_batch;
using lrp::test::tiny_net;
using lrp::test::TinyBatch;

namespace {

train::IsnetSettings lds_settings(const std::string& first = "zb", float decay = 0.5f, const std::string& explain = "label") {
    train::TrainConfig c;
    c.augment = "isnet";
    c.isnet_explain = explain;
    c.isnet_first_rule = first;
    c.isnet_c1 = 0.5f;
    c.isnet_mask = "threshold:0.55";
    c.isnet_lds = true;
    c.isnet_lds_decay = decay;
    return train::isnet_settings(c, {0.2f}, {0.4f});
}

// A residual block without BN (conv-ReLU-conv plus the identity or a strided 1x1 projection, ReLU after the sum): a
// ResNet stage whose train mode is exact for finite differences (the pass holds BN's batch statistics constant).
class PlainBlock : public nn::ResidualBlock {
public:
    PlainBlock(int in, int out, int stride) {
        auto m = std::make_unique<nn::Sequential>();
        m->emplace<nn::Conv2d>("conv1", in, out, 3, stride, 1, true);
        m->emplace<nn::ReLU>("relu");
        m->emplace<nn::Conv2d>("conv2", out, out, 3, 1, 1, true);
        std::unique_ptr<nn::Sequential> ds;
        if (stride != 1 || in != out) {
            ds = std::make_unique<nn::Sequential>();
            ds->emplace<nn::Conv2d>("0", in, out, 1, stride, 0, true);
        }
        finish(std::move(m), std::move(ds));
    }
    const char* type() const override { return "PlainBlock"; }
};

void randomize(nn::Module& m, uint32_t seed) {
    for (auto& [n, p] : m.named_params()) {
        const Shape& s = p->value.shape();
        const float a = s.ndim() >= 2 ? 1.5f / std::sqrt(static_cast<float>(s.numel() / s[0])) : 0.2f;
        p->value.copy_from(test::rand_tensor(s, seed++, -a, a));
    }
}

// ResNet-like stages without BN on 1 x 8 x 8 inputs. stem_in_layer1 false: conv1-relu, layer1 a residual block at
// 8 x 8 (its point the block's ReLU after the sum), layer2 a conv (3x3, stride 2, no padding)-ReLU at 3 x 3 (the mask
// shrinks by overlapping windows). true: layer1 is the first conv-ReLU (z^B's first ReLU is also a supervised point:
// two injections at one leaf), layer2 a strided residual block with a projection at 4 x 4.
std::unique_ptr<nn::Sequential> staged_net(uint32_t seed, bool stem_in_layer1 = false) {
    auto m = std::make_unique<nn::Sequential>();
    int side = 4, ch = 4;
    if (stem_in_layer1) {
        auto l1 = std::make_unique<nn::Sequential>();
        l1->emplace<nn::Conv2d>("0", 1, 4, 3, 1, 1, true);
        l1->emplace<nn::ReLU>("1");
        m->add(std::move(l1), "layer1");
        m->emplace<PlainBlock>("layer2", 4, 4, 2);
    } else {
        m->emplace<nn::Conv2d>("conv1", 1, 4, 3, 1, 1, true);
        m->emplace<nn::ReLU>("relu");
        m->emplace<PlainBlock>("layer1", 4, 4, 1);
        auto l2 = std::make_unique<nn::Sequential>();
        l2->emplace<nn::Conv2d>("0", 4, 3, 3, 2, 0, true);
        l2->emplace<nn::ReLU>("1");
        m->add(std::move(l2), "layer2");
        side = 3, ch = 3;
    }
    m->emplace<nn::Flatten>("flatten");
    m->emplace<nn::Linear>("fc", ch * side * side, 3, true);
    randomize(*m, seed);
    return m;
}

// The mask [N, 8, 8] shrunk to h x w by PyTorch's adaptive windows [floor(i 8 / h), ceil((i + 1) 8 / h)): 1 where a
// window holds any foreground (host reference).
Tensor shrink(const Tensor& m, int h, int w) {
    const std::vector<float> v = m.to_vector<float>();
    const int N = static_cast<int>(m.dim(0));
    std::vector<float> out(static_cast<size_t>(N * h * w), 0.f);
    for (int n = 0; n < N; ++n)
        for (int p = 0; p < h; ++p)
            for (int q = 0; q < w; ++q)
                for (int i = p * 8 / h; i < ((p + 1) * 8 + h - 1) / h; ++i)
                    for (int j = q * 8 / w; j < ((q + 1) * 8 + w - 1) / w; ++j)
                        if (v[static_cast<size_t>(n * 64 + i * 8 + j)] != 0.f) out[static_cast<size_t>((n * h + p) * w + q)] = 1.f;
    return Tensor::from_vector(out, Shape{N, h, w});
}

// GWRP of v, descending, decay d (host reference).
double gwrp(std::vector<double> v, double d) {
    std::sort(v.begin(), v.end(), [](double a, double b) { return a > b; });
    double num = 0, den = 0, w = 1;
    for (double x : v) num += w * x, den += w, w *= d;
    return num / den;
}

double batch_mean_loss(const Tensor& map, const Tensor& mask, const ops::IsnetLossParams& p) {
    const int64_t N = map.dim(0);
    Tensor per = Tensor::empty(Shape{N}), dm = Tensor::empty(map.shape()), bad = Tensor::empty(Shape{N}, DType::I32);
    ops::isnet_heat_loss(map, mask, p, per, dm, bad);
    double s = 0;
    for (float v : per.to_vector<float>()) s += v;
    return s / static_cast<double>(N);
}

// explain "label", or "all" (every class's maps: each layer's loss the mean over the K classes' batch-mean losses).
void check_update_is_the_gradient(std::unique_ptr<nn::Sequential> m, const std::string& first, size_t points,
                                  const std::vector<std::string>& names = {}, const std::string& explain = "label") {
    TinyBatch b = tiny_batch(6);
    train::IsnetSettings s = lds_settings(first, 0.5f, explain);
    s.lds_layers = names;
    train::Isnet isnet(s);
    const std::vector<std::vector<float>> before = test::param_values(*m);
    train::SGD opt = plain_sgd(*m, 1.f);
    Generator g(1);
    const train::IsnetStepResult r = isnet.step(*m, opt, b.x, b.y, g);
    ASSERT_EQ(r.layer_losses.shape(), (Shape{static_cast<int64_t>(1 + points)}));
    const std::vector<float> layers = r.layer_losses.to_vector<float>();
    for (size_t l = 1; l < layers.size(); ++l) EXPECT_GT(layers[l], 0.f) << "hidden map " << l;
    EXPECT_EQ(r.nonfinite.to_vector<float>()[0], 0.f);
    const std::vector<test::GradVar> vars = test::update_as_gradient(*m, before);
    explain::FlexPass flex(explain::FlexOptions{isnet.settings().epsilon});
    explain::FlexZb zb({-0.5f}, {2.f}, isnet.settings().epsilon);  // raw 0 and 1 after mean 0.2, stdev 0.4
    const explain::FlexHidden hidden(*m, names);
    ASSERT_EQ(hidden.points().size(), points);
    const float P = isnet.settings().P;
    const Tensor mask = isnet.mask(b.x);
    const int K = explain == "all" ? 3 : 1;  // the nets' classes
    std::vector<std::vector<double>> per_class(static_cast<size_t>(K));  // class k's layer losses, of the last call
    auto loss = [&] {
        Tensor logits = m->forward(b.x);
        std::vector<double> per_layer(1 + points, 0.0);
        for (int k = 0; k < K; ++k) {
            const Tensor cls = K > 1 ? Tensor::from_vector(std::vector<int32_t>(6, k), Shape{6}) : b.y;
            Tensor G = flex.gradient(*m, explain::initial_relevance(logits, explain::Target::label(cls)));
            const Tensor R = first == "zb" ? zb.heatmap(*m, flex, b.x)
                                           : ops::mul(G, ops::add(b.x, ops::full(b.x.shape(), 0.5f)));
            if (first == "zb") zb.release();
            std::vector<double>& mine = per_class[static_cast<size_t>(k)];
            mine = {batch_mean_loss(R, mask, isnet.settings().loss)};
            for (size_t l = 0; l < points; ++l) {
                const Tensor H = hidden.map(flex, l);
                mine.push_back(batch_mean_loss(H, shrink(mask, static_cast<int>(H.dim(2)), static_cast<int>(H.dim(3))),
                                               isnet.settings().loss));
            }
            for (size_t l = 0; l <= points; ++l) per_layer[l] += mine[l] / K;
        }
        const double ce = train::cross_entropy(logits, b.y, 0.f, Tensor()).to_vector<float>()[0];
        return (1 - P) * ce + P * gwrp(per_layer, isnet.settings().lds_decay);
    };
    const double L0 = loss();
    if (K > 1) {  // some class ranks the layers otherwise than their means do (else a GWRP per class would pass too)
        auto order = [](const std::vector<double>& v) {
            std::vector<size_t> o(v.size());
            for (size_t i = 0; i < o.size(); ++i) o[i] = i;
            std::sort(o.begin(), o.end(), [&](size_t a, size_t c) { return v[a] > v[c]; });
            return o;
        };
        std::vector<double> mean(1 + points, 0.0);
        for (const std::vector<double>& c : per_class)
            for (size_t l = 0; l <= points; ++l) mean[l] += c[l] / K;
        bool differs = false;
        for (const std::vector<double>& c : per_class) differs = differs || order(c) != order(mean);
        EXPECT_TRUE(differs) << "every class ranks the layers as their means do";
    }
    EXPECT_NEAR(r.step.loss.to_vector<float>()[0], L0, 1e-4 * std::fabs(L0));
    std::vector<std::string> every;  // each tensor must find a kink-free direction (an undecided one is unchecked)
    for (const test::GradVar& v : vars) every.push_back(std::get<0>(v));
    EXPECT_TRUE(test::directional_check(vars, loss, "ISNet step with LDS (" + first + ")", 1e-3, 2e-2, 5, 8, 1e-4, every));
    for (nn::Module* l : m->leaves())  // the step's backward consumed every gradient the adjoints left
        if (auto* relu = dynamic_cast<nn::ReLU*>(l)) {
            EXPECT_FALSE(relu->has_output_grad()) << relu->name();
        }
}

}  // namespace

TEST(FlexHidden, PointsAreResNetStagesAndVggPools) {
    nn::ModelSpec spec;
    spec.num_classes = 3;
    spec.image_size = 16;
    spec.base_width = 4;
    auto resnet = nn::make_model(spec);
    const auto rp = explain::FlexHidden::find(*resnet);
    ASSERT_EQ(rp.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(rp[i].name, "layer" + std::to_string(i + 1));
        EXPECT_EQ(rp[i].at->name(), "layer" + std::to_string(i + 1) + ".1.relu_out");
        EXPECT_EQ(rp[i].pool, nullptr);
    }
    spec.arch = "vgg11_bn";
    auto vgg = nn::make_model(spec);
    const auto vp = explain::FlexHidden::find(*vgg);
    ASSERT_EQ(vp.size(), 4u);  // 16 x 16: four pools (the fifth would go below 1 x 1)
    for (const auto& p : vp) {
        EXPECT_EQ(p.at, p.pool);
        EXPECT_EQ(p.relu->name().substr(0, 9), "features.");
    }
    EXPECT_EQ(vp[0].name, "features.3");
    auto flat = std::make_unique<nn::Sequential>();
    flat->emplace<nn::Flatten>("0");
    flat->emplace<nn::Linear>("1", 4, 2, true);
    test::expect_error([&] { explain::FlexHidden::find(*flat); }, {"has neither ResNet stages", "max-pools after a ReLU"});
    // By name: a block (its ReLU after the sum), a stage, a ReLU leaf, a max-pool after a ReLU; the errors.
    const auto named = explain::FlexHidden::find(*resnet, {"layer1.0", "layer2", "relu"});
    ASSERT_EQ(named.size(), 3u);
    EXPECT_EQ(named[0].at->name(), "layer1.0.relu_out");
    EXPECT_EQ(named[1].at->name(), "layer2.1.relu_out");
    EXPECT_EQ(named[2].at->name(), "relu");
    EXPECT_EQ(named[0].name, "layer1.0");
    const auto pooled = explain::FlexHidden::find(*vgg, {"features.3"});
    ASSERT_EQ(pooled.size(), 1u);
    EXPECT_EQ(pooled[0].pool, vp[0].pool);
    EXPECT_EQ(pooled[0].relu, vp[0].relu);
    test::expect_error([&] { explain::FlexHidden::find(*resnet, {"layer9"}); }, {"no module named 'layer9'"});
    test::expect_error([&] { explain::FlexHidden::find(*resnet, {"conv1"}); },
                       {"'conv1' (Conv2d) ends in Conv2d 'conv1', not in a ReLU or in a max-pool right after a ReLU"});
    test::expect_error([&] { explain::FlexHidden::find(*resnet, {"layer1", "layer1.1"}); },
                       {"'layer1.1' and 'layer1' are the same point"});
    // A ReLU after the flatten (an ImageNet VGG's classifier) has no feature map: its map is refused by name.
    spec.arch = "vgg11_imagenet";
    spec.image_size = 32;
    auto big = nn::make_model(spec);
    const explain::FlexHidden cls(*big, {"classifier.1"});
    const Tensor logits = big->forward(test::rand_tensor({1, 3, 32, 32}, 3, -1.f, 1.f));
    explain::FlexPass pass;
    pass.gradient(*big, explain::initial_relevance(logits, explain::Target::prediction()));
    test::expect_error([&] { cls.map(pass, 0); }, {"the output of 'classifier.1' is [1, 256], not a feature map"});
    test::expect_error([&] { cls.check_feature_maps(); }, {"the output of 'classifier.1' is [1, 256], not a feature map"});
    explain::FlexHidden(*big, {"features.2"}).check_feature_maps();  // a max-pool's output: fine
    // The messages open with what asked for the points; a model without any has none when they are not required.
    test::expect_error([&] { explain::FlexHidden(*resnet, {"layer9"}, "--background-layers"); },
                       {"--background-layers: the model has no module named 'layer9'"});
    EXPECT_TRUE(explain::FlexHidden(*flat, {}, "x", false).points().empty());
    big->clear_saved();
}

// A bias-free ReLU network and epsilon -> 0: LRP-0, which conserves, so the map after the max-pool holds the same
// total as the input map (G x) and as the explained logit.
TEST(FlexHidden, PoolMapConservesTheRelevanceOfABiasFreeNet) {
    auto m = tiny_net(3);
    for (auto& [n, p] : m->named_params())
        if (n.find("bias") != std::string::npos) ops::fill(p->value, 0.f);
    TinyBatch b = tiny_batch(4);
    const Tensor logits = m->forward(b.x);
    explain::FlexPass flex(explain::FlexOptions{1e-7f});
    const Tensor G = flex.gradient(*m, explain::initial_relevance(logits, explain::Target::label(b.y)));
    const explain::FlexHidden hidden(*m);
    ASSERT_EQ(hidden.points().size(), 1u);
    Tensor a;
    const Tensor H = hidden.map(flex, 0, &a);
    ASSERT_EQ(H.shape(), (Shape{4, 4, 4, 4}));
    // The activation handed back is the max-pool's output (its forward again over the input it saved), and
    // add_terms() with it equals add_terms() forming it.
    nn::MaxPool2d& pool = *hidden.points()[0].pool;
    EXPECT_EQ(a.to_vector<float>(), pool.forward(pool.saved_input()).to_vector<float>());
    EXPECT_LT(test::rel_l2(H, ops::mul(flex.output_gradient(pool), a)), 1e-7);
    const Tensor dmap = test::rand_tensor({4, 4, 4, 4}, 9);
    explain::FlexTerms handed, formed;
    hidden.add_terms(flex, 0, dmap, handed, a);
    hidden.add_terms(flex, 0, dmap, formed);
    ASSERT_EQ(handed.injections.size(), 1u);
    ASSERT_EQ(formed.injections.size(), 1u);
    EXPECT_EQ(handed.injections[0].extra.to_vector<float>(), formed.injections[0].extra.to_vector<float>());
    EXPECT_EQ(handed.pending[0].second.to_vector<float>(), formed.pending[0].second.to_vector<float>());
    // The handed activation is the one used: twice it doubles dL/dG and leaves dL/da alone.
    explain::FlexTerms doubled;
    hidden.add_terms(flex, 0, dmap, doubled, ops::scale(a, 2.f));
    EXPECT_LT(test::rel_l2(doubled.injections[0].extra, ops::scale(formed.injections[0].extra, 2.f)), 1e-7);
    EXPECT_EQ(doubled.pending[0].second.to_vector<float>(), formed.pending[0].second.to_vector<float>());
    test::expect_error([&] { hidden.add_terms(flex, 0, dmap, handed, a.slice(0, 2)); },
                       {"the activation [2, 4, 4, 4] handed in for the map at '2' of [4, 4, 4, 4]"});
    const std::vector<float> in = ops::reduce_per_sample(ops::ReduceOp::Sum, ops::mul(G, b.x)).to_vector<float>(),
                             mid = ops::reduce_per_sample(ops::ReduceOp::Sum, H).to_vector<float>(),
                             z = logits.to_vector<float>();
    const std::vector<int32_t> lab = b.y.to_vector<int32_t>();
    for (int n = 0; n < 4; ++n) {
        const float zl = z[static_cast<size_t>(n * 3 + lab[static_cast<size_t>(n)])];
        EXPECT_NEAR(mid[static_cast<size_t>(n)], zl, 1e-3 * std::fabs(zl) + 1e-5) << n;
        EXPECT_NEAR(in[static_cast<size_t>(n)], zl, 1e-3 * std::fabs(zl) + 1e-5) << n;
    }
    m->clear_saved();
}

TEST(IsnetLds, UpdateIsTheGradientThroughPooledMaps) {
    check_update_is_the_gradient(tiny_net(3), "zb", 1);
    check_update_is_the_gradient(tiny_net(3), "epsilon", 1);
}

// Stage points at a residual block's ReLU after the sum (with and without a projection), a map shrunk by overlapping
// windows (8 -> 3), and z^B's first ReLU doubling as a supervised point. (Weights of seed 5 put conv1 near a kink of
// the loss: 2.8 % off at h = 1e-3, within 2 % at h = 3e-4, 7.6 % at 3e-3; seeds 6, 7, 8 pass at 1e-3.)
TEST(IsnetLds, UpdateIsTheGradientThroughStageMaps) {
    for (const bool stem : {false, true}) {
        check_update_is_the_gradient(staged_net(6, stem), "zb", 2);
        check_update_is_the_gradient(staged_net(6, stem), "epsilon", 2);
    }
}

// Points by name: the ReLU inside a residual branch, the block's output, and the last stage.
TEST(IsnetLds, UpdateIsTheGradientThroughNamedPoints) {
    check_update_is_the_gradient(staged_net(6), "zb", 3, {"layer1.relu", "layer1", "layer2"});
    check_update_is_the_gradient(staged_net(6), "epsilon", 3, {"layer1.relu", "layer1", "layer2"});
}

// The original ISNet (a map per class) with LDS: each layer's loss is the mean over every class's maps, and the GWRP
// over the layers ranks those means (the step measures them in a first round of passes, then runs the adjoints).
TEST(IsnetLds, AllClassesUpdateIsTheGradientOfTheLayersMeanOverClasses) {
    // Seeds where some class ranks the layers otherwise than the means do (most seeds do not).
    check_update_is_the_gradient(tiny_net(6), "epsilon", 1, {}, "all");
    check_update_is_the_gradient(staged_net(6), "zb", 2, {}, "all");
}

// Decay 1 weighs the layers equally: the heatmap loss is the mean of the layer losses; decay 0 takes the worst.
TEST(IsnetLds, HeatLossIsTheGwrpOfTheLayerLosses) {
    TinyBatch b = tiny_batch(6);
    for (float d : {0.f, 1.f}) {
        auto m = staged_net(5);
        train::Isnet isnet(lds_settings("zb", d));
        train::SGD opt = plain_sgd(*m, 0.f);
        Generator g(1);
        const train::IsnetStepResult r = isnet.step(*m, opt, b.x, b.y, g);
        const std::vector<float> l = r.layer_losses.to_vector<float>();
        ASSERT_EQ(l.size(), 3u);
        const double want = d == 0.f ? *std::max_element(l.begin(), l.end()) : (l[0] + l[1] + l[2]) / 3.0;
        EXPECT_NEAR(r.heat_loss.to_vector<float>()[0], want, 1e-6 * want) << d;
    }
}

// Calibrated hidden cuts: each hidden map's loss takes its own C1 and C2.
TEST(IsnetLds, HiddenCutsApplyPerLayer) {
    TinyBatch b = tiny_batch(6);
    auto m = staged_net(5), ref = staged_net(5);
    train::IsnetSettings s = lds_settings("zb", 0.8f);
    s.hidden_cut = {{"layer1", 3.f, 4.f}, {"layer2", 0.1f, 0.2f}};
    train::Isnet isnet(s);
    train::SGD opt = plain_sgd(*m, 0.f);
    Generator g(1);
    const std::vector<float> got = isnet.step(*m, opt, b.x, b.y, g).layer_losses.to_vector<float>();
    const Tensor logits = ref->forward(b.x);
    explain::FlexPass flex(explain::FlexOptions{s.epsilon});
    flex.gradient(*ref, explain::initial_relevance(logits, explain::Target::label(b.y)));
    const explain::FlexHidden hidden(*ref);
    const Tensor mask = isnet.mask(b.x);
    for (size_t l = 0; l < 2; ++l) {
        const Tensor H = hidden.map(flex, l);
        ops::IsnetLossParams p = s.loss;
        p.C1 = s.hidden_cut[l].c1, p.C2 = s.hidden_cut[l].c2;
        const double want = batch_mean_loss(H, shrink(mask, static_cast<int>(H.dim(2)), static_cast<int>(H.dim(3))), p);
        EXPECT_NEAR(got[1 + l], want, 1e-5 * want) << l;
        EXPECT_GT(std::fabs(want - batch_mean_loss(H, shrink(mask, static_cast<int>(H.dim(2)), static_cast<int>(H.dim(3))),
                                                   s.loss)), 1e-3 * want) << "the cut matters for layer " << l;
    }
    ref->clear_saved();
    train::IsnetSettings wrong = s;
    wrong.hidden_cut.pop_back();
    train::Isnet w(wrong);
    test::expect_error([&] { w.step(*m, opt, b.x, b.y, g); },
                       {"calibrated C1 and C2 are for the hidden maps at [layer1], but the model's supervised points are "
                        "[layer1, layer2]"});
    wrong.hidden_cut = {{"layer2", 1.f, 2.f}, {"layer1", 1.f, 2.f}};  // the right count, in another order
    train::Isnet o(wrong);
    test::expect_error([&] { o.step(*m, opt, b.x, b.y, g); }, {"[layer2, layer1]"});
    wrong.hidden_cut = {{"layer1", 2.f, 1.f}, {"layer2", 1.f, 2.f}};
    test::expect_error([&] { train::Isnet{wrong}; }, {"the hidden map at 'layer1' has C1 2 and C2 1"});
}

TEST(IsnetLds, SettingsAreValidated) {
    train::IsnetSettings s = lds_settings();
    s.lds_decay = 1.5f;
    test::expect_error([&] { train::Isnet{s}; }, {"GWRP decay over the deep supervision's layers must be in [0, 1]"});
    auto flat = std::make_unique<nn::Sequential>();
    flat->emplace<nn::Flatten>("0");
    flat->emplace<nn::Linear>("1", 64, 3, true);
    train::Isnet isnet(lds_settings("epsilon"));
    train::SGD opt = plain_sgd(*flat, 0.f);
    Generator g(1);
    TinyBatch b = tiny_batch(3);
    test::expect_error([&] { isnet.step(*flat, opt, b.x, b.y, g); }, {"has neither ResNet stages"});
}
