// The RelDrop training step on the CPU: occlude() equals attribution + reldrop_apply composed by hand,
// the model's mode and BN statistics survive it, a failed batch coin skips the pass but reserves the
// same counters, the step trains on the occluded batch, and bad settings are rejected by name.
#include <gtest/gtest.h>

#include <algorithm>

#include "lrp/lrp/attribution.h"
#include "lrp/ops/reldrop.h"
#include "lrp/train/data_source.h"
#include "reldrop_step_test_util.h"

using namespace lrp;
using namespace lrp::test;
using lrp::train::RelDrop;

TEST(RelDropStepCpu, OccludeEqualsAttributionThenMasking) {
    for (const char* variant : {"pixel", "block", "patch"}) {
        StepFixture f(Device::cpu());
        RelDrop rd(settings(variant, 1.f, std::string(variant) == "patch" ? 5 : 3));
        Generator g(42, 10);
        Tensor status = Tensor::empty({6}, DType::I32, Device::cpu());
        Tensor got = rd.occlude(*f.model, f.x, f.y, g, status);

        explain::Composite c = explain::make_composite("reldrop");
        Tensor rel = explain::attribute(*f.model, f.x, explain::Target::label(f.y), c);
        Tensor want = f.x.clone();
        Generator g2(42, 10);
        ops::reldrop_apply(want, rel, rd.settings().params, g2);
        EXPECT_EQ(got.to_vector<float>(), want.to_vector<float>()) << variant;
        EXPECT_EQ(g.offset(), g2.offset()) << variant;
        EXPECT_NE(got.to_vector<float>(), f.x.to_vector<float>()) << variant << ": nothing was occluded";
        for (int32_t s : status.to_vector<int32_t>()) EXPECT_EQ(s, kernels::kRelDropApplied) << variant;
    }
}

TEST(RelDropStepCpu, KeepsTrainModeAndBnStatistics) {
    StepFixture f(Device::cpu());
    f.model->train(true);
    const auto before = snapshot(*f.model);
    RelDrop rd(settings("block", 1.f));
    Generator g(1);
    rd.occlude(*f.model, f.x, f.y, g);
    EXPECT_TRUE(f.model->training());
    EXPECT_EQ(snapshot(*f.model), before) << "the attribution pass changed weights or running statistics";
    f.model->eval();
    rd.occlude(*f.model, f.x, f.y, g);
    EXPECT_FALSE(f.model->training());
}

// reldrop.md Q7: with per-sample coins, attributing only the samples a coin selects occludes the batch as the
// whole pass does, up to rounding (eval-mode samples are independent, but a batched GEMM of another size rounds
// differently: 1e-6 relative in the maps here, amplified to ~2e-4 by the reldrop composite's copied residuals,
// so a pixel at a threshold may flip), draws the same counters and coins, and skips the pass when no coin
// selects; with a per-batch coin it is the whole batch.
TEST(RelDropStepCpu, SelectedOnlyAttributionOccludesAsTheWholeBatchDoes) {
    StepFixture f(Device::cpu(), 11);
    struct Case {
        const char* variant;
        const char* coin;
        float p;
    };
    for (const Case& c : {Case{"pixel", "reference", 0.4f}, Case{"block", "per_sample", 0.5f},
                          Case{"patch", "per_sample", 0.3f}}) {
        SCOPED_TRACE(c.variant);
        train::RelDropSettings s = settings(c.variant, c.p, std::string(c.variant) == "patch" ? 4 : 2, c.coin);
        RelDrop whole(s);
        s.lrp_selected_only = true;
        RelDrop part(s);
        int partial_calls = 0;
        for (uint64_t offset : {0u, 977u, 5000u, 12345u}) {
            Generator g1(11, offset), g2(11, offset);
            Tensor s1 = Tensor::empty({11}, DType::I32, Device::cpu()), s2 = Tensor::empty({11}, DType::I32, Device::cpu());
            const Tensor a = whole.occlude(*f.model, f.x, f.y, g1, s1), b = part.occlude(*f.model, f.x, f.y, g2, s2);
            EXPECT_EQ(s2.to_vector<int32_t>(), s1.to_vector<int32_t>()) << offset;
            const std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>(), vx = f.x.to_vector<float>();
            const std::vector<int32_t> st = s1.to_vector<int32_t>();
            const size_t per = vx.size() / 11;
            size_t differ = 0, occluded = 0;
            for (size_t i = 0; i < vx.size(); ++i) {
                differ += va[i] != vb[i];
                occluded += va[i] != vx[i];
                if (st[i / per] == kernels::kRelDropNotSelected) {
                    EXPECT_EQ(vb[i], vx[i]) << "unselected sample changed";
                }
            }
            EXPECT_LE(differ * 50, occluded) << offset << ": the masks differ in more than 2% of the occluded values";
            EXPECT_EQ(g2.offset(), g1.offset());
            EXPECT_EQ(whole.last_attributed(), 11);
            int64_t selected = 0;
            for (int32_t v : s1.to_vector<int32_t>()) selected += v != kernels::kRelDropNotSelected;
            EXPECT_EQ(part.last_attributed(), selected) << offset;
            partial_calls += selected > 0 && selected < 11;
        }
        EXPECT_GT(partial_calls, 0) << "no call attributed a strict subset: the test shows nothing";
    }
    // No coin selects: no pass, x itself back, the counters reserved.
    train::RelDropSettings s = settings("pixel", 0.f);
    s.lrp_selected_only = true;
    RelDrop none(s);
    Generator g(2, 40);
    EXPECT_EQ(none.occlude(*f.model, f.x, f.y, g).raw_data(), f.x.raw_data());
    EXPECT_EQ(none.last_attributed(), 0);
    EXPECT_EQ(g.offset(), 40 + ops::reldrop_counters(s.params, f.x));
    // A per-batch coin that selects: every sample.
    s = settings("block", 1.f);
    s.lrp_selected_only = true;
    RelDrop batch(s);
    batch.occlude(*f.model, f.x, f.y, g);
    EXPECT_EQ(batch.last_attributed(), 11);
    train::TrainConfig cfg;
    cfg.augment = "reldrop-pixel";
    cfg.resolve_defaults();
    cfg.reldrop_lrp_samples = "some";
    lrp::test::expect_error([&] { train::reldrop_settings(cfg, {0.5f}, {0.25f}, 3, 16, 16); },
                            {"--reldrop-lrp-samples", "all or selected", "some"});
}

// reldrop.md Q19: the clean batch's accuracy is the eval-mode forward's count, and measuring it leaves the
// model's mode, weights and BN statistics as they were.
TEST(RelDropStepCpu, CleanBatchCorrectIsTheEvalForwardsCount) {
    StepFixture f(Device::cpu());
    f.model->train(true);
    const auto before = snapshot(*f.model);
    const Tensor got = train::clean_batch_correct(*f.model, f.x, f.y);
    EXPECT_TRUE(f.model->training());
    EXPECT_EQ(snapshot(*f.model), before);
    f.model->eval();
    const Tensor logits = f.model->forward(f.x);
    const std::vector<float> l = logits.to_vector<float>();
    const std::vector<int32_t> y = f.y.to_vector<int32_t>();
    const int64_t n = logits.dim(0), k = logits.dim(1);
    int want = 0;
    for (int64_t i = 0; i < n; ++i)
        want += std::max_element(l.begin() + i * k, l.begin() + (i + 1) * k) - (l.begin() + i * k) == y[i];
    EXPECT_EQ(got.to_vector<float>(), std::vector<float>{static_cast<float>(want)});
    EXPECT_FALSE(f.model->training());
    EXPECT_EQ(train::clean_batch_correct(*f.model, f.x, f.y).to_vector<float>(), got.to_vector<float>());
    EXPECT_FALSE(f.model->training()) << "an eval-mode model stays in eval mode";
}

TEST(RelDropStepCpu, FailedBatchCoinSkipsThePassAndReservesTheSameCounters) {
    StepFixture f(Device::cpu());
    RelDrop rd(settings("block", 0.f));
    Generator g(3, 5);
    Tensor status = Tensor::from_vector(std::vector<int32_t>(6, 9), {6});
    Tensor got = rd.occlude(*f.model, f.x, f.y, g, status);
    EXPECT_EQ(got.raw_data(), f.x.raw_data()) << "an unselected batch is returned as is, not copied";
    EXPECT_EQ(g.offset(), 5 + ops::reldrop_counters(rd.settings().params, f.x));
    for (int32_t s : status.to_vector<int32_t>()) EXPECT_EQ(s, kernels::kRelDropNotSelected);
}

TEST(RelDropStepCpu, PZeroStepIsThePlainStepBitForBit) {
    for (const char* variant : {"pixel", "block"}) {
        StepFixture a(Device::cpu()), b(Device::cpu());
        RelDrop rd(settings(variant, 0.f));
        Generator g(11);
        Tensor trained;
        train::StepResult ra = train::reldrop_train_step(*a.model, *a.opt, rd, a.x, a.y, g, {}, &trained);
        train::StepResult rb = train::train_step(*b.model, *b.opt, b.x, b.y);
        EXPECT_EQ(trained.to_vector<float>(), a.x.to_vector<float>()) << variant;
        EXPECT_EQ(ra.loss.to_vector<float>(), rb.loss.to_vector<float>()) << variant;
        EXPECT_EQ(snapshot(*a.model), snapshot(*b.model)) << variant;
    }
}

TEST(RelDropStepCpu, StepTrainsOnTheOccludedBatch) {
    StepFixture a(Device::cpu()), b(Device::cpu());
    RelDrop rd(settings("block", 1.f, 2));
    Generator g(5);
    Tensor trained;
    train::StepResult ra = train::reldrop_train_step(*a.model, *a.opt, rd, a.x, a.y, g, {}, &trained);
    // Filled pixels carry the fill in every channel; the rest is the clean batch.
    const auto t = trained.to_vector<float>(), x = a.x.to_vector<float>();
    int64_t filled = 0;
    for (int64_t i = 0; i < 6 * 256; ++i) {
        const int64_t n = i / 256, hw = i % 256;
        bool all_fill = true, any_change = false;
        for (int c = 0; c < 3; ++c) {
            const size_t at = static_cast<size_t>((n * 3 + c) * 256 + hw);
            all_fill &= t[at] == rd.settings().params.fill[c];
            any_change |= t[at] != x[at];
        }
        EXPECT_TRUE(!any_change || all_fill) << "pixel " << i << " changed without being filled";
        filled += all_fill;
    }
    EXPECT_GT(filled, 0);
    train::StepResult rb = train::train_step(*b.model, *b.opt, trained, b.y);
    EXPECT_EQ(ra.loss.to_vector<float>(), rb.loss.to_vector<float>());
    EXPECT_EQ(snapshot(*a.model), snapshot(*b.model)) << "the step must train on exactly the occluded batch";
}

TEST(RelDropStepCpu, PredTargetAndOtherCompositesRun) {
    StepFixture f(Device::cpu());
    train::RelDropSettings s = settings("pixel", 1.f);
    s.target = "pred";
    s.composite = "epsilon_gamma_box";
    s.composite_options = train::dataset_composite_options({0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f});
    RelDrop rd(s);
    Generator g(2);
    Tensor status = Tensor::empty({6}, DType::I32, Device::cpu());
    rd.occlude(*f.model, f.x, f.y, g, status);
    for (int32_t v : status.to_vector<int32_t>()) EXPECT_EQ(v, kernels::kRelDropApplied);
}

// --reldrop-target label*logit (reldrop.md Q10): the map is the label map times the label's logit, so with
// block, p 1, k 1 a sample whose label logit is positive keeps the label target's box (around the arg-max)
// and one whose logit is negative gets another (around the label map's arg-min).
TEST(RelDropStepCpu, LogitScaledTargetTurnsTheMapOfNegativeLogits) {
    StepFixture f(Device::cpu(), 12);
    f.model->train(false);
    const std::vector<float> logits = f.model->forward(f.x).to_vector<float>();
    f.model->clear_saved();
    f.model->train(true);
    const std::vector<int32_t> y = f.y.to_vector<int32_t>();
    auto occluded = [&](const char* target) {
        train::RelDropSettings s = settings("block", 1.f);
        s.target = target;
        RelDrop rd(s);
        Generator g(4);
        return rd.occlude(*f.model, f.x, f.y, g).to_vector<float>();
    };
    const std::vector<float> plain = occluded("label"), scaled = occluded("label*logit");
    const size_t per = f.x.numel() / 12;
    int positive = 0, negative = 0;
    for (size_t n = 0; n < 12; ++n) {
        const float logit = logits[n * 5 + size_t(y[n])];
        const bool same = std::equal(plain.begin() + n * per, plain.begin() + (n + 1) * per, scaled.begin() + n * per);
        if (logit > 0) {
            ++positive;
            EXPECT_TRUE(same) << "sample " << n << ", logit " << logit;
        } else {
            ++negative;
            EXPECT_FALSE(same) << "sample " << n << ", logit " << logit;
        }
    }
    EXPECT_GT(positive, 0) << "the test needs label logits of both signs";
    EXPECT_GT(negative, 0) << "the test needs label logits of both signs";
    StepFixture p(Device::cpu(), 6);
    train::RelDropSettings s = settings("pixel", 1.f);
    s.target = "pred*logit";
    RelDrop rd(s);
    Generator g(2);
    Tensor status = Tensor::empty({6}, DType::I32, Device::cpu());
    rd.occlude(*p.model, p.x, p.y, g, status);
    for (int32_t v : status.to_vector<int32_t>()) EXPECT_EQ(v, kernels::kRelDropApplied);
}

TEST(RelDropStepCpu, BadSettingsAreRejectedByName) {
    auto message = [](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    train::RelDropSettings s = settings("blob", 0.5f);
    EXPECT_NE(message([&] { RelDrop r(s); }).find("unknown variant 'blob'"), std::string::npos);
    s = settings("block", 0.5f);
    s.target = "logit";
    EXPECT_NE(message([&] { RelDrop r(s); }).find("target must be label, pred, label*logit or pred*logit"),
              std::string::npos);
    s = settings("block", 0.5f);
    s.composite = "nope";
    EXPECT_NE(message([&] { RelDrop r(s); }).find("nope"), std::string::npos);

    train::TrainConfig c;
    c.augment = "reldrop-block";
    c.reldrop_k = 300;
    c.resolve_defaults();
    const std::vector<float> m{0.5f}, sd{0.25f};
    EXPECT_NE(message([&] { train::reldrop_settings(c, m, sd, 1, 16, 16); }).find("--reldrop-k 300 exceeds the 256"),
              std::string::npos);
    c.reldrop_k = 1;
    c.reldrop_fill = "grey";
    EXPECT_NE(message([&] { train::reldrop_settings(c, m, sd, 1, 16, 16); }).find("--reldrop-fill"), std::string::npos);
    // Shape-dependent checks happen at occlusion time too.
    StepFixture f(Device::cpu());
    RelDrop big(settings("block", 1.f, 257));
    Generator g(1);
    EXPECT_NE(message([&] { big.occlude(*f.model, f.x, f.y, g); }).find("k must be in [1, H*W]"), std::string::npos);
}

TEST(RelDropConfig, VariantDefaultsValidationAndJson) {
    train::TrainConfig c;
    c.augment = "reldrop-pixel";
    c.resolve_defaults();
    EXPECT_FLOAT_EQ(c.reldrop_p, 0.3f);
    c = train::TrainConfig();
    c.augment = "reldrop-block";
    c.resolve_defaults();
    EXPECT_FLOAT_EQ(c.reldrop_p, 0.5f);
    EXPECT_EQ(c.reldrop_k, 1);
    c = train::TrainConfig();
    c.augment = "reldrop-patch";
    c.resolve_defaults();
    EXPECT_EQ(c.reldrop_k, 5);
    c.validate();
    nlohmann::json j = c;
    train::TrainConfig d;
    train::from_json(j, d);
    EXPECT_EQ(d.augment, "reldrop-patch");
    EXPECT_EQ(d.reldrop_k, 5);
    c = train::TrainConfig();  // given values are validated, not taken as unset (they fell back to the defaults)
    c.augment = "reldrop-block";
    c.reldrop_p = -0.5f;
    c.resolve_defaults();
    test::expect_error([&] { c.validate(); }, {"--reldrop-p must be in [0, 1] (got -0.5)"});
    c = train::TrainConfig();
    c.augment = "reldrop-patch";
    c.reldrop_k = 0;
    c.resolve_defaults();
    test::expect_error([&] { c.validate(); }, {"--reldrop-k must be >= 1 (got 0)"});
    c = train::TrainConfig();  // fill names are checked before the data load
    c.augment = "reldrop-block";
    c.reldrop_fill = "foo";
    c.resolve_defaults();
    test::expect_error([&] { c.validate(); }, {"--reldrop-fill", "foo"});
    c.reldrop_fill = "reference";
    c.reldrop_with_erasing = true;
    c.erasing_fill = "bar";
    test::expect_error([&] { c.validate(); }, {"--erasing-fill: unknown fill 'bar'"});
    c.erasing_fill = "zhong";
    EXPECT_NO_THROW(c.validate());
    c = train::TrainConfig();  // --reldrop-pixel-norm reaches the op's parameters and the run's description
    c.augment = "reldrop-pixel";
    c.reldrop_pixel_norm = "positive_max";
    c.resolve_defaults();
    c.validate();
    const train::RelDropSettings rs = train::reldrop_settings(c, {0.5f}, {0.25f}, 1, 8, 8);
    EXPECT_EQ(rs.params.pixel_norm, "positive_max");
    EXPECT_NE(train::describe(rs).find("rn positive_max"), std::string::npos) << train::describe(rs);
    c = train::TrainConfig();
    c.augment = "crop-flip";
    c.resolve_defaults();
    EXPECT_EQ(c.augment, "none");
    for (auto bad : std::vector<std::function<void(train::TrainConfig&)>>{
             [](train::TrainConfig& t) { t.reldrop_p = 1.5f; }, [](train::TrainConfig& t) { t.reldrop_alpha = -0.1f; },
             [](train::TrainConfig& t) { t.reldrop_beta = 2.f; }, [](train::TrainConfig& t) { t.reldrop_coin = "x"; },
             [](train::TrainConfig& t) { t.reldrop_target = "x"; }, [](train::TrainConfig& t) { t.augment = "reldrop-x"; },
             [](train::TrainConfig& t) { t.box_sl = 0.5f; }, [](train::TrainConfig& t) { t.box_attempts = 0; },
             [](train::TrainConfig& t) { t.reldrop_pixel_norm = "minmax"; },
             [](train::TrainConfig& t) { t.reldrop_box_clip = "wrap"; },
             [](train::TrainConfig& t) { t.reldrop_patch_count = "k"; }}) {  // block
        train::TrainConfig t;
        t.augment = "reldrop-block";
        t.resolve_defaults();
        bad(t);
        EXPECT_THROW(t.validate(), Error);
    }
}

// --reldrop-with-erasing (reldrop.md Q16): the loader random-erases with the erasing settings only then (or
// for --augment random-erasing); without a RelDrop variant the setting is refused.
TEST(RelDropConfig, ErasingBeforeRelDropOnlyWhenAsked) {
    train::TrainConfig c;
    c.augment = "reldrop-block";
    c.erasing_p = 0.7f;
    c.resolve_defaults();
    EXPECT_EQ(train::augment_settings(c).erasing_p, 0.f) << "the reference runs one or the other";
    c.reldrop_with_erasing = true;
    c.validate();
    EXPECT_EQ(train::augment_settings(c).erasing_p, 0.7f);
    c.augment = "none";
    EXPECT_THROW(c.validate(), Error);
    c.reldrop_with_erasing = false;
    c.augment = "random-erasing";
    EXPECT_EQ(train::augment_settings(c).erasing_p, 0.7f);
}

// User rule maps and the residual mode of the RelDrop composite: from the config (and its JSON, so a resumed
// run keeps them) into the composite the step uses; bad entries are refused naming the flag.
TEST(RelDropConfig, UserRuleMapsReachTheComposite) {
    train::TrainConfig c;
    c.augment = "reldrop-block";
    c.resolve_defaults();
    c.reldrop_p = 1.f;  // the pass always runs
    c.reldrop_rules = {"conv=gamma:0.5"};
    c.reldrop_first_rules = {"conv=flat"};
    c.reldrop_layer_rules = {"fc=epsilon:0.1"};
    c.reldrop_residual = "norm_split";
    nlohmann::json j = c;
    EXPECT_EQ(j.at("reldrop-rule"), nlohmann::json::array({"conv=gamma:0.5"}));
    train::TrainConfig d;
    train::from_json(j, d);
    EXPECT_EQ(d.reldrop_rules, c.reldrop_rules);
    EXPECT_EQ(d.reldrop_first_rules, c.reldrop_first_rules);
    EXPECT_EQ(d.reldrop_layer_rules, c.reldrop_layer_rules);
    EXPECT_EQ(d.reldrop_residual, "norm_split");

    StepFixture f(Device::cpu());
    const std::vector<float> m{0.5f, 0.5f, 0.5f}, sd{0.25f, 0.25f, 0.25f};
    RelDrop rd(train::reldrop_settings(d, m, sd, 3, 16, 16));
    Generator g(3);
    rd.occlude(*f.model, f.x, f.y, g);  // binds the composite to the model
    const std::string table = rd.composite().assignment_table();
    for (const char* want : {"residual norm_split", "Flat", "Gamma(gamma=0.5", "Epsilon(epsilon=0.1"})
        EXPECT_NE(table.find(want), std::string::npos) << want << " not in\n" << table;

    nlohmann::json bad = j;
    bad["reldrop-rule"] = "conv=flat";  // a string, not a list
    train::TrainConfig e;
    lrp::test::expect_error([&] { train::from_json(bad, e); }, {"'reldrop-rule' must be a list of strings"});
    d.reldrop_rules = {"conv=bogus"};
    lrp::test::expect_error([&] { train::reldrop_settings(d, m, sd, 3, 16, 16); },
                            {"--reldrop-rule 'conv=bogus'", "unknown rule 'bogus'"});
    d.reldrop_rules = {};
    d.reldrop_layer_rules = {"fc=flat", "fc=zplus"};
    lrp::test::expect_error([&] { train::reldrop_settings(d, m, sd, 3, 16, 16); },
                            {"--reldrop-layer-rule: layer 'fc' is given twice"});
    d.reldrop_layer_rules = {};
    d.reldrop_residual = "halves";
    EXPECT_THROW(train::reldrop_settings(d, m, sd, 3, 16, 16), Error);

    // reldrop.md Q17: the BN fold of the attribution, the reference's by default.
    d.reldrop_residual = "";
    EXPECT_EQ(train::reldrop_settings(d, m, sd, 3, 16, 16).composite_options.bn_fold, explain::BnFold::Zennit051);
    d.reldrop_bn_fold = "exact";
    RelDrop exact(train::reldrop_settings(d, m, sd, 3, 16, 16));
    EXPECT_NE(train::describe(exact.settings()).find("BN fold exact"), std::string::npos);
    exact.occlude(*f.model, f.x, f.y, g);
    EXPECT_NE(exact.composite().assignment_table().find("bn_fold exact"), std::string::npos)
        << exact.composite().assignment_table();
    d.reldrop_bn_fold = "loose";
    lrp::test::expect_error([&] { train::reldrop_settings(d, m, sd, 3, 16, 16); },
                            {"--reldrop-bn-fold", "loose"});
}
