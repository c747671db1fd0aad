// occlusion_curves on a tiny ResNet trained briefly on synthetic data: curve structure, fraction 0 equal to
// evaluate(), AUC = the trapezoid of the returned curve, one point recomputed by hand, determinism, repeated
// m values, non-finite maps, option checks; and the CUDA run against the CPU (skips without a device). EDDA's
// faithfulness proxy on the same model: recomputed by hand (random control included), clean accuracy equal to
// evaluate(), non-finite maps, and on CUDA against the CPU.
#include "lrp/train/occlusion.h"
#include "lrp/train/faithfulness.h"

#include <cmath>

#include "lrp/data/dataset.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/models.h"
#include "lrp/ops/edda.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/occlusion.h"
#include "lrp/ops/reduce.h"
#include "lrp/ops/reldrop.h"
#include "lrp/train/optimizer.h"
#include "lrp/train/reldrop_step.h"
#include "lrp/train/step.h"
#include "lrp/train/trainer.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::train;

namespace {
constexpr int kC = 3, kH = 14, kW = 14, kClasses = 4;  // patch 4: a 4 x 4 grid with partial last row / column

struct Fixture {
    data::Dataset test = data::make_synthetic(40, kC, kH, kW, kClasses, 2);
    std::unique_ptr<nn::Sequential> model;
    Fixture() {
        nn::ModelSpec s;
        s.num_classes = kClasses;
        s.image_size = kH;
        s.base_width = 4;
        model = nn::make_model(s);
        Generator g(1);
        nn::init_weights(*model, g);
        const data::Dataset train_set = data::make_synthetic(128, kC, kH, kW, kClasses, 1);
        DeviceLoader loader(train_set, Device::cpu(), 32, true, {});
        kernels::SgdParams p;
        p.lr = 0.05f;
        p.momentum = 0.9f;
        SGD opt(model->named_params(), p);
        for (int epoch = 0; epoch < 2; ++epoch) {
            loader.start_epoch(3, epoch);
            for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
                const BatchSource::Batch batch = loader.batch(b);
                train_step(*model, opt, batch.x, batch.y);
            }
        }
    }
    // batch 16: the last of the three batches is partial
    DeviceLoader loader(Device d = Device::cpu()) const { return DeviceLoader(test, d, 16, false, {}); }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

// While it lives, the fixture model's fc.weight is zero: every relevance map is zero (restored afterwards).
class DeadHead {
public:
    explicit DeadHead(Fixture& f) {
        for (auto& [name, p] : f.model->named_params())
            if (name == "fc.weight") fc_ = &p->value;
        LRP_CHECK(fc_ != nullptr, "the fixture model has no fc.weight");
        kept_ = fc_->clone();
        fc_->copy_from(Tensor::zeros(fc_->shape()));
    }
    ~DeadHead() { fc_->copy_from(kept_); }

private:
    Tensor* fc_ = nullptr;
    Tensor kept_;
};

OcclusionOptions options(int steps = 5) {
    OcclusionOptions o;
    o.composite = "reldrop";  // needs no dataset statistics; the hand pipeline below uses it too
    o.patch = 4;
    o.steps = steps;
    o.seed = 11;
    return o;
}
}  // namespace

TEST(OcclusionCurvesCpu, StructureAndFractionZeroMatchEvaluate) {
    Fixture& f = fixture();
    DeviceLoader loader = f.loader();
    const EvalResult ev = evaluate(*f.model, loader, kClasses);
    const OcclusionResult r = occlusion_curves(*f.model, loader, options());
    EXPECT_EQ(r.samples, 40);
    EXPECT_EQ(r.patches, 16);
    EXPECT_EQ(r.grid_h, 4);
    EXPECT_EQ(r.composite, "reldrop");
    EXPECT_EQ(r.target, "label");
    EXPECT_EQ(r.nonfinite_maps, 0);
    EXPECT_EQ(r.occluded, (std::vector<int>{0, 3, 6, 10, 13, 16}));  // round(s / 5 * 16)
    ASSERT_EQ(r.fractions.size(), 6u);
    ASSERT_EQ(r.accuracy_morf.size(), 6u);
    ASSERT_EQ(r.accuracy_random.size(), 6u);
    EXPECT_EQ(r.fractions.front(), 0.0);
    EXPECT_EQ(r.fractions.back(), 1.0);
    EXPECT_DOUBLE_EQ(r.fractions[3], 10.0 / 16);
    EXPECT_GT(ev.top1, 1.0 / kClasses);  // the model learned something, so the curves can fall
    EXPECT_DOUBLE_EQ(r.accuracy_morf[0], ev.top1);
    EXPECT_DOUBLE_EQ(r.accuracy_random[0], ev.top1);
    EXPECT_DOUBLE_EQ(r.accuracy_random.back(), r.accuracy_morf.back());  // every patch filled: same input
    double auc_m = 0, auc_r = 0;
    for (size_t i = 0; i + 1 < r.fractions.size(); ++i) {
        const double dx = r.fractions[i + 1] - r.fractions[i];
        auc_m += dx * (r.accuracy_morf[i] + r.accuracy_morf[i + 1]) / 2;
        auc_r += dx * (r.accuracy_random[i] + r.accuracy_random[i + 1]) / 2;
    }
    EXPECT_DOUBLE_EQ(r.auc_morf, auc_m);
    EXPECT_DOUBLE_EQ(r.auc_random, auc_r);
    for (double a : {r.auc_morf, r.auc_random}) {
        EXPECT_GE(a, 0.0);
        EXPECT_LE(a, 1.0);
    }
    const nlohmann::json j = to_json(r);
    for (const char* key : {"fractions", "accuracy_morf", "accuracy_random", "auc_morf", "auc_random", "samples",
                            "patch", "P", "composite", "target", "nonfinite_maps"})
        EXPECT_TRUE(j.contains(key)) << key;
}

// One MoRF point recomputed from the ops: attribution, channel sum, patch sums, top-k, fill, forward.
TEST(OcclusionCurvesCpu, MorfPointMatchesHandPipeline) {
    Fixture& f = fixture();
    DeviceLoader loader = f.loader();
    const OcclusionResult r = occlusion_curves(*f.model, loader, options());
    explain::Composite comp = explain::make_composite("reldrop");
    double correct = 0;
    loader.start_epoch(0, 0);
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
        const BatchSource::Batch batch = loader.batch(b);
        const Tensor map =
            ops::channel_sum(explain::attribute(*f.model, batch.x, explain::Target::label(batch.y), comp));
        Tensor order = Tensor::empty(Shape{batch.x.dim(0), 16}, DType::I32);
        ops::topk_rows(ops::patch_relevance(map, 4), 16, order);
        Tensor x = batch.x.clone();
        ops::occlude_patches(x, order, 6, 4, {0.f});
        f.model->eval();
        correct += count_correct(f.model->forward(x), batch.y).to_vector<float>()[0];
    }
    EXPECT_DOUBLE_EQ(r.accuracy_morf[2], correct / 40);
}

// The random curve's point recomputed by hand, the random order drawn per sample at the sample's row: the same
// orders for any batch size.
TEST(OcclusionCurvesCpu, RandomPointMatchesHandPipelineAndOrdersIgnoreBatchSize) {
    Fixture& f = fixture();
    DeviceLoader loader = f.loader();
    const OcclusionResult r = occlusion_curves(*f.model, loader, options());
    Tensor all = Tensor::empty(Shape{40, 16}, DType::I32);
    random_patch_order(11, 0, all);
    double correct = 0;
    int64_t row = 0;
    loader.start_epoch(0, 0);
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
        const BatchSource::Batch batch = loader.batch(b);
        const int64_t bs = batch.x.dim(0);
        Tensor order = Tensor::empty(Shape{bs, 16}, DType::I32);
        random_patch_order(11, row, order);
        EXPECT_EQ(order.to_vector<int32_t>(), all.slice(row, row + bs).to_vector<int32_t>()) << "batch " << b;
        Tensor x = batch.x.clone();
        ops::occlude_patches(x, order, 6, 4, {0.f});
        f.model->eval();
        correct += count_correct(f.model->forward(x), batch.y).to_vector<float>()[0];
        row += bs;
    }
    EXPECT_DOUBLE_EQ(r.accuracy_random[2], correct / 40);
    Tensor seven = Tensor::empty(Shape{7, 16}, DType::I32);  // another batch size, rows 5..11
    random_patch_order(11, 5, seven);
    EXPECT_EQ(seven.to_vector<int32_t>(), all.slice(5, 12).to_vector<int32_t>());
    random_patch_order(12, 5, seven);
    EXPECT_NE(seven.to_vector<int32_t>(), all.slice(5, 12).to_vector<int32_t>()) << "the seed changes the orders";
}

// What the curves score: the label by default; with target pred the clean image's own prediction (so the first
// point is 1); with a class, that class.
TEST(OcclusionCurvesCpu, TargetSetsWhatIsScored) {
    Fixture& f = fixture();
    DeviceLoader l1 = f.loader(), l2 = f.loader(), l3 = f.loader();
    OcclusionOptions o = options(2);
    const OcclusionResult label = occlusion_curves(*f.model, l1, o);
    EXPECT_EQ(label.scored_against, "label");
    EXPECT_LT(label.accuracy_morf[0], 1.0);
    o.target = "pred";
    const OcclusionResult pred = occlusion_curves(*f.model, l2, o);
    EXPECT_EQ(pred.scored_against, "prediction on the unoccluded image");
    EXPECT_EQ(pred.accuracy_morf[0], 1.0);
    EXPECT_EQ(pred.accuracy_random[0], 1.0);
    o.target = "2";
    const OcclusionResult cls = occlusion_curves(*f.model, l3, o);
    EXPECT_EQ(cls.scored_against, "class 2");
    f.model->eval();
    const Tensor logits = f.model->forward(DeviceLoader(f.test, Device::cpu(), 40, false, {}).batch(0).x);
    Tensor pr = Tensor::empty(Shape{40}, DType::I32);
    ops::argmax_rows(logits, pr);
    double twos = 0;
    for (int32_t v : pr.to_vector<int32_t>()) twos += v == 2;
    EXPECT_DOUBLE_EQ(cls.accuracy_morf[0], twos / 40);
    EXPECT_NE(to_json(cls).value("rules", std::string()).find("Conv2d"), std::string::npos) << "rules recorded";
}

// A model whose output layer is zero explains nothing: every map is zero, and the result counts them.
TEST(OcclusionCurvesCpu, ConstantMapsAreCounted) {
    Fixture& f = fixture();
    OcclusionResult dead;
    {
        DeadHead zero(f);
        DeviceLoader loader = f.loader();
        dead = occlusion_curves(*f.model, loader, options(2));
    }
    EXPECT_EQ(dead.constant_maps, 40);
    DeviceLoader again = f.loader();
    EXPECT_EQ(occlusion_curves(*f.model, again, options(2)).constant_maps, 0);
}

TEST(OcclusionCurvesCpu, SameSeedSameResult) {
    Fixture& f = fixture();
    DeviceLoader l1 = f.loader(), l2 = f.loader();
    const OcclusionResult a = occlusion_curves(*f.model, l1, options());
    const OcclusionResult b = occlusion_curves(*f.model, l2, options());
    EXPECT_EQ(a.accuracy_morf, b.accuracy_morf);
    EXPECT_EQ(a.accuracy_random, b.accuracy_random);
    EXPECT_EQ(a.auc_random, b.auc_random);
}

// More steps than patches: steps with the same m give the same point (one forward serves them).
TEST(OcclusionCurvesCpu, RepeatedPatchCountsRepeatPoints) {
    Fixture& f = fixture();
    DeviceLoader loader = f.loader();
    const OcclusionResult r = occlusion_curves(*f.model, loader, options(40));
    ASSERT_EQ(r.occluded.size(), 41u);
    for (size_t s = 1; s < r.occluded.size(); ++s) {
        if (r.occluded[s] != r.occluded[s - 1]) continue;
        EXPECT_EQ(r.accuracy_morf[s], r.accuracy_morf[s - 1]) << s;
        EXPECT_EQ(r.accuracy_random[s], r.accuracy_random[s - 1]) << s;
    }
    EXPECT_NEAR(r.auc_morf, trapezoid_auc(r.fractions, r.accuracy_morf), 0.0);
}

namespace {
// One batch whose sample 1 (every sample with `all`) holds a NaN pixel: its relevance map is not finite.
class NanSource : public BatchSource {
public:
    explicit NanSource(const data::Dataset& ds, bool all = false) {
        DeviceLoader l(ds, Device::cpu(), 8, false, {});
        l.start_epoch(0, 0);
        b_ = l.batch(0);
        b_.x = b_.x.clone();
        std::vector<float> v = b_.x.to_vector<float>();
        for (int i = all ? 0 : 1; i < (all ? 8 : 2); ++i) v[static_cast<size_t>(i * kC * kH * kW + 17)] = std::nanf("");
        b_.x = Tensor::from_vector(v, b_.x.shape());
    }
    int64_t size() const override { return 8; }
    int64_t batches_per_epoch() const override { return 1; }
    void start_epoch(uint64_t, int64_t) override {}
    Batch batch(int64_t) override { return b_; }

private:
    Batch b_;
};
}  // namespace

TEST(OcclusionCurvesCpu, NonFiniteMapsAreCounted) {
    NanSource src(fixture().test);
    const OcclusionResult r = occlusion_curves(*fixture().model, src, options(2));
    EXPECT_EQ(r.nonfinite_maps, 1);
    EXPECT_EQ(r.samples, 8);
    NanSource every(fixture().test, true);  // no finite map: no curve, an error
    test::expect_error([&] { occlusion_curves(*fixture().model, every, options(2)); },
                       {"occlusion: none of the 8 images has a finite relevance map"});
}

namespace {
EddaSettings faith_settings() {
    EddaSettings s;
    s.patch = 4;
    s.fill = {0.f};
    return s;  // composite reldrop: needs no dataset statistics
}
}  // namespace

// The proxy recomputed from Edda::augment, an eval forward and a softmax in double on the host.
TEST(FaithfulnessCpu, MatchesHandPipelineAndEvaluate) {
    Fixture& f = fixture();
    DeviceLoader loader = f.loader();
    const EvalResult ev = evaluate(*f.model, loader, kClasses);
    const FaithfulnessResult r = faithfulness(*f.model, loader, faith_settings(), 5);
    EXPECT_EQ(r.samples, 40);
    EXPECT_EQ(r.nonfinite_maps, 0);
    EXPECT_DOUBLE_EQ(r.acc_clean, ev.top1);
    EXPECT_EQ(r.constant_maps, 0);
    Edda edda(faith_settings());
    int64_t row = 0;
    double drop_sal = 0, drop_non = 0, drop_rand = 0, beats = 0, acc_sal = 0;
    loader.start_epoch(0, 0);
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
        const BatchSource::Batch batch = loader.batch(b);
        const int64_t n = batch.x.dim(0);
        const Tensor X = edda.augment(*f.model, batch.x, batch.y);
        f.model->eval();
        const std::vector<float> lg = f.model->forward(X).to_vector<float>();
        f.model->clear_saved();
        // the control: one window per image at the arg-max of Philox uniforms over the 11 x 11 positions, each
        // image's drawn at its own counters (row * 31)
        Tensor u = Tensor::empty(Shape{n, 121}), pick = Tensor::empty(Shape{n, 1}, DType::I32);
        for (int64_t i = 0; i < n; ++i, ++row) {
            Generator gen(5, static_cast<uint64_t>(row) * 31);
            ops::uniform(u.slice(i, i + 1), gen, 0.f, 1.f);
        }
        ops::topk_rows(u, 1, pick);
        Tensor xr = batch.x.clone();
        ops::fill_windows(xr, pick.reshape(Shape{n}), 4, {0.f});
        const std::vector<float> lr = f.model->forward(xr).to_vector<float>();
        f.model->clear_saved();
        const std::vector<int32_t> y = batch.y.to_vector<int32_t>();
        auto prob = [&](int64_t row, int32_t k, int32_t* arg) {
            double z = 0;
            *arg = 0;
            for (int c = 0; c < kClasses; ++c) {
                z += std::exp(double(lg[row * kClasses + c]));
                if (lg[row * kClasses + c] > lg[row * kClasses + *arg]) *arg = c;
            }
            return std::exp(double(lg[row * kClasses + k])) / z;
        };
        for (int64_t i = 0; i < n; ++i) {
            int32_t a0, a1, a2;
            const double pc = prob(i, y[i], &a0), ps = prob(n + i, y[i], &a1), pn = prob(2 * n + i, y[i], &a2);
            drop_sal += pc - ps;
            drop_non += std::fabs(pc - pn);
            double zr = 0;
            for (int c = 0; c < kClasses; ++c) zr += std::exp(double(lr[i * kClasses + c]));
            drop_rand += pc - std::exp(double(lr[i * kClasses + y[i]])) / zr;
            beats += (pc - ps) > std::fabs(pc - pn);
            acc_sal += a1 == y[i];
        }
    }
    EXPECT_NEAR(r.mean_drop_salient, drop_sal / 40, 1e-6);
    EXPECT_NEAR(r.mean_abs_drop_nonsalient, drop_non / 40, 1e-6);
    EXPECT_NEAR(r.mean_drop_random, drop_rand / 40, 1e-6);
    // (the proxy's forward holds 4N rows, this one N or 3N: a GEMM of another size may flip one near tie)
    EXPECT_NEAR(r.share_salient_beats_nonsalient, beats / 40, 1.0 / 40 + 1e-12);
    EXPECT_NEAR(r.acc_salient, acc_sal / 40, 1.0 / 40 + 1e-12);
    EXPECT_EQ(r.seed, 5u);
    EXPECT_GT(r.mean_drop_salient, 0.0) << "filling the most relevant window should cost the label some probability";
    const nlohmann::json j = to_json(r);
    for (const char* key : {"mean_drop_salient", "mean_abs_drop_nonsalient", "share_salient_beats_nonsalient",
                            "mean_drop_random", "share_salient_beats_random", "seed",
                            "acc_clean", "acc_salient", "acc_nonsalient", "patch", "composite", "samples",
                            "constant_maps", "rules"})
        EXPECT_TRUE(j.contains(key)) << key;
}

// A model whose output layer is zero gives all-zero maps: no window is more relevant than another, so there is
// nothing to measure (an error, as with no finite map).
TEST(FaithfulnessCpu, ConstantMapsAreLeftOut) {
    Fixture& f = fixture();
    DeadHead zero(f);
    DeviceLoader loader = f.loader();
    test::expect_error([&] { faithfulness(*f.model, loader, faith_settings()); },
                       {"every finite relevance map of the 40 images is constant"});
}

// The windows are chosen on the channel-reduced map, so constancy is judged there: channels that cancel are
// constant under sum (not abs), a map <= 0 everywhere is constant under relu (not sum).
TEST(FaithfulnessCpu, ConstantMeansTheReducedMapIsConstant) {
    const std::vector<float> r = {0.5f, -1.f, 2.f,  3.f,  -0.5f, 1.f,  -2.f, -3.f,   // cancels over the 2 channels
                                  -1.f, -2.f, -0.f, -4.f, -0.5f, -0.1f, -3.f, -1.f,  // <= 0 everywhere
                                  1.f,  1.f,  1.f,  1.f,  1.f,  1.f,  1.f,  1.5f};   // varies in one pixel
    const Tensor t = Tensor::from_vector(r, Shape{3, 2, 2, 2});
    using R = ops::EddaReduce;
    EXPECT_EQ(constant_reduced_maps(t, R::Sum), (std::vector<char>{1, 0, 0}));
    EXPECT_EQ(constant_reduced_maps(t, R::Abs), (std::vector<char>{0, 0, 0}));
    EXPECT_EQ(constant_reduced_maps(t, R::Relu), (std::vector<char>{0, 1, 0}));
}

TEST(FaithfulnessCpu, NonFiniteMapsAreLeftOutAndCounted) {
    NanSource src(fixture().test);
    const FaithfulnessResult r = faithfulness(*fixture().model, src, faith_settings());
    EXPECT_EQ(r.nonfinite_maps, 1);
    EXPECT_EQ(r.samples, 8);
    EXPECT_TRUE(std::isfinite(r.mean_drop_salient));
}

TEST(OcclusionOptionsCpu, DefaultsAndErrorsNameTheValue) {
    EXPECT_EQ(default_occlusion_patch(28, 28), 4);
    EXPECT_EQ(default_occlusion_patch(64, 64), 4);
    EXPECT_EQ(default_occlusion_patch(224, 224), 16);
    EXPECT_EQ(default_occlusion_patch(3, 3), 3);
    OcclusionOptions o;
    EXPECT_EQ(o.composite, "epsilon_gamma_box");
    o.mean = {0.5f};
    o.stdev = {0.25f};
    EXPECT_EQ(resolve_occlusion_options(o, 1, 28, 28).patch, 4);
    auto bad = [&](auto edit, std::vector<std::string> parts) {
        OcclusionOptions b;
        b.composite = "reldrop";
        edit(b);
        test::expect_error([&] { resolve_occlusion_options(b, 3, 32, 32); }, parts);
    };
    bad([](OcclusionOptions& b) { b.steps = 0; }, {"steps must be in [1, 4096]", "got 0"});
    bad([](OcclusionOptions& b) { b.patch = 33; }, {"patch must be in [1, 32]", "got 33"});
    bad([](OcclusionOptions& b) { b.patch = -1; }, {"patch must be in [1, 32]", "got -1"});
    bad([](OcclusionOptions& b) { b.composite = "eps"; }, {"unknown composite 'eps'", "epsilon_plus_flat", "reldrop"});
    bad([](OcclusionOptions& b) { b.target = "truth"; }, {"unknown target 'truth'", "label, pred"});
    bad([](OcclusionOptions& b) { b.fill = "grey"; }, {"unknown fill 'grey'", "mean, reference, raw:<v>"});
    bad([](OcclusionOptions& b) { b.fill = "reference"; }, {"fill 'reference' needs the dataset mean and std"});
    bad([](OcclusionOptions& b) { b.composite = "epsilon_gamma_box"; }, {"epsilon_gamma_box needs the dataset mean"});
    bad([](OcclusionOptions& b) {
            b.mean = {0.5f};
            b.stdev = {0.2f};
        }, {"1 mean/std values for 3 channels"});
    OcclusionOptions ok;
    ok.mean = {0.5f, 0.5f, 0.5f};
    ok.stdev = {0.2f, 0.2f, 0.2f};
    ok.composite = "epsilon_gamma_box";
    ok.fill = "raw:0";
    ok.target = "pred*logit";
    EXPECT_NO_THROW(resolve_occlusion_options(ok, 3, 32, 32));
    EXPECT_DOUBLE_EQ(trapezoid_auc({0, 0.5, 1}, {1, 0.5, 0}), 0.5);
}

TEST(OcclusionCurvesCuda, MatchesCpuRun) {
    LRP_SKIP_WITHOUT_CUDA();
    Fixture& f = fixture();
    DeviceLoader cl = f.loader();
    const OcclusionResult c = occlusion_curves(*f.model, cl, options());
    f.model->to(Device::cuda(0));
    DeviceLoader gl = f.loader(Device::cuda(0));
    const OcclusionResult g = occlusion_curves(*f.model, gl, options());
    const EvalResult ev = evaluate(*f.model, gl, kClasses);
    f.model->to(Device::cpu());
    EXPECT_EQ(g.occluded, c.occluded);
    EXPECT_DOUBLE_EQ(g.accuracy_morf[0], ev.top1);
    // Same random orders; logits and relevance differ by rounding only, so a sample may flip at most rarely.
    for (size_t s = 0; s < c.fractions.size(); ++s) {
        EXPECT_NEAR(g.accuracy_random[s], c.accuracy_random[s], 2.5 / 40) << s;
        EXPECT_NEAR(g.accuracy_morf[s], c.accuracy_morf[s], 2.5 / 40) << s;
    }
}

// The proxy on CUDA: the same random control windows (Philox), figures equal to the CPU's up to rounding (a window
// at a near tie may move for one image in forty).
TEST(FaithfulnessCuda, MatchesCpuRun) {
    LRP_SKIP_WITHOUT_CUDA();
    Fixture& f = fixture();
    DeviceLoader cl = f.loader();
    const FaithfulnessResult c = faithfulness(*f.model, cl, faith_settings(), 3);
    f.model->to(Device::cuda(0));
    DeviceLoader gl = f.loader(Device::cuda(0));
    const FaithfulnessResult g = faithfulness(*f.model, gl, faith_settings(), 3);
    f.model->to(Device::cpu());
    EXPECT_EQ(g.samples, c.samples);
    EXPECT_EQ(g.nonfinite_maps, 0);
    EXPECT_NEAR(g.mean_p_clean, c.mean_p_clean, 1e-4);
    EXPECT_NEAR(g.mean_drop_random, c.mean_drop_random, 1e-4);
    EXPECT_NEAR(g.mean_drop_salient, c.mean_drop_salient, 0.05);
    EXPECT_NEAR(g.mean_abs_drop_nonsalient, c.mean_abs_drop_nonsalient, 0.05);
    EXPECT_NEAR(g.acc_clean, c.acc_clean, 1.0 / 40 + 1e-12);
}
