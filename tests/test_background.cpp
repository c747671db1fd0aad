// `lrpcu eval --background` (train/background.h): the shares and the heatmap loss recomputed by hand from the
// composite's map, the LRP-Flex maps (epsilon and z^B first layer, hidden points by default and by name) and the mask
// of the same batch; the foreground fraction of a known batch; an image with a NaN pixel is counted and left out.
#include <cmath>

#include "isnet_test_util.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/lrp/flex.h"
#include "lrp/lrp/flex_lds.h"
#include "lrp/lrp/flex_zb.h"
#include "lrp/lrp/target.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/sequential.h"
#include "lrp/ops/elementwise.h"
#include "lrp/train/background.h"
#include "lrp/train/rrr_step.h"
#include "lrp/train/isnet_step.h"

using namespace lrp;
using lrp::train::BatchSource;

namespace {
struct Fixed : BatchSource {
    Batch b;
    int64_t size() const override { return b.x.dim(0); }
    int64_t batches_per_epoch() const override { return 1; }
    void start_epoch(uint64_t, int64_t) override {}
    Batch batch(int64_t) override { return b; }
};

const std::vector<float> kLevel{(0.55f - 0.2f) / 0.4f};  // raw threshold 0.55 under mean 0.2, stdev 0.4
const std::vector<float> kZero{-0.5f};                    // raw 0 under the same normalisation
const std::vector<float> kOne{2.f};                       // raw 1

// Background share of sum_c |r[n]| (r: [N, C, h, w]; mask: h * w values per image, 0 on the background).
double share(const Tensor& r, const Tensor& mask, int64_t n) {
    const std::vector<float> v = r.to_vector<float>(), m = mask.to_vector<float>();
    const int64_t C = r.dim(1), hw = r.dim(2) * r.dim(3);
    EXPECT_EQ(mask.numel(), r.dim(0) * hw);
    double bg = 0, all = 0;
    for (int64_t c = 0; c < C; ++c)
        for (int64_t j = 0; j < hw; ++j) {
            const double a = std::fabs(v[(n * C + c) * hw + j]);
            all += a;
            if (m[n * hw + j] == 0.f) bg += a;
        }
    return bg / all;
}

double mean_share(const Tensor& r, const Tensor& mask) {
    double sum = 0;
    for (int64_t n = 0; n < r.dim(0); ++n) sum += share(r, mask, n);
    return sum / r.dim(0);
}
}  // namespace

TEST(BackgroundCpu, MatchesHandComputation) {
    auto m = test::tiny_net(4);
    test::TinyBatch tb = test::tiny_batch(6);
    Fixed src;
    src.b = {tb.x, tb.y, {}};
    explain::Composite c = explain::make_composite("epsilon_plus");
    const float ps = 1.f / (255.f * 0.4f);  // tiny_batch's std 0.4
    const train::BackgroundResult r = train::background_relevance(*m, src, c, kLevel, kZero, {}, 0.05f, {ps}, kOne);
    EXPECT_EQ(r.samples, 6);
    EXPECT_EQ(r.nonfinite_maps, 0);
    EXPECT_NEAR(r.foreground_fraction, 9.0 / 64, 1e-12);  // the 3 x 3 object; the marker (0.5) is background
    train::TrainConfig cfg;
    cfg.augment = "isnet";
    cfg.isnet_mask = "threshold:0.55";
    train::Isnet isnet(train::isnet_settings(cfg, {0.2f}, {0.4f}));
    const Tensor mask = isnet.mask(tb.x);
    const Tensor rc = explain::attribute(*m, tb.x, explain::Target::label(tb.y), c);
    m->eval();
    Tensor logits = m->forward(tb.x);
    explain::FlexPass flex(explain::FlexOptions{0.05f});
    const Tensor rf = ops::mul(flex.gradient(*m, explain::initial_relevance(logits, explain::Target::label(tb.y))),
                               ops::add(tb.x, ops::full(tb.x.shape(), 0.5f)));  // x - input_zero
    // The hidden map LRP deep supervision would train on (tiny_net: the max-pool '2', 4 channels of 4 x 4), against
    // the mask shrunk to 4 x 4 (a window with any foreground is foreground).
    const Tensor H = explain::FlexHidden(*m).map(flex, 0);
    ASSERT_EQ(H.shape(), (Shape{6, 4, 4, 4}));
    const double shh = mean_share(H, train::mask_at(mask, 4, 4));
    ASSERT_EQ(r.share_hidden.size(), 1u);
    EXPECT_EQ(r.share_hidden[0].layer, "2");
    EXPECT_NEAR(r.share_hidden[0].share, shh, 1e-9);
    EXPECT_GT(r.share_hidden[0].share, 0.0);
    // Hidden activations are nonzero over black pixels (the biases), where the input map G (x - raw 0) is 0.
    EXPECT_GT(r.share_hidden[0].share, r.share_flex + 0.1);
    Tensor per = Tensor::empty(Shape{6}), dR = Tensor::empty(tb.x.shape()), bad = Tensor::empty(Shape{6}, DType::I32);
    ops::isnet_heat_loss(rf, mask, {}, per, dR, bad);
    double sc = 0, sf = 0, heat = 0;
    for (int n = 0; n < 6; ++n) sc += share(rc, mask, n), sf += share(rf, mask, n), heat += per.to_vector<float>()[n];
    EXPECT_NEAR(r.share_composite, sc / 6, 1e-9);
    EXPECT_NEAR(r.share_flex, sf / 6, 1e-9);
    EXPECT_NEAR(r.isnet_heat_loss, heat / 6, 1e-6);
    EXPECT_GT(r.share_flex, 0.0);  // the marker carries some relevance (black pixels carry none)
    // The z^B map of the same pass: black pixels have relevance there.
    explain::FlexZb zb(kZero, kOne, 0.05f);
    const Tensor rz = zb.heatmap(*m, flex, tb.x);
    ops::isnet_heat_loss(rz, mask, {}, per, dR, bad);
    double sz = 0, heat_zb = 0;
    for (int n = 0; n < 6; ++n) sz += share(rz, mask, n), heat_zb += per.to_vector<float>()[n];
    EXPECT_NEAR(r.share_flex_zb, sz / 6, 1e-9);
    EXPECT_NEAR(r.isnet_heat_loss_zb, heat_zb / 6, 1e-6);
    EXPECT_GT(r.share_flex_zb, r.share_flex + 0.05);
    // RRR's quantity: the input gradient of sum_k log p_k (Rrr::input_gradient, in pixel units), its squared
    // background share and the penalty.
    train::TrainConfig rc_cfg;
    rc_cfg.augment = "rrr";
    rc_cfg.rrr_mask = "threshold:0.55";
    train::Rrr rrr(train::rrr_settings(rc_cfg, {0.2f}, {0.4f}));
    const std::vector<float> g = rrr.input_gradient(*m, m->forward(tb.x)).to_vector<float>(), mv = mask.to_vector<float>();
    double sg = 0, pen = 0;
    for (int n = 0; n < 6; ++n) {
        double bg = 0, all = 0;
        for (int j = 0; j < 64; ++j) {
            const double v = double(g[n * 64 + j]) * g[n * 64 + j];
            all += v;
            if (mv[n * 64 + j] == 0.f) bg += v;
        }
        sg += bg / all, pen += bg;
    }
    EXPECT_NEAR(r.share_gradient, sg / 6, 1e-6);
    EXPECT_NEAR(r.rrr_penalty, pen / 6, 1e-6 * pen / 6);
    EXPECT_GT(r.share_gradient, 0.3) << "black pixels have input gradients (unlike their LRP relevance)";
    EXPECT_EQ(train::to_json(r)["samples"], 6);
    EXPECT_EQ(train::to_json(r)["share_background_hidden"][0]["layer"], "2");
    EXPECT_NEAR(train::to_json(r)["share_background_hidden"][0]["share"].get<double>(), shh, 1e-12);
}

// Hidden points by name: the ReLU '1' before the pool, at the input's 8 x 8 (the unshrunk mask); a name the model
// lacks is an error naming it; a model without pools after a ReLU or ResNet stages has none by default.
TEST(BackgroundCpu, HiddenLayersByName) {
    auto m = test::tiny_net(4);
    test::TinyBatch tb = test::tiny_batch(6);
    Fixed src;
    src.b = {tb.x, tb.y, {}};
    explain::Composite c = explain::make_composite("epsilon_plus");
    const train::BackgroundResult r = train::background_relevance(*m, src, c, kLevel, kZero, {}, 0.05f, {}, {}, {"1", "2"});
    ASSERT_EQ(r.share_hidden.size(), 2u);
    EXPECT_EQ(r.share_hidden[0].layer, "1");
    EXPECT_EQ(r.share_hidden[1].layer, "2");
    train::TrainConfig cfg;
    cfg.augment = "isnet";
    cfg.isnet_mask = "threshold:0.55";
    const Tensor mask = train::Isnet(train::isnet_settings(cfg, {0.2f}, {0.4f})).mask(tb.x);
    m->eval();
    const Tensor logits = m->forward(tb.x);
    explain::FlexPass flex(explain::FlexOptions{0.05f});
    flex.gradient(*m, explain::initial_relevance(logits, explain::Target::label(tb.y)));
    const Tensor H1 = explain::FlexHidden(*m, {"1"}).map(flex, 0);
    ASSERT_EQ(H1.shape(), (Shape{6, 4, 8, 8}));
    EXPECT_NEAR(r.share_hidden[0].share, mean_share(H1, mask), 1e-9);
    EXPECT_GT(r.share_hidden[0].share, r.share_hidden[1].share) << "the 8 x 8 map's background is the input's";
    test::expect_error([&] { train::background_relevance(*m, src, c, kLevel, kZero, {}, 0.05f, {}, {}, {"9"}); },
                       {"no module named '9'"});
    auto flat = std::make_unique<nn::Sequential>();  // conv-ReLU-flatten-linear: no hidden point of its own
    flat->emplace<nn::Conv2d>("0", 1, 2, 3, 1, 1, true);
    flat->emplace<nn::ReLU>("1");
    flat->emplace<nn::Flatten>("2");
    flat->emplace<nn::Linear>("3", 2 * 64, 4, true);
    const train::BackgroundResult none = train::background_relevance(*flat, src, c, kLevel, kZero);
    EXPECT_TRUE(none.share_hidden.empty());
    EXPECT_TRUE(train::to_json(none)["share_background_hidden"].empty());
}

TEST(BackgroundCpu, NonFiniteImagesAreCounted) {
    auto m = test::tiny_net(4);
    test::TinyBatch tb = test::tiny_batch(6);
    std::vector<float> v = tb.x.to_vector<float>();
    v[2 * 64 + 30] = std::nanf("");
    Fixed src;
    src.b = {Tensor::from_vector(v, tb.x.shape()), tb.y, {}};
    explain::Composite c = explain::make_composite("epsilon_plus");
    const train::BackgroundResult r = train::background_relevance(*m, src, c, kLevel, kZero);
    EXPECT_EQ(r.samples, 6);
    EXPECT_EQ(r.nonfinite_maps, 1);
    EXPECT_TRUE(std::isfinite(r.share_flex) && std::isfinite(r.isnet_heat_loss));
    EXPECT_TRUE(std::isnan(r.share_flex_zb) && std::isnan(r.isnet_heat_loss_zb));  // no input_one: no z^B map
    EXPECT_TRUE(train::to_json(r)["share_background_flex_zb"].is_null());
    // With the z^B map too: the same image is left out once, and the other maps' shares are finite.
    const train::BackgroundResult z = train::background_relevance(*m, src, c, kLevel, kZero, {}, 1e-2f, {}, kOne);
    EXPECT_EQ(z.nonfinite_maps, 1);
    EXPECT_TRUE(std::isfinite(z.share_flex_zb) && std::isfinite(z.isnet_heat_loss_zb));
}

// A model whose output layer is zero: every map and the input gradient are 0 everywhere. No share can be taken of
// them, so every share is NaN (null in the JSON) and each map counts as empty, the gradient's too; the rules
// the composite gave are recorded.
TEST(BackgroundCpu, ZeroMapsAndAZeroGradientAreEmpty) {
    auto m = test::tiny_net(4);
    for (auto& [n, p] : m->named_params())
        if (n.rfind("6.", 0) == 0) p->value.copy_from(Tensor::zeros(p->value.shape()));
    test::TinyBatch tb = test::tiny_batch(6);
    Fixed src;
    src.b = {tb.x, tb.y, {}};
    explain::Composite c = explain::make_composite("epsilon_plus");
    const train::BackgroundResult r = train::background_relevance(*m, src, c, kLevel, kZero);
    EXPECT_EQ(r.nonfinite_maps, 0);
    EXPECT_TRUE(std::isnan(r.share_gradient)) << r.share_gradient;
    EXPECT_TRUE(std::isnan(r.share_composite) && std::isnan(r.share_flex));
    EXPECT_EQ(r.empty_maps, 6 * (3 + static_cast<int64_t>(r.share_hidden.size())));  // composite, flex, gradient, hidden
    EXPECT_TRUE(train::to_json(r)["share_background_gradient"].is_null());
    EXPECT_NE(train::to_json(r)["rules"].get<std::string>().find("Linear"), std::string::npos);
}
