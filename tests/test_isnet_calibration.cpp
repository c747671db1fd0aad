// ISNet's C1/C2 calibration (--isnet-calibrate; isnet-edda.md A.2): C1 and C2 from hand-computed totals (each
// branch of the max and the min), the errors, the totals are those of the heatmap the ISNet step trains on, and a
// calibrated run trains as a run given those C1 and C2, records them, and resumes without the plain model's file;
// with LRP deep supervision, a row of totals per hidden map and a cut per stage, recorded and read back.
#include <cmath>
#include <filesystem>
#include <limits>

#include "datasets_test_util.h"
#include "isnet_test_util.h"
#include "lrp/lrp/flex_lds.h"
#include "lrp/lrp/flex_zb.h"
#include "lrp/lrp/target.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/isnet_calibration.h"
#include "lrp/train/isnet_step.h"
#include "lrp/train/optimizer.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::test;
using namespace lrp::train;

TEST(IsnetCalibration, CutFromTotalsTakesEachBranch) {
    // mean 2.5, sample stdev sqrt(5/3): C1 = mean/5 (mean - 3 stdev < 0), C2 = mean + 3 stdev (< 25 C1).
    const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
    IsnetCalibration c = isnet_cut_from_totals({1, 2, nan, 3, 4, inf});
    EXPECT_EQ(c.images, 4);
    EXPECT_EQ(c.nonfinite, 2);
    EXPECT_NEAR(c.mean, 2.5, 1e-12);
    EXPECT_NEAR(c.stdev, std::sqrt(5.0 / 3.0), 1e-12);
    EXPECT_NEAR(c.c1, 0.5, 1e-12);
    EXPECT_NEAR(c.c2, 2.5 + 3 * std::sqrt(5.0 / 3.0), 1e-12);
    // Tight totals: C1 = mean - 3 stdev, C2 = mean + 3 stdev.
    c = isnet_cut_from_totals({10, 10.1, 9.9});
    EXPECT_NEAR(c.c1, 9.7, 1e-9);
    EXPECT_NEAR(c.c2, 10.3, 1e-9);
    // Spread totals: mean 25, stdev 50: C1 = 5, C2 = 25 C1 = 125 (< mean + 3 stdev = 175).
    c = isnet_cut_from_totals({0, 0, 0, 100});
    EXPECT_NEAR(c.c1, 5, 1e-12);
    EXPECT_NEAR(c.c2, 125, 1e-12);
}

TEST(IsnetCalibration, TooFewOrZeroTotalsAreErrors) {
    EXPECT_TRUE(throws_with([] { isnet_cut_from_totals({}); }, {"at least 2"}));
    EXPECT_TRUE(throws_with([] { isnet_cut_from_totals({3.0, std::nan("")}); },
                            {"1 heatmap(s) with a finite total (1 held"}));
    EXPECT_TRUE(throws_with([] { isnet_cut_from_totals({0, 0, 0}); }, {"all zero"}));
    EXPECT_TRUE(throws_with([] { isnet_calibration_from_json(nlohmann::json{{"c1", 1}}, "ck"); }, {"ck: corrupt ISNet"}));
    IsnetCalibration bad = isnet_cut_from_totals({1, 2});
    bad.c1 = 3 * bad.c2;
    EXPECT_TRUE(throws_with([&] { isnet_calibration_from_json(isnet_calibration_json(bad), "ck"); }, {"need 0 < C1 <= C2"}));
}

TEST(IsnetCalibration, TotalsAreThoseOfTheStepsHeatmap) {
    TrainConfig c;
    c.augment = "isnet";
    c.isnet_explain = "stochastic";
    c.isnet_mask = "threshold:0.55";
    const TinyBatch b = tiny_batch(9);
    auto m1 = tiny_net(3), m2 = tiny_net(3);
    Isnet a(isnet_settings(c, {0.2f}, {0.4f})), s(isnet_settings(c, {0.2f}, {0.4f}));
    Generator g1(11), g2(11);  // the same Stochastic ISNet draws
    const std::vector<float> totals = a.heatmap_totals(*m1, b.x, b.y, g1).to_vector<float>();
    kernels::SgdParams p;
    SGD opt(m2->named_params(), p);
    const IsnetStepResult r = s.step(*m2, opt, b.x, b.y, g2);
    const std::vector<float> R = r.heatmap.to_vector<float>();
    ASSERT_EQ(totals.size(), 9u);
    for (size_t n = 0; n < 9; ++n) {
        double want = 0;
        for (size_t i = 0; i < 64; ++i) want += std::fabs(R[n * 64 + i]);
        EXPECT_GT(want, 0.0) << n;
        EXPECT_NEAR(totals[n], want, 1e-5 * want) << n;
    }
}

namespace {
TrainConfig isnet_cal_run(const std::string& out, const std::string& plain) {
    TrainConfig c = tiny(out);
    c.augment = "isnet";
    c.isnet_mask = "threshold:0.5";
    c.clip_grad_norm = 1.f;
    c.epochs = 2;
    c.isnet_calibrate = plain;
    return c;
}
}  // namespace

TEST(TrainerCpu, IsnetCalibrateTrainsWithTheMeasuredCutAndResumesWithout) {
    const std::string plain = fresh_dir("cal_plain");
    TrainConfig p = tiny(plain);
    p.epochs = 1;
    run_training(p);
    const std::string weights = plain + "/model.safetensors";
    // A calibrated run, cut mid-epoch and resumed after the plain model's file is gone (the cut is recorded).
    const std::string a = fresh_dir("cal_a"), b = fresh_dir("cal_b");
    TrainConfig ca = isnet_cal_run(a, weights);
    ca.stop_after_step = 6;
    EXPECT_TRUE(run_training(ca).stopped);
    const std::optional<IsnetCalibration> cal = read_checkpoint_state(a + "/checkpoint.safetensors").isnet_calibration;
    ASSERT_TRUE(cal.has_value());
    EXPECT_EQ(cal->images, 64);
    EXPECT_GT(cal->c1, 0.0);
    EXPECT_LE(cal->c1, cal->c2);
    EXPECT_FALSE(cal->c1 == 1.0 && cal->c2 == 25.0);
    EXPECT_EQ(cal->weights, std::filesystem::absolute(weights).lexically_normal().string());
    const std::string moved = weights + ".moved";
    std::filesystem::rename(weights, moved);
    ca.stop_after_step = 0;
    ca.resume = true;
    EXPECT_EQ(run_training(ca).epochs, 2);
    std::filesystem::rename(moved, weights);
    // The same run given those C1 and C2 (as floats) trains to the same weights: the cut is what the steps used.
    TrainConfig cb = isnet_cal_run(b, "");
    cb.isnet_c1 = static_cast<float>(cal->c1);
    cb.isnet_c2 = static_cast<float>(cal->c2);
    run_training(cb);
    EXPECT_TRUE(same_weights(a, b));
    EXPECT_EQ(rows(a).back()["isnet_heat_loss"], rows(b).back()["isnet_heat_loss"]);
}

TEST(TrainerCpu, IsnetCalibrateErrorsNameTheFlag) {
    const std::string d = fresh_dir("cal_err");
    TrainConfig c = isnet_cal_run(d, d + "/absent.safetensors");
    EXPECT_TRUE(throws_with([&] { run_training(c); }, {"--isnet-calibrate"}));
    EXPECT_TRUE(throws_with([&] { run_training(c); }, {"does not exist", "before the data is read"}));
    EXPECT_FALSE(std::filesystem::exists(d + "/config.json"));
    c.isnet_c1 = 2.f;  // given with the calibration: refused before anything runs
    EXPECT_TRUE(throws_with([&] { c.validate(); }, {"give one or the other"}));
    // A plain model of another width does not fit this run's model.
    const std::string plain = fresh_dir("cal_wide");
    TrainConfig p = tiny(plain);
    p.epochs = 1;
    p.width = 4;
    run_training(p);
    TrainConfig w = isnet_cal_run(fresh_dir("cal_err2"), plain + "/model.safetensors");
    EXPECT_TRUE(throws_with([&] { run_training(w); }, {"--isnet-calibrate"}));
}

// With LDS the totals have a row per hidden map: sum |G a| of the map after tiny_net's max-pool.
TEST(IsnetCalibration, LdsTotalsHaveARowPerHiddenMap) {
    TrainConfig c;
    c.augment = "isnet";
    c.isnet_explain = "label";
    c.isnet_mask = "threshold:0.55";
    c.isnet_lds = true;
    const TinyBatch b = tiny_batch(5);
    auto m1 = tiny_net(3), m2 = tiny_net(3);
    Isnet a(isnet_settings(c, {0.2f}, {0.4f}));
    Generator g(1);
    const Tensor totals = a.heatmap_totals(*m1, b.x, b.y, g);
    ASSERT_EQ(totals.shape(), (Shape{2, 5}));
    const Tensor logits = m2->forward(b.x);
    explain::FlexPass flex(explain::FlexOptions{a.settings().epsilon});
    flex.gradient(*m2, explain::initial_relevance(logits, explain::Target::label(b.y)));
    const std::vector<float> H = explain::FlexHidden(*m2).map(flex, 0).to_vector<float>(), t = totals.to_vector<float>();
    for (size_t n = 0; n < 5; ++n) {
        double want = 0;
        for (size_t i = 0; i < 64; ++i) want += std::fabs(H[n * 64 + i]);  // 4 channels x 4 x 4
        EXPECT_GT(want, 0.0) << n;
        EXPECT_NEAR(t[5 + n], want, 1e-5 * want) << n;
    }
    // With a map per class, each row holds an image's mean over its 3 maps.
    c.isnet_explain = "all";
    Isnet all(isnet_settings(c, {0.2f}, {0.4f}));
    const std::vector<float> ta = all.heatmap_totals(*m1, b.x, b.y, g).to_vector<float>();
    ASSERT_EQ(ta.size(), 10u);
    std::vector<double> input(5, 0.0), hidden(5, 0.0);
    for (int k = 0; k < 3; ++k) {
        m2->forward(b.x);
        const Tensor cls = Tensor::from_vector(std::vector<int32_t>(5, k), Shape{5});
        flex.gradient(*m2, explain::initial_relevance(logits, explain::Target::label(cls)));
        const std::vector<float> Hk = explain::FlexHidden(*m2).map(flex, 0).to_vector<float>();
        const std::vector<float> Rk = explain::FlexZb({-0.5f}, {2.f}, all.settings().epsilon).heatmap(*m2, flex, b.x)
                                          .to_vector<float>();
        for (size_t n = 0; n < 5; ++n)
            for (size_t i = 0; i < 64; ++i) {
                hidden[n] += std::fabs(Hk[n * 64 + i]) / 3;
                input[n] += std::fabs(Rk[n * 64 + i]) / 3;
            }
    }
    for (size_t n = 0; n < 5; ++n) {
        EXPECT_NEAR(ta[n], input[n], 1e-5 * input[n]) << n;
        EXPECT_NEAR(ta[5 + n], hidden[n], 1e-5 * hidden[n]) << n;
    }
    m2->clear_saved();
}

TEST(IsnetCalibration, HiddenCutsRoundTripAndAreChecked) {
    IsnetCalibration c = isnet_cut_from_totals({1, 2, 3});
    c.hidden.push_back(IsnetLayerCut{"layer1", 3, 0, 2.5, 0.5, 0.5, 4.0});
    const IsnetCalibration r = isnet_calibration_from_json(isnet_calibration_json(c), "ck");
    ASSERT_EQ(r.hidden.size(), 1u);
    EXPECT_EQ(r.hidden[0].layer, "layer1");
    EXPECT_EQ(r.hidden[0].c1, 0.5);
    EXPECT_EQ(r.hidden[0].c2, 4.0);
    EXPECT_TRUE(isnet_calibration_from_json(isnet_calibration_json(isnet_cut_from_totals({1, 2})), "ck").hidden.empty());
    c.hidden[0].c2 = 0.25;
    EXPECT_TRUE(throws_with([&] { isnet_calibration_from_json(isnet_calibration_json(c), "ck"); },
                            {"hidden map 'layer1' has C1 0.5, C2 0.25"}));
}

TEST(TrainerCpu, IsnetLdsCalibrateMeasuresEachStage) {
    const std::string plain = fresh_dir("cal_lds_plain");
    TrainConfig p = tiny(plain);
    p.epochs = 1;
    run_training(p);
    // Cut mid-epoch and resumed, then against an uninterrupted run: the per-layer losses' sums survive the checkpoint.
    const std::string a = fresh_dir("cal_lds"), b = fresh_dir("cal_lds_whole");
    TrainConfig c = isnet_cal_run(a, plain + "/model.safetensors");
    c.epochs = 1;
    c.isnet_lds = true;
    c.stop_after_step = 2;
    EXPECT_TRUE(run_training(c).stopped);
    c.stop_after_step = 0;
    c.resume = true;
    run_training(c);
    TrainConfig w = c;
    w.out_dir = b;
    w.resume = false;
    run_training(w);
    const nlohmann::json row = rows(a).back();
    ASSERT_TRUE(row.contains("isnet_layer_losses")) << row.dump();
    EXPECT_EQ(row["isnet_layer_losses"], rows(b).back()["isnet_layer_losses"]);
    EXPECT_EQ(row["isnet_heat_loss"], rows(b).back()["isnet_heat_loss"]);
    for (const char* k : {"input", "layer1", "layer2", "layer3", "layer4"})  // layer4's 2 x 2 map can be all foreground
        EXPECT_GE(row["isnet_layer_losses"].value(k, -1.0), 0.0) << k << " in " << row.dump();
    EXPECT_GT(row["isnet_layer_losses"].value("layer1", 0.0), 0.0) << row.dump();
    // Stopped after the epoch's last step (4 of 4) and resumed: the epoch is only evaluated, with no step before its
    // row, which still names the supervised layers (it said hidden1..hidden4).
    const std::string e = fresh_dir("cal_lds_end");
    TrainConfig ce = c;
    ce.out_dir = e;
    ce.resume = false;
    ce.epochs = 2;
    ce.stop_after_step = 4;
    EXPECT_TRUE(run_training(ce).stopped);
    ce.stop_after_step = 0;
    ce.resume = true;
    ce.stop_after_epoch = 1;
    run_training(ce);
    const auto re = rows(e);
    ASSERT_EQ(re.size(), 1u);
    std::vector<std::string> want, got;
    for (const auto& [k, v] : row["isnet_layer_losses"].items()) want.push_back(k);
    for (const auto& [k, v] : re[0]["isnet_layer_losses"].items()) got.push_back(k);
    EXPECT_EQ(got, want);
    const std::optional<IsnetCalibration> cal = read_checkpoint_state(a + "/checkpoint.safetensors").isnet_calibration;
    ASSERT_TRUE(cal.has_value());
    ASSERT_EQ(cal->hidden.size(), 4u);
    for (size_t l = 0; l < 4; ++l) {
        EXPECT_EQ(cal->hidden[l].layer, "layer" + std::to_string(l + 1));
        EXPECT_EQ(cal->hidden[l].images, 64);
        EXPECT_GT(cal->hidden[l].c1, 0.0);
        EXPECT_LE(cal->hidden[l].c1, cal->hidden[l].c2);
    }
    EXPECT_NE(cal->hidden[0].mean, cal->mean);
    EXPECT_TRUE(std::isfinite(rows(a).back()["isnet_heat_loss"].get<double>()));
}
