// ISNet's C1/C2 calibration (--isnet-calibrate; isnet-edda.md A.2): C1 and C2 from hand-computed totals (each
// branch of the max and the min), the errors, the totals are those of the heatmap the ISNet step trains on, and a
// calibrated run trains as a run given those C1 and C2, records them, and resumes without the plain model's file.
#include <cmath>
#include <filesystem>
#include <limits>

#include "datasets_test_util.h"
#include "isnet_test_util.h"
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
