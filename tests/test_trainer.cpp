// The training run on the CPU: outputs (config, metrics, checkpoint, weights), resume equivalence,
// refusing to overwrite a run, config JSON round trip and validation, LR schedules, optimiser state.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "lrp/nn/models.h"
#include "lrp/nn/safetensors.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/config.h"
#include "lrp/train/loader.h"
#include "lrp/train/schedule.h"
#include "lrp/train/trainer.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::train;
namespace fs = std::filesystem;

namespace {
TrainConfig tiny(const std::string& out) {
    TrainConfig c;
    c.dataset = "synthetic";
    c.train_subset = 64;
    c.test_subset = 32;
    c.arch = "resnet18";
    c.width = 2;
    c.epochs = 3;
    c.batch_size = 16;
    c.lr = 0.05f;
    c.device = "cpu";
    c.out_dir = out;
    c.log_every = 1000;
    return c;
}
std::string fresh_dir(const std::string& name) {
    const std::string d = ::testing::TempDir() + "lrp_trainer_" + name;
    fs::remove_all(d);
    return d;
}
std::vector<nlohmann::json> rows(const std::string& dir) {
    std::vector<nlohmann::json> r;
    std::ifstream in(dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) r.push_back(nlohmann::json::parse(line));
    return r;
}
// Runs c to the end of epoch 1, then resumes it to the end; returns the resumed run's summary.
TrainSummary run_interrupted(TrainConfig c) {
    c.stop_after_epoch = 1;
    EXPECT_EQ(run_training(c).epochs, 1);
    c.stop_after_epoch = 0;
    c.resume = true;
    return run_training(c);
}
// The f32 tensors of two run directories' model.safetensors are equal bit for bit.
::testing::AssertionResult same_weights(const std::string& a, const std::string& b) {
    nn::StateDict wa = nn::load_safetensors(a + "/model.safetensors"), wb = nn::load_safetensors(b + "/model.safetensors");
    if (wa.size() != wb.size()) return ::testing::AssertionFailure() << wa.size() << " vs " << wb.size() << " tensors";
    for (auto& [k, t] : wa) {
        if (t.dtype() != DType::F32) continue;
        if (!wb.count(k) || t.to_vector<float>() != wb.at(k).to_vector<float>())
            return ::testing::AssertionFailure() << "tensor " << k << " differs";
    }
    return ::testing::AssertionSuccess();
}
}  // namespace

TEST(TrainerCpu, WritesOutputsAndResumesToTheSameResult) {
    const std::string a = fresh_dir("a"), b = fresh_dir("b");
    TrainSummary sa = run_training(tiny(a));
    EXPECT_EQ(sa.epochs, 3);
    for (const char* f : {"config.json", "metrics.jsonl", "checkpoint.safetensors", "model.safetensors"})
        EXPECT_TRUE(fs::exists(a + "/" + f)) << f;
    ASSERT_EQ(rows(a).size(), 3u);
    EXPECT_GE(sa.best_test_acc, sa.final_test_acc);

    TrainSummary sb = run_interrupted(tiny(b));
    EXPECT_EQ(sb.epochs, 3);
    EXPECT_EQ(sb.final_test_acc, sa.final_test_acc);
    EXPECT_TRUE(same_weights(a, b));  // bit for bit, as the uninterrupted run
    auto ra = rows(a), rb = rows(b);
    ASSERT_EQ(rb.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(ra[i]["test_acc"], rb[i]["test_acc"]) << i;
}

// The other optimiser and the other stateful pieces: AdamW's moments and per-parameter step counts,
// a cosine schedule with warmup, label smoothing, gradient clipping and random erasing's RNG stream all
// come back from the checkpoint, so the resumed run still ends on the same weights bit for bit.
TEST(TrainerCpu, AdamWCosineErasingRunResumesToTheSameResult) {
    auto config = [](const std::string& out) {
        TrainConfig c = tiny(out);
        c.optimizer = "adamw";
        c.lr = 2e-3f;
        c.weight_decay = 0.05f;
        c.schedule = "cosine";
        c.warmup_epochs = 1.5f;
        c.label_smoothing = 0.1f;
        c.clip_grad_norm = 1.f;
        c.augment = "random-erasing";
        return c;
    };
    const std::string a = fresh_dir("adamw_a"), b = fresh_dir("adamw_b");
    run_training(config(a));
    run_interrupted(config(b));
    EXPECT_TRUE(same_weights(a, b));
    auto ra = rows(a), rb = rows(b);
    ASSERT_EQ(ra.size(), 3u);
    ASSERT_EQ(rb.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(ra[i]["train_loss"], rb[i]["train_loss"]) << i;
        EXPECT_EQ(ra[i]["lr"], rb[i]["lr"]) << i;
    }
    // The moments really were restored: the checkpoint holds them for every parameter.
    const nn::StateDict sd = nn::load_safetensors(b + "/checkpoint.safetensors");
    int moments = 0;
    for (auto& [k, t] : sd) moments += k.find(".exp_avg_sq") != std::string::npos;
    EXPECT_GT(moments, 10);
}

// torchvision's VGG classifier has two Dropout layers: their masks come from the run's seed and epoch, so
// a resumed run still ends on the same weights bit for bit.
TEST(TrainerCpu, VggWithDropoutResumesToTheSameResult) {
    auto config = [](const std::string& out) {
        TrainConfig c = tiny(out);
        c.arch = "vgg11_imagenet";
        c.epochs = 2;
        c.lr = 0.01f;
        return c;
    };
    const std::string a = fresh_dir("dropout_a"), b = fresh_dir("dropout_b");
    run_training(config(a));
    run_interrupted(config(b));
    EXPECT_TRUE(same_weights(a, b));
}

// --stop-after-step stops inside an epoch with a checkpoint of where it was (batches done, the epoch's
// sums, the random streams); --resume continues that epoch and ends on the uninterrupted run's weights
// and metrics bit for bit: plain, with random erasing and dropout, and with RelDrop's per-batch coin.
TEST(TrainerCpu, StopAfterStepResumesMidEpochToTheSameResult) {
    struct Case {
        const char* name;
        std::function<void(TrainConfig&)> set;
    };
    const std::vector<Case> cases = {
        {"plain", [](TrainConfig&) {}},
        {"erasing_dropout",
         [](TrainConfig& c) {
             c.arch = "vgg11_imagenet";
             c.augment = "random-erasing";
             c.lr = 0.01f;
         }},
        {"reldrop_block", [](TrainConfig& c) { c.augment = "reldrop-block"; }},
    };
    for (const Case& k : cases) {
        SCOPED_TRACE(k.name);
        const std::string a = fresh_dir(std::string("step_a_") + k.name), b = fresh_dir(std::string("step_b_") + k.name);
        TrainConfig ca = tiny(a);
        k.set(ca);
        run_training(ca);
        TrainConfig cb = tiny(b);
        k.set(cb);
        cb.stop_after_step = 6;  // epoch 2, after its 2nd of 4 steps
        const TrainSummary stopped = run_training(cb);
        EXPECT_TRUE(stopped.stopped);
        EXPECT_EQ(stopped.signal, 0);
        const CheckpointState st = read_checkpoint_state(b + "/checkpoint.safetensors");
        EXPECT_EQ(st.epoch, 1);
        EXPECT_EQ(st.global_step, 6);
        EXPECT_EQ(st.partial.batches, 2);
        EXPECT_EQ(st.partial.images, 32);
        EXPECT_EQ(rows(b).size(), 1u);
        cb.stop_after_step = 0;
        cb.resume = true;
        const TrainSummary done = run_training(cb);
        EXPECT_FALSE(done.stopped);
        EXPECT_EQ(done.epochs, 3);
        EXPECT_EQ(read_checkpoint_state(b + "/checkpoint.safetensors").partial.batches, 0);
        EXPECT_TRUE(same_weights(a, b));
        auto ra = rows(a), rb = rows(b);
        ASSERT_EQ(rb.size(), 3u);
        for (size_t i = 0; i < 3; ++i) {
            EXPECT_EQ(ra[i]["train_loss"], rb[i]["train_loss"]) << i;
            EXPECT_EQ(ra[i]["train_acc"], rb[i]["train_acc"]) << i;
            EXPECT_EQ(ra[i]["test_acc"], rb[i]["test_acc"]) << i;
            EXPECT_EQ(ra[i].value("reldrop_occluded_fraction", -1.0), rb[i].value("reldrop_occluded_fraction", -1.0)) << i;
        }
    }
    // At an epoch's end the epoch checkpoint serves: no partial epoch is recorded.
    const std::string d = fresh_dir("step_boundary");
    TrainConfig c = tiny(d);
    c.stop_after_step = 4;
    EXPECT_TRUE(run_training(c).stopped);
    const CheckpointState st = read_checkpoint_state(d + "/checkpoint.safetensors");
    EXPECT_EQ(st.epoch, 1);
    EXPECT_EQ(st.partial.batches, 0);
}

// Resuming with more epochs is allowed, but a length-dependent schedule then changes course: warned.
TEST(TrainerCpu, ResumeWithMoreEpochsWarnsAboutTheSchedule) {
    const std::string d = fresh_dir("more_epochs");
    TrainConfig c = tiny(d);
    c.epochs = 1;
    run_training(c);
    c.epochs = 2;
    c.resume = true;
    ::testing::internal::CaptureStderr();
    const TrainSummary s = run_training(c);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(s.epochs, 2);
    EXPECT_NE(err.find("--epochs changed from 1 to 2; the onecycle schedule is recomputed over 2 epochs"),
              std::string::npos)
        << err;
}

// On CUDA too a resumed run gives the uninterrupted run's weights bit for bit: every CUDA kernel is
// deterministic (fixed-order reductions, no atomics in BN/pooling, deterministic cuDNN algorithms).
TEST(TrainerCuda, ResumesToTheSameResultBitForBit) {
    LRP_SKIP_WITHOUT_CUDA();
    const std::string a = fresh_dir("cuda_a"), b = fresh_dir("cuda_b");
    TrainConfig ca = tiny(a);
    ca.device = "cuda";
    run_training(ca);
    TrainConfig cb = tiny(b);
    cb.device = "cuda";
    run_interrupted(cb);
    EXPECT_TRUE(same_weights(a, b));
}

TEST(TrainerCpu, RefusesToOverwriteARunAndChecksResumeSettings) {
    const std::string d = fresh_dir("c");
    TrainConfig c = tiny(d);
    c.epochs = 1;
    run_training(c);
    const auto before = fs::last_write_time(d + "/checkpoint.safetensors");
    EXPECT_THROW(run_training(c), Error);  // no --resume: the checkpoint stays untouched
    EXPECT_EQ(fs::last_write_time(d + "/checkpoint.safetensors"), before);
    c.resume = true;
    c.lr = 0.5f;
    try {
        run_training(c);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("lr: checkpoint has"), std::string::npos) << e.what();
    }
}

// --resume on a directory without a checkpoint starts from scratch and says so.
TEST(TrainerCpu, ResumeWithoutACheckpointWarnsAndStartsFresh) {
    const std::string d = fresh_dir("resume_fresh");
    TrainConfig c = tiny(d);
    c.epochs = 1;
    c.resume = true;
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(run_training(c).epochs, 1);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("--resume: no checkpoint in"), std::string::npos) << err;
    EXPECT_TRUE(fs::exists(d + "/checkpoint.safetensors"));
}

// A diverging run stops with an error naming it and never records or checkpoints an epoch whose weights
// are NaN/Inf (the last step can break the weights behind a finite training loss).
TEST(TrainerCpu, DivergenceStopsWithoutCheckpointingBrokenWeights) {
    const std::string d = fresh_dir("diverge");
    TrainConfig c = tiny(d);
    c.lr = 900.f;
    c.schedule = "constant";
    c.epochs = 4;
    try {
        run_training(c);
        FAIL() << "lr 900 trained 4 epochs without diverging";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("training diverged"), std::string::npos) << e.what();
    }
    for (const auto& r : rows(d)) EXPECT_TRUE(std::isfinite(r["test_loss"].get<double>())) << r.dump();
    if (fs::exists(d + "/checkpoint.safetensors")) {
        nn::StateDict w = nn::load_safetensors(d + "/checkpoint.safetensors");
        for (auto& [k, t] : w) {
            if (t.dtype() != DType::F32) continue;
            for (float v : t.to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << "checkpoint tensor " << k;
        }
    }
}

namespace {
// A "model" that returns fixed logits, and a source of one fixed batch.
struct FixedLogits : nn::Module {
    Tensor logits;
    const char* type() const override { return "FixedLogits"; }
    Tensor forward(const Tensor&) override { return logits.clone(); }
    Tensor backward(const Tensor&, bool) override { LRP_THROW("not used"); }
};
struct OneBatch : BatchSource {
    Batch b;
    int64_t size() const override { return b.x.dim(0); }
    int64_t batches_per_epoch() const override { return 1; }
    void start_epoch(uint64_t, int64_t) override {}
    Batch batch(int64_t) override { return b; }
};
}  // namespace

// Logits holding NaN or Inf never count as a hit (every comparison with NaN is false, which would rank
// the true class first), and evaluate() reports how many samples had them.
TEST(TrainerCpu, EvaluateCountsNonFiniteLogitsAsWrong) {
    const float nan = std::nanf(""), inf = INFINITY;
    FixedLogits m;
    m.logits = Tensor::from_vector(std::vector<float>{2, 1, 0, /**/ nan, nan, nan, /**/ 0, inf, 1, /**/ 0, 1, 2},
                                   {4, 3});
    OneBatch src;
    src.b.x = Tensor::zeros({4, 1, 2, 2});
    src.b.y = Tensor::from_vector(std::vector<int32_t>{0, 0, 1, 2}, {4});
    const EvalResult r = evaluate(m, src, 3);
    EXPECT_EQ(r.samples, 4);
    EXPECT_EQ(r.nonfinite, 2);
    EXPECT_DOUBLE_EQ(r.top1, 0.5);  // samples 0 and 3; not the NaN one (label 0) nor the Inf one
    EXPECT_DOUBLE_EQ(r.top5, 0.5);
    EXPECT_TRUE(std::isnan(r.loss));
    ASSERT_EQ(r.per_class.size(), 3u);
    EXPECT_DOUBLE_EQ(r.per_class[0], 0.5);
    EXPECT_DOUBLE_EQ(r.per_class[1], 0.0);
    // A label outside the model's classes is an error, not a read past the sample's logits.
    src.b.y = Tensor::from_vector(std::vector<int32_t>{0, 3, 1, 2}, {4});
    try {
        evaluate(m, src, 3);
        FAIL() << "label 3 of 3 classes accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("sample 1 has label 3, outside the model's 3 classes"), std::string::npos)
            << e.what();
    }
}

// explain needs the class count of bare weights: the rows of the final layer, for every architecture
// family and for lrpcu checkpoints ("model." keys) as for plain state_dicts.
TEST(TrainerCpu, InfersTheClassCountFromTheWeights) {
    const std::string d = fresh_dir("infer_classes");
    fs::create_directories(d);
    int i = 0;
    for (const char* arch : {"resnet18", "resnet50_imagenet", "vgg11", "vgg11_bn_imagenet"}) {
        nn::ModelSpec s;
        s.arch = arch;
        s.base_width = 2;
        s.num_classes = 7 + i;
        s.image_size = 32;
        auto m = nn::make_model(s);
        const std::string f = d + "/w" + std::to_string(i) + ".safetensors";
        nn::save_safetensors(f, m->state_dict());
        EXPECT_EQ(infer_num_classes(f), 7 + i) << arch;
        ++i;
    }
    TrainConfig c = tiny(d + "/run");
    c.epochs = 1;
    run_training(c);
    EXPECT_EQ(infer_num_classes(d + "/run/checkpoint.safetensors"), 10);  // synthetic: 10 classes
    nn::save_safetensors(d + "/other.safetensors", {{"conv.weight", Tensor::zeros({2, 2})}});
    EXPECT_EQ(infer_num_classes(d + "/other.safetensors"), -1);
}

TEST(TrainerCpu, CheckpointHoldsStateAndModelLoadsElsewhere) {
    const std::string d = fresh_dir("d");
    TrainConfig c = tiny(d);
    c.epochs = 1;
    c.optimizer = "adamw";
    c.lr = 1e-3f;
    run_training(c);
    CheckpointState st = read_checkpoint_state(d + "/checkpoint.safetensors");
    EXPECT_EQ(st.epoch, 1);
    EXPECT_EQ(st.global_step, 4);
    EXPECT_EQ(st.config.at("optimizer"), "adamw");
    nn::ModelSpec s;
    s.arch = "resnet18";
    s.base_width = 2;
    auto m = nn::make_model(s);
    load_model_weights(d + "/checkpoint.safetensors", *m);  // lrpcu checkpoint
    load_model_weights(d + "/model.safetensors", *m);       // plain state_dict
    EXPECT_THROW(load_model_weights(d + "/missing.safetensors", *m), Error);
}

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
}

TEST(ScheduleCpu, MatchesPyTorchFormulas) {
    LrSchedule s;
    s.base_lr = 0.1f;
    s.total_steps = 100;
    s.kind = "step";
    s.step_size = 30;
    EXPECT_FLOAT_EQ(s.lr_at(29), 0.1f);
    EXPECT_FLOAT_EQ(s.lr_at(30), 0.01f);
    s.kind = "cosine";
    s.warmup_steps = 10;
    EXPECT_FLOAT_EQ(s.lr_at(0), 0.01f);
    EXPECT_FLOAT_EQ(s.lr_at(9), 0.1f);
    EXPECT_NEAR(s.lr_at(55), 0.05f, 1e-6);
    EXPECT_NEAR(s.lr_at(100), 0.f, 1e-7);
    // torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100): values at steps 0, 29, 64, 99.
    s.kind = "onecycle";
    EXPECT_NEAR(s.lr_at(0), 0.004, 1e-7);
    EXPECT_NEAR(s.lr_at(29), 0.1, 1e-7);
    EXPECT_NEAR(s.lr_at(64), 0.1 / 25 / 1e4 + (0.1 - 0.1 / 25 / 1e4) / 2 * (std::cos(M_PI * 35 / 70) + 1), 1e-6);
    EXPECT_NEAR(s.lr_at(99), 4e-7, 1e-9);
    s.kind = "exponential";
    EXPECT_THROW(s.validate(), Error);
}

TEST(TrainerCpu, RelDropRunResumesBitExactAndLogsOcclusion) {
    for (const char* augment : {"reldrop-block", "reldrop-pixel"}) {
        const std::string a = fresh_dir(std::string("rd_a_") + augment), b = fresh_dir(std::string("rd_b_") + augment);
        TrainConfig ca = tiny(a);
        ca.epochs = 2;
        ca.augment = augment;
        run_training(ca);
        EXPECT_TRUE(fs::exists(a + "/first_batch.png"));
        EXPECT_TRUE(fs::exists(a + "/first_batch_clean.png"));
        auto ra = rows(a);
        ASSERT_EQ(ra.size(), 2u);
        for (auto& r : ra) {
            ASSERT_TRUE(r.contains("reldrop_occluded_fraction")) << r.dump();
            EXPECT_GE(r["reldrop_occluded_fraction"].get<double>(), 0.0);
            EXPECT_LE(r["reldrop_occluded_fraction"].get<double>(), 1.0);
            EXPECT_EQ(r["reldrop_nonfinite_maps"].get<double>(), 0.0);
        }
        TrainConfig cb = tiny(b);
        cb.epochs = 2;
        cb.augment = augment;
        run_interrupted(cb);
        EXPECT_TRUE(same_weights(a, b)) << augment;
        EXPECT_EQ(rows(b)[1]["reldrop_occluded_fraction"], ra[1]["reldrop_occluded_fraction"]) << augment;
    }
}
