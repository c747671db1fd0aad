// The EDDA step and runs (docs/edda.md) on the CPU: augment() equals attribution + window choice + fills composed
// by hand and leaves the model as it was; the loss is the weighted mean of the three parts' cross-entropies; with
// the copies weighted 0 the step is the plain step; settings are checked by name; a run logs EDDA's metrics,
// saves its preview and resumes mid-epoch bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lrp/lrp/attribution.h"
#include "lrp/ops/edda.h"
#include "lrp/train/edda_step.h"
#include "datasets_test_util.h"
#include "reldrop_step_test_util.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::test;
using lrp::train::Edda;
using lrp::train::EddaSettings;

namespace {
EddaSettings edda_settings(int patch = 5) {
    EddaSettings s;
    s.patch = patch;
    s.fill = {0.25f, -0.5f, 0.75f};
    return s;
}

// x with window pos[n] (of the (H - p + 1) x (W - p + 1) grid) filled with fill[c], by hand.
std::vector<float> filled(std::vector<float> x, int N, int C, int H, int W, int p, const std::vector<int32_t>& pos,
                          const std::vector<float>& fill) {
    const int ww = W - p + 1;
    for (int n = 0; n < N; ++n)
        for (int c = 0; c < C; ++c)
            for (int y = pos[n] / ww; y < pos[n] / ww + p; ++y)
                for (int w = pos[n] % ww; w < pos[n] % ww + p; ++w) x[((size_t(n) * C + c) * H + y) * W + w] = fill[c];
    return x;
}
}  // namespace

TEST(EddaStepCpu, AugmentEqualsAttributionThenWindows) {
    StepFixture f(Device::cpu());
    f.model->train(true);
    const auto before = snapshot(*f.model);
    Edda e(edda_settings());
    Tensor pos, valid;
    const Tensor X = e.augment(*f.model, f.x, f.y, &pos, &valid);
    EXPECT_TRUE(f.model->training());
    EXPECT_EQ(snapshot(*f.model), before) << "the attribution changed weights or running statistics";

    explain::Composite c = explain::make_composite("reldrop");
    const Tensor rel = explain::attribute(*f.model, f.x, explain::Target::label(f.y), c);
    const std::vector<int32_t> want_pos = ops::edda_select(rel, 5, ops::EddaReduce::Sum).to_vector<int32_t>();
    ASSERT_EQ(pos.to_vector<int32_t>(), want_pos);
    EXPECT_EQ(valid.to_vector<float>(), std::vector<float>(6, 1.f));
    const std::vector<int32_t> sal(want_pos.begin(), want_pos.begin() + 6), non(want_pos.begin() + 6, want_pos.end());
    EXPECT_NE(sal, non) << "the most and the least relevant windows coincide for every sample";
    const std::vector<float> x = f.x.to_vector<float>();
    ASSERT_EQ(X.shape(), (Shape{18, 3, 16, 16}));
    const size_t n = x.size();
    const std::vector<float> all = X.to_vector<float>();
    EXPECT_EQ(std::vector<float>(all.begin(), all.begin() + n), x);
    EXPECT_EQ(std::vector<float>(all.begin() + n, all.begin() + 2 * n), filled(x, 6, 3, 16, 16, 5, sal, {0.25f, -0.5f, 0.75f}));
    EXPECT_EQ(std::vector<float>(all.begin() + 2 * n, all.end()), filled(x, 6, 3, 16, 16, 5, non, {0.25f, -0.5f, 0.75f}));
}

// loss = sum_part w_part * sum_rows CE(row, target_part) / (N * sum w): recomputed in double from the logits.
TEST(EddaStepCpu, LossIsTheWeightedMeanOfThePartsCrossEntropies) {
    StepFixture f(Device::cpu());
    EddaSettings s = edda_settings(4);
    s.w_clean = 1.f, s.w_salient = 0.5f, s.w_nonsalient = 2.f;
    s.salient_smoothing = 0.7f;
    Edda e(s);
    train::StepOptions o;
    o.label_smoothing = 0.1f;
    const train::EddaStepResult r = edda_train_step(*f.model, *f.opt, e, f.x, f.y, o);
    const std::vector<float> lg = r.step.logits.to_vector<float>();
    const std::vector<int32_t> y = f.y.to_vector<int32_t>();
    const int N = 6, K = 5;
    const double w[3] = {1, 0.5, 2}, sm[3] = {0.1, 0.7, 0.1};
    double loss = 0, correct[3] = {0, 0, 0};
    for (int part = 0; part < 3; ++part)
        for (int i = 0; i < N; ++i) {
            const float* row = &lg[(size_t(part) * N + i) * K];
            double mx = row[0], z = 0;
            for (int k = 0; k < K; ++k) mx = std::max(mx, double(row[k]));
            for (int k = 0; k < K; ++k) z += std::exp(row[k] - mx);
            int arg = 0;
            for (int k = 0; k < K; ++k) {
                const double t = (k == y[i] ? 1 - sm[part] : 0) + sm[part] / K;
                loss -= w[part] * t * (row[k] - mx - std::log(z));
                if (row[k] > row[arg]) arg = k;
            }
            correct[part] += arg == y[i];
        }
    loss /= N * 3.5;
    EXPECT_NEAR(r.step.loss.to_vector<float>()[0], loss, 1e-5 * std::fabs(loss));
    EXPECT_EQ(r.step.correct.to_vector<float>()[0], correct[0]);
    EXPECT_EQ(r.salient_correct.to_vector<float>()[0], correct[1]);
    EXPECT_EQ(r.nonsalient_correct.to_vector<float>()[0], correct[2]);
    EXPECT_EQ(r.nonfinite.to_vector<float>()[0], 0.f);
}

// Coincident windows are counted among finite maps only: an epsilon that absorbs all relevance makes every map
// constant (both windows tie at the top-left one), and an image with a NaN pixel has a non-finite map, counted as such.
TEST(EddaStepCpu, CoincidentWindowsCountFiniteMapsOnly) {
    StepFixture f(Device::cpu());
    std::vector<float> xv = f.x.to_vector<float>();
    xv[3 * 16 * 16 + 7] = std::nanf("");  // image 1
    const Tensor x = Tensor::from_vector(xv, f.x.shape());
    EddaSettings s = edda_settings(4);
    s.composite_options.epsilon = 3e38f;
    Edda e(s);
    const train::EddaStepResult r = edda_train_step(*f.model, *f.opt, e, x, f.y);
    EXPECT_EQ(r.nonfinite.to_vector<float>()[0], 1.f);
    EXPECT_EQ(r.coincident.to_vector<float>()[0], 5.f) << "the 5 finite, constant maps of 6";
}

// edda_loss on given logits, with one sample's copies left out (valid 0): the loss and every gradient entry
// against (w_part / (N * sum w)) * valid * (softmax - target), computed in double.
TEST(EddaStepCpu, LossAndGradientMatchTheFormulaWithACopyLeftOut) {
    const int N = 4, K = 3;
    EddaSettings s = edda_settings();
    s.w_clean = 0.5f, s.w_salient = 2.f, s.w_nonsalient = 1.f;
    s.salient_smoothing = 0.6f;
    const std::vector<float> lg = random_vec(size_t(3) * N * K, 17, -3.f, 3.f);
    const std::vector<int32_t> y = {2, 0, 1, 2};
    const std::vector<float> valid = {1.f, 0.f, 1.f, 1.f};
    Tensor dl = Tensor::empty(Shape{3 * N, K});
    const float loss = train::edda_loss(Tensor::from_vector(lg, Shape{3 * N, K}), Tensor::from_vector(y, Shape{N}),
                                        Tensor::from_vector(valid, Shape{N}), s, 0.1f, dl)
                           .to_vector<float>()[0];
    const std::vector<float> g = dl.to_vector<float>();
    const double w[3] = {0.5, 2, 1}, sm[3] = {0.1, 0.6, 0.1}, denom = N * 3.5;
    double want = 0;
    for (int part = 0; part < 3; ++part)
        for (int i = 0; i < N; ++i) {
            const size_t row = size_t(part) * N + i;
            const double keep = part == 0 ? 1.0 : valid[i];
            double z = 0;
            for (int k = 0; k < K; ++k) z += std::exp(double(lg[row * K + k]));
            for (int k = 0; k < K; ++k) {
                const double p = std::exp(double(lg[row * K + k])) / z, t = (k == y[i] ? 1 - sm[part] : 0) + sm[part] / K;
                want -= keep * w[part] * t * std::log(p) / denom;
                EXPECT_NEAR(g[row * K + k], keep * w[part] / denom * (p - t), 1e-6) << "part " << part << " row " << i;
            }
        }
    EXPECT_NEAR(loss, want, 1e-5 * std::fabs(want));
    for (int part = 1; part < 3; ++part)
        for (int k = 0; k < K; ++k) EXPECT_EQ(g[(size_t(part) * N + 1) * K + k], 0.f) << "a left-out copy has a gradient";
}

// Copies weighted 0 contribute nothing: on a model without BatchNorm (whose batch statistics would see them) the
// step updates the weights as the plain step on the clean rows does, up to the rounding of larger GEMMs.
TEST(EddaStepCpu, CopiesWeightedZeroLeaveThePlainStep) {
    auto make = [] {
        nn::ModelSpec spec;
        spec.arch = "vgg11";
        spec.num_classes = 5;
        spec.image_size = 16;
        spec.base_width = 4;
        auto m = nn::make_model(spec);
        Generator g(3);
        nn::init_weights(*m, g, "torchvision");
        return m;
    };
    auto ma = make(), mb = make();
    kernels::SgdParams p;
    p.lr = 0.1f;
    p.momentum = 0.9f;
    train::SGD oa(ma->named_params(), p), ob(mb->named_params(), p);
    const Tensor x = rand_tensor({4, 3, 16, 16}, 5, -2.f, 2.f);
    const Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 3, 1, 4}, {4});
    EddaSettings s = edda_settings(3);
    s.w_salient = s.w_nonsalient = 0.f;
    Edda e(s);
    const train::EddaStepResult r = edda_train_step(*ma, oa, e, x, y);
    const train::StepResult plain = train::train_step(*mb, ob, x, y);
    EXPECT_NEAR(r.step.loss.to_vector<float>()[0], plain.loss.to_vector<float>()[0], 1e-6);
    const auto sa = snapshot(*ma), sb = snapshot(*mb);
    double diff = 0, norm = 0;
    for (const auto& [k, v] : sa)
        for (size_t i = 0; i < v.size(); ++i) {
            diff = std::max(diff, std::fabs(double(v[i]) - sb.at(k)[i]));
            norm = std::max(norm, std::fabs(double(sb.at(k)[i])));
        }
    EXPECT_LT(diff, 1e-6 * norm) << "largest difference " << diff;
    // The copies do change the step once they weigh something.
    auto mc = make();
    train::SGD oc(mc->named_params(), p);
    Edda e2(edda_settings(3));
    edda_train_step(*mc, oc, e2, x, y);
    EXPECT_NE(snapshot(*mc), sb);
}

TEST(EddaStepCpu, RejectsBadSettingsByName) {
    auto bad = [](const std::function<void(EddaSettings&)>& edit, const std::vector<std::string>& parts) {
        EddaSettings s = edda_settings();
        edit(s);
        expect_error([&] { Edda e(s); }, parts);
    };
    bad([](EddaSettings& s) { s.target = "logit"; }, {"target must be label or pred", "'logit'"});
    bad([](EddaSettings& s) { s.w_salient = -1.f; }, {"loss weights", "-1"});
    bad([](EddaSettings& s) { s.w_clean = s.w_salient = s.w_nonsalient = 0.f; }, {"sum to 0"});
    bad([](EddaSettings& s) { s.salient_smoothing = 1.5f; }, {"smoothing must be in [0, 1]"});
    bad([](EddaSettings& s) { s.composite = "epsilon"; }, {"unknown composite 'epsilon'"});
    // a window larger than the images: named when the batch arrives
    StepFixture f(Device::cpu());
    Edda e(edda_settings(17));
    expect_error([&] { e.augment(*f.model, f.x, f.y); }, {"patch must be in [1, 16]", "got 17"});
}

TEST(EddaSettingsFromConfig, DefaultsAndErrorsNameTheFlag) {
    train::TrainConfig c;
    c.augment = "edda";
    const std::vector<float> mean{0.5f}, sd{0.25f};
    EXPECT_EQ(train::edda_settings(c, mean, sd, 1, 28, 28).patch, 7);
    EXPECT_EQ(train::edda_settings(c, mean, sd, 1, 32, 30).patch, 8);  // ceil(30 / 4)
    const EddaSettings s = train::edda_settings(c, mean, sd, 1, 28, 28);
    EXPECT_EQ(s.salient_smoothing, 1.f);
    EXPECT_EQ(s.fill, std::vector<float>{0.f});
    c.edda_salient_target = "smooth:0.25";
    EXPECT_EQ(train::edda_settings(c, mean, sd, 1, 28, 28).salient_smoothing, 0.25f);
    c.edda_salient_target = "label";
    EXPECT_EQ(train::edda_settings(c, mean, sd, 1, 28, 28).salient_smoothing, 0.f);
    for (const char* v : {"smooth:2", "smooth:", "smooth:0.5x", "soft", "smooth:0x0.8p0"}) {
        c.edda_salient_target = v;
        EXPECT_TRUE(throws_with([&] { train::edda_settings(c, mean, sd, 1, 28, 28); }, {"--edda-salient-target", v}))
            << v;
        // and before the data load
        EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--edda-salient-target", v})) << v;
    }
    c.edda_salient_target = "uniform";
    c.edda_patch = 29;
    EXPECT_TRUE(throws_with([&] { train::edda_settings(c, mean, sd, 1, 28, 28); }, {"--edda-patch 29", "28 x 28"}));
    c.edda_patch = 0;
    c.edda_fill = "blue";
    EXPECT_TRUE(throws_with([&] { train::edda_settings(c, mean, sd, 1, 28, 28); }, {"--edda-fill", "'blue'"}));
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--edda-fill", "'blue'"}));
    c.edda_fill = "mean";
    c.edda_composite = "epsilon_plus_flatt";
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--edda-composite must be a composite", "epsilon_plus_flat, ",
                                                    "'epsilon_plus_flatt'"}));
    c.edda_composite = "reldrop";
    c.edda_w_clean = c.edda_w_salient = c.edda_w_nonsalient = 0.f;
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--edda-w-clean", "all 0"}));
    c.edda_w_clean = 1.f;
    c.edda_reduce = "max";
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"--edda-reduce", "'max'"}));
}

TEST(TrainerCpu, EddaRunLogsItsMetricsAndResumesMidEpochBitForBit) {
    const std::string a = fresh_dir("edda_full"), b = fresh_dir("edda_resumed");
    train::TrainConfig ca = tiny(a);
    ca.epochs = 2;
    ca.augment = "edda";
    train::run_training(ca);
    const auto r = rows(a);
    ASSERT_EQ(r.size(), 2u);
    for (const auto& row : r) {
        for (const char* k : {"edda_salient_acc", "edda_nonsalient_acc"}) {
            ASSERT_TRUE(row.contains(k)) << row.dump();
            const double v = row[k].get<double>();
            EXPECT_GE(v, 0.0);
            EXPECT_LE(v, 1.0);
            EXPECT_NEAR(v * 64, std::round(v * 64), 1e-6) << k << ": a count over the epoch's 64 images";
        }
        EXPECT_EQ(row["edda_nonfinite_maps"].get<double>(), 0.0);
        const double coincident = row.at("edda_coincident_windows").get<double>();
        EXPECT_TRUE(coincident >= 0 && coincident <= 64 && coincident == std::round(coincident)) << coincident;
        EXPECT_FALSE(row.contains("reldrop_occluded_fraction"));
    }
    EXPECT_TRUE(std::filesystem::exists(a + "/first_batch.png"));
    train::TrainConfig cb = ca;
    cb.out_dir = b;
    cb.stop_after_step = 2;  // inside epoch 1 (4 steps)
    train::run_training(cb);
    cb.stop_after_step = 0;
    cb.resume = true;
    train::run_training(cb);
    EXPECT_TRUE(same_weights(a, b));
    std::vector<nlohmann::json> q = rows(b);
    ASSERT_EQ(q.size(), 2u);
    for (size_t i = 0; i < q.size(); ++i) {
        for (const char* k : {"train_seconds", "images_per_s", "peak_device_bytes"}) q[i][k] = r[i][k];  // timings
        EXPECT_EQ(q[i], r[i]);
    }
}

// An epsilon that absorbs all relevance leaves constant maps: every image's two windows tie at the top-left one.
// The count goes through a mid-epoch checkpoint (2 of the 4 steps before it), resumed with the default patch named.
TEST(TrainerCpu, EddaCoincidentWindowsAreCountedThroughAResume) {
    const std::string a = fresh_dir("edda_coincident");
    train::TrainConfig c = tiny(a);
    c.epochs = 1;
    c.augment = "edda";
    c.edda_epsilon = 3e38f;
    c.stop_after_step = 2;
    train::run_training(c);
    c.stop_after_step = 0;
    c.resume = true;
    // --edda-patch 0 (recorded) is a quarter of the 32 x 32 images' side: naming another side is refused, naming
    // that one resumes (it was refused as 'checkpoint has 0, now 8').
    c.edda_patch = 5;
    EXPECT_TRUE(throws_with([&] { train::run_training(c); },
                            {"settings differ", "edda-patch: checkpoint has 0, now 5 (0: a quarter of the smaller "
                             "image side, here 8)"}));
    c.edda_patch = 8;
    train::run_training(c);
    {  // recorded as the run recorded it: a later --resume would take another config.json for another run's
        std::ifstream in(a + "/config.json");
        EXPECT_EQ(nlohmann::json::parse(in).at("edda-patch"), 0);
    }
    const auto r = rows(a);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].at("edda_coincident_windows").get<double>(), 64.0) << r[0].dump();
}
