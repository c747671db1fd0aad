// Training settings: the config's JSON round trip, type errors naming the key, validation of every flag
// (non-finite numbers, ranges), the settings a --resume inherits, and the schedule a config makes.
#include <cmath>
#include <functional>
#include <limits>

#include "../trainers/src/run_settings.h"
#include "lrp/train/config.h"
#include "lrp/train/schedule.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::train;

TEST(TrainConfigCpu, JsonRoundTripAndValidation) {
    TrainConfig c;
    c.lr = 0.3f;
    c.arch = "vgg11_bn";
    nlohmann::json j = c;
    TrainConfig d;
    from_json(j, d);
    EXPECT_EQ(d.arch, "vgg11_bn");
    EXPECT_FLOAT_EQ(d.lr, 0.3f);
    EXPECT_THROW(from_json(nlohmann::json{{"learning-rate", 0.1}}, d), Error);  // unknown key named
    // A wrong type names the key, what it must be and the value given; integers are not truncated.
    auto config_error = [&](const nlohmann::json& j) {
        try {
            from_json(j, d);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(config_error({{"epochs", "ten"}}).find("config key 'epochs' must be an integer, got \"ten\""),
              std::string::npos);
    EXPECT_NE(config_error({{"epochs", 2.5}}).find("'epochs' must be an integer, got 2.5"), std::string::npos);
    EXPECT_NE(config_error({{"lr", nullptr}}).find("'lr' must be a number, got null"), std::string::npos);
    EXPECT_NE(config_error({{"nesterov", 1}}).find("'nesterov' must be true or false, got 1"), std::string::npos);
    EXPECT_NE(config_error({{"arch", 5}}).find("'arch' must be a string, got 5"), std::string::npos);
    EXPECT_NE(config_error({{"seed", -1}}).find("'seed' must be a non-negative integer, got -1"), std::string::npos);
    EXPECT_EQ(config_error({{"lr", 1}, {"epochs", 4}}), "no error");  // an integer is a number
    EXPECT_FLOAT_EQ(d.lr, 1.f);
    TrainConfig bad;
    bad.batch_size = 0;
    EXPECT_THROW(bad.validate(), Error);
    bad = TrainConfig();
    bad.augment = "mixup";
    EXPECT_THROW(bad.validate(), Error);
    bad = TrainConfig();
    bad.adam_beta2 = 1.f;
    test::expect_error([&] { bad.validate(); }, {"--adam-beta2 must be in [0, 1) (got 1"});
    bad = TrainConfig();
    bad.adam_beta1 = -0.1f;
    test::expect_error([&] { bad.validate(); }, {"--adam-beta1 must be in [0, 1)"});
    bad = TrainConfig();  // 33554432 * 512 / 64 wrapped to a 1-channel VGG
    bad.width = 33554432;
    test::expect_error([&] { bad.validate(); }, {"--width must be in [1, 4096] (got 33554432"});
    bad.width = 4096;
    EXPECT_NO_THROW(bad.validate());
    bad = TrainConfig();  // recorded as JSON: a path that is not UTF-8 is refused before the run starts
    bad.out_dir = "runs/caf\xE9";
    test::expect_error([&] { bad.validate(); }, {"--out 'runs/caf\\xE9' is not valid UTF-8"});
    // Non-finite numbers are refused by validate(), before any data is read, naming the flag.
    const float inf = std::numeric_limits<float>::infinity(), nan = std::nanf("");
    const std::vector<std::pair<std::string, std::function<void(TrainConfig&)>>> nonfinite = {
        {"--weight-decay", [&](TrainConfig& c) { c.weight_decay = inf; }},
        {"--clip-grad-norm", [&](TrainConfig& c) { c.clip_grad_norm = inf; }},
        {"--adam-eps", [&](TrainConfig& c) { c.adam_eps = inf; }},
        {"--adam-eps", [&](TrainConfig& c) { c.adam_eps = 0.f; }},  // 0/0 for a zero gradient
        {"--step-gamma", [&](TrainConfig& c) { c.step_gamma = nan; }},
        {"--reldrop-epsilon", [&](TrainConfig& c) { c.augment = "reldrop-block", c.reldrop_epsilon = inf; }},
    };
    for (const auto& [flag, set] : nonfinite) {
        TrainConfig c;
        set(c);
        c.resolve_defaults();
        try {
            c.validate();
            ADD_FAILURE() << flag << ": no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(flag + " must be a finite number"), std::string::npos) << e.what();
        }
    }
}

// --resume takes the recorded settings except the ones given now and the per-invocation ones.
TEST(TrainConfigCpu, ResumeInheritsRecordedSettings) {
    TrainConfig run;
    run.dataset = "synthetic";
    run.epochs = 2;
    run.lr = 0.3f;
    run.out_dir = "runs/old";
    run.stop_after_epoch = 1;
    run.device = "cuda:1";
    nlohmann::json saved = run;
    saved["key-of-a-later-build"] = 1;  // skipped, not an error
    TrainConfig now;
    now.out_dir = "runs/moved";
    now.lr = 0.5f;
    now.resume = true;
    const std::vector<std::string> taken = inherit_settings(now, saved, {"out", "resume", "lr"});
    EXPECT_EQ(now.dataset, "synthetic");
    EXPECT_EQ(now.epochs, 2);
    EXPECT_FLOAT_EQ(now.lr, 0.5f);         // given now: kept (run_training then refuses the difference)
    EXPECT_EQ(now.out_dir, "runs/moved");  // per invocation
    EXPECT_EQ(now.stop_after_epoch, 0);    // a one-shot stop is not inherited
    EXPECT_EQ(now.device, "auto");         // nor the machine's device
    EXPECT_TRUE(now.resume);
    EXPECT_EQ(std::count(taken.begin(), taken.end(), "dataset"), 1);
    EXPECT_EQ(std::count(taken.begin(), taken.end(), "lr"), 0);
    saved["epochs"] = "two";
    EXPECT_THROW(inherit_settings(now, saved, {}), Error);
    EXPECT_THROW(inherit_settings(now, nlohmann::json::array(), {}), Error);
}

// Rule specs that builds before 2026-12-07 accepted and recorded (a trailing ':', a repeated option; both changed
// nothing, and the parser now refuses them): tidied where a run's settings are read back and compared, so the run
// resumes; other specs are left as they are.
TEST(TrainConfigCpu, RecordedRuleSpecsAreTidied) {
    EXPECT_EQ(tidy_recorded_rule("conv=epsilon:0.1:"), "conv=epsilon:0.1");
    EXPECT_EQ(tidy_recorded_rule("conv=zplus:clip:clip:zero_bias:zero_bias"), "conv=zplus:clip:zero_bias");
    EXPECT_EQ(tidy_recorded_rule("conv=gamma:0.25:stab=1e-3"), "conv=gamma:0.25:stab=1e-3");
    EXPECT_EQ(tidy_recorded_rule("conv=epsilon::0.1"), "conv=epsilon::0.1");  // an inner empty field: refused as ever
    TrainConfig run;
    run.reldrop_rules = {"conv=epsilon:0.1:"};
    run.reldrop_first_rules = {"conv=flat:"};
    run.reldrop_layer_rules = {"fc=zplus:norm_scale:norm_scale"};
    const nlohmann::json saved = run;
    TrainConfig now;
    inherit_settings(now, saved, {"out", "resume"});
    EXPECT_EQ(now.reldrop_rules, std::vector<std::string>{"conv=epsilon:0.1"});
    EXPECT_EQ(now.reldrop_first_rules, std::vector<std::string>{"conv=flat"});
    EXPECT_EQ(now.reldrop_layer_rules, std::vector<std::string>{"fc=zplus:norm_scale"});
    // --resume compares them tidied: the recorded spec and the corrected one agree.
    TrainConfig corrected = run;
    corrected.reldrop_rules = {"conv=epsilon:0.1"};
    corrected.reldrop_first_rules = {"conv=flat"};
    corrected.reldrop_layer_rules = {"fc=zplus:norm_scale"};
    EXPECT_EQ(effective_settings(saved), effective_settings(nlohmann::json(corrected)));
}

// The schedule a config makes: cosine steps, warmup and --min-lr; a warmup shorter than one step is none.
TEST(TrainConfigCpu, ScheduleFromTheSettings) {
    TrainConfig c;
    c.schedule = "cosine";
    c.epochs = 4;
    c.lr = 0.2f;
    c.warmup_epochs = 1.5f;
    LrSchedule s = make_schedule(c, 10);
    EXPECT_EQ(s.total_steps, 40);
    EXPECT_EQ(s.warmup_steps, 15);
    EXPECT_FLOAT_EQ(s.lr_at(0), 0.2f / 15);
    EXPECT_FLOAT_EQ(s.lr_at(39), 0.2f * (1 + std::cos(M_PI * 24 / 25)) / 2);
    c.min_lr = 1e-3f;  // --min-lr: where cosine ends
    EXPECT_FLOAT_EQ(make_schedule(c, 10).lr_at(40), 1e-3f);
    EXPECT_FLOAT_EQ(make_schedule(c, 10).lr_at(39), 1e-3f + (0.2f - 1e-3f) * (1 + std::cos(M_PI * 24 / 25)) / 2);
    c.min_lr = 0.3f;
    test::expect_error([&] { c.validate(); }, {"--min-lr must be in [0, --lr 0.2] (got 0.3)"});
    c.min_lr = 0.f;
    c.warmup_epochs = 0.05f;
    EXPECT_EQ(make_schedule(c, 10).warmup_steps, 0);
}
