// Resuming a training run on the CPU (and CUDA): the resumed run ends on the uninterrupted run's weights
// and metrics bit for bit, after an epoch or inside one (--stop-after-step), for every stateful piece
// (optimisers, schedules, augmentation, dropout, RelDrop); what a resume warns about or refuses; files
// that a failed write must leave intact (the interrupt guard behind Ctrl-C: test_interrupt.cpp).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "datasets_test_util.h"
#include "lrp/train/checkpoint.h"
#include "test_util.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;
namespace fs = std::filesystem;

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

// The resized crop's windows come from the loader's counters (8 per image), restored with a mid-epoch checkpoint:
// the resumed run ends on the same weights bit for bit.
TEST(TrainerCpu, RandomResizedCropRunResumesToTheSameResult) {
    auto config = [](const std::string& out) {
        TrainConfig c = tiny(out);
        c.random_resized_crop = true;
        c.crop_padding = 0;
        return c;
    };
    const std::string a = fresh_dir("rrc_a"), b = fresh_dir("rrc_b");
    run_training(config(a));
    TrainConfig cb = config(b);
    cb.stop_after_step = 6;  // inside epoch 2 (4 steps per epoch)
    EXPECT_TRUE(run_training(cb).stopped);
    cb.stop_after_step = 0;
    cb.resume = true;
    run_training(cb);
    EXPECT_TRUE(same_weights(a, b));
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
namespace {
void check_mid_epoch_resume(const std::string& device) {
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
        {"reldrop_clean_accuracy",
         [](TrainConfig& c) {
             c.augment = "reldrop-pixel";
             c.log_clean_accuracy = true;
             c.reldrop_lrp_samples = "selected";
         }},
    };
    for (const Case& k : cases) {
        SCOPED_TRACE(k.name);
        const std::string tag = device + "_" + k.name;
        const std::string a = fresh_dir("step_a_" + tag), b = fresh_dir("step_b_" + tag);
        TrainConfig ca = tiny(a);
        k.set(ca);
        ca.device = device;
        run_training(ca);
        TrainConfig cb = tiny(b);
        k.set(cb);
        cb.device = device;
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
            EXPECT_EQ(ra[i].value("train_clean_acc", -1.0), rb[i].value("train_clean_acc", -1.0)) << i;
            EXPECT_EQ(ra[i].value("reldrop_attributed_fraction", -1.0), rb[i].value("reldrop_attributed_fraction", -1.0))
                << i;
        }
    }
}
}  // namespace

TEST(TrainerCpu, StopAfterStepResumesMidEpochToTheSameResult) {
    check_mid_epoch_resume("cpu");
    // At an epoch's last step the run stops before the evaluation too (a long one could outlast a user's patience
    // after Ctrl-C, and a second signal ends the process): a checkpoint after all 4 steps of epoch 1, no row yet;
    // --resume evaluates it and ends as the uninterrupted run.
    const std::string d = fresh_dir("step_boundary"), whole = fresh_dir("step_boundary_whole");
    run_training(tiny(whole));
    TrainConfig c = tiny(d);
    c.stop_after_step = 4;
    EXPECT_TRUE(run_training(c).stopped);
    const CheckpointState st = read_checkpoint_state(d + "/checkpoint.safetensors");
    EXPECT_EQ(st.epoch, 0);
    EXPECT_EQ(st.partial.batches, 4);
    EXPECT_EQ(rows(d).size(), 0u);
    c.stop_after_step = 0;
    c.resume = true;
    run_training(c);
    EXPECT_TRUE(same_weights(whole, d));
    auto ra = rows(whole), rb = rows(d);
    ASSERT_EQ(rb.size(), ra.size());
    for (size_t i = 0; i < ra.size(); ++i)
        for (auto* r : {&ra[i], &rb[i]})
            for (const char* timing : {"train_seconds", "images_per_s", "peak_device_bytes"}) r->erase(timing);
    EXPECT_EQ(ra, rb) << "whole rows (lr, losses, accuracies), timings aside";
    // --stop-after-step at the run's very last step stops nothing: the run finishes.
    const std::string e = fresh_dir("step_last");
    TrainConfig last = tiny(e);
    last.stop_after_step = 4 * last.epochs;
    EXPECT_FALSE(run_training(last).stopped);
    EXPECT_TRUE(same_weights(whole, e));
}

// --checkpoint-every N writes a mid-epoch checkpoint every N steps without disturbing the run: the weights
// match a run without it (the last checkpoint being the epoch's), and a cut run resumes from its mid-epoch
// checkpoint. (The crash case, SIGKILL between periodic checkpoints, is tested in tests/cli_interrupt.sh.)
TEST(TrainerCpu, CheckpointEveryKeepsTheRunAndItsMidEpochCheckpointResumes) {
    const std::string a = fresh_dir("every_a"), b = fresh_dir("every_b");
    run_training(tiny(a));
    TrainConfig c = tiny(b);
    c.checkpoint_every = 1;
    run_training(c);
    EXPECT_TRUE(same_weights(a, b));
    EXPECT_EQ(read_checkpoint_state(b + "/checkpoint.safetensors").partial.batches, 0) << "the last one is the epoch's";
    const std::string d = fresh_dir("every_cut");
    TrainConfig cut = tiny(d);
    cut.checkpoint_every = 3;
    cut.stop_after_step = 7;  // epoch 2 after its step 3 (periodic saves after step 3 of each epoch)
    run_training(cut);
    EXPECT_EQ(read_checkpoint_state(d + "/checkpoint.safetensors").partial.batches, 3);
    cut.stop_after_step = 0;
    cut.resume = true;
    run_training(cut);
    EXPECT_TRUE(same_weights(a, d));
}

// The same on CUDA: the device sums, the loader's and RelDrop's streams and the deterministic kernels
// make the resumed run bit-identical there too.
TEST(TrainerCuda, StopAfterStepResumesMidEpochToTheSameResult) {
    LRP_SKIP_WITHOUT_CUDA();
    check_mid_epoch_resume("cuda");
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

// --resume on a directory without a checkpoint starts from scratch and says so; metrics rows of an earlier
// attempt that never checkpointed are set aside (metrics.jsonl.earlier), not mixed with the new run's.
TEST(TrainerCpu, ResumeWithoutACheckpointWarnsAndStartsFresh) {
    const std::string d = fresh_dir("resume_fresh");
    TrainConfig c = tiny(d);
    c.epochs = 1;
    c.resume = true;
    fs::create_directories(d);
    std::ofstream(d + "/metrics.jsonl") << R"({"epoch": 1, "test_acc": 0.99})" << "\n";  // an earlier attempt's row
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(run_training(c).epochs, 1);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("--resume: no checkpoint in"), std::string::npos) << err;
    EXPECT_TRUE(fs::exists(d + "/checkpoint.safetensors"));
    ASSERT_EQ(rows(d).size(), 1u) << "the stale row was kept";
    EXPECT_NE(rows(d)[0]["test_acc"], 0.99);
    std::ifstream stale(d + "/metrics.jsonl.earlier");
    std::string line;
    ASSERT_TRUE(std::getline(stale, line)) << "the stale row was lost, not set aside";
    EXPECT_NE(line.find("0.99"), std::string::npos);
    EXPECT_NE(err.find("moved to"), std::string::npos) << err;
    // A config.json of other settings (here a file of the user's) is set aside too; the run's own is not.
    fs::remove_all(d);
    fs::create_directories(d);
    std::ofstream(d + "/config.json") << R"({"notes": "mine"})" << "\n";
    c.resume = false;
    ::testing::internal::CaptureStderr();
    run_training(c);
    const std::string err2 = ::testing::internal::GetCapturedStderr();
    std::ifstream mine(d + "/config.json.earlier");
    ASSERT_TRUE(std::getline(mine, line)) << err2;
    EXPECT_EQ(line, R"({"notes": "mine"})");
    EXPECT_NE(err2.find("held other settings"), std::string::npos) << err2;
    const std::string written = read_all(d + "/config.json");
    fs::remove(d + "/checkpoint.safetensors");
    fs::remove(d + "/model.safetensors");
    ::testing::internal::CaptureStderr();
    c.log_every += 7;  // the same settings, logged otherwise: the attempt's config.json is replaced, not set aside
    run_training(c);
    const std::string err3 = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(read_all(d + "/config.json"), written);
    EXPECT_FALSE(fs::exists(d + "/config.json.earlier-2")) << err3;
    EXPECT_EQ(err3.find("held other settings"), std::string::npos) << err3;
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
            // pixel: every batch attributed whole (per-sample coins); block: the batches its coin selected
            const double attributed = r["reldrop_attributed_fraction"].get<double>();
            if (std::string(augment) == "reldrop-pixel") {
                EXPECT_EQ(attributed, 1.0);
            } else {
                EXPECT_GE(attributed, r["reldrop_occluded_fraction"].get<double>());
                EXPECT_LE(attributed, 1.0);
            }
        }
        TrainConfig cb = tiny(b);
        cb.epochs = 2;
        cb.augment = augment;
        run_interrupted(cb);
        EXPECT_TRUE(same_weights(a, b)) << augment;
        EXPECT_EQ(rows(b)[1]["reldrop_occluded_fraction"], ra[1]["reldrop_occluded_fraction"]) << augment;
    }
}


// --stop-after-epoch/-step count from the run's start: repeated on a resume already past them, they do
// not stop the resumed run after its first epoch or step (it used to train one more and stop again).
TEST(TrainerCpu, StopsTheCheckpointIsPastAreIgnoredOnResume) {
    const std::string d = fresh_dir("stop_again");
    TrainConfig c = tiny(d);
    c.stop_after_epoch = 1;
    EXPECT_EQ(run_training(c).epochs, 1);
    c.resume = true;
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(run_training(c).epochs, 3);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("--stop-after-epoch 1: the checkpoint is after epoch 1 already; ignored"), std::string::npos)
        << err;
    EXPECT_EQ(rows(d).size(), 3u);
}

// Settings replaced on --resume (here --epochs) are what the later checkpoints record, so a plain
// --resume after another interruption keeps them.
TEST(TrainerCpu, ResumedSettingsAreRecorded) {
    const std::string d = fresh_dir("resumed_settings");
    TrainConfig c = tiny(d);
    c.stop_after_epoch = 1;
    run_training(c);
    c.resume = true;
    c.epochs = 4;
    c.stop_after_epoch = 2;
    run_training(c);
    EXPECT_EQ(read_checkpoint_state(d + "/checkpoint.safetensors").config.at("epochs"), 4);
}

// A write that fails on resume (a full disk, here a file size limit) is an error naming the file, and
// leaves the run's metrics, config and checkpoint as they were (the metrics file used to be truncated
// in place, losing its rows when the rewrite failed).
TEST(TrainerCpu, FailedWritesOnResumeKeepTheRunsFiles) {
    const std::string d = fresh_dir("full_disk");
    TrainConfig c = tiny(d);
    c.epochs = 2;
    c.stop_after_epoch = 1;
    run_training(c);
    auto read = [](const std::string& p) {
        std::ifstream f(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(f), {});
    };
    const std::string metrics = read(d + "/metrics.jsonl"), config = read(d + "/config.json"),
                      ckpt = read(d + "/checkpoint.safetensors");
    ASSERT_GT(metrics.size(), 64u);
    c.stop_after_epoch = 0;
    c.resume = true;
    {
        FileSizeLimit limit(64);
        try {
            run_training(c);
            ADD_FAILURE() << "no error with a 64-byte file size limit";
        } catch (const Error& e) {
            // (the first file a resume rewrites: config.json; metrics.jsonl only when rows go)
            EXPECT_NE(std::string(e.what()).find("config.json.tmp"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("is unchanged"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(read(d + "/metrics.jsonl"), metrics);
    EXPECT_EQ(read(d + "/config.json"), config);
    EXPECT_EQ(read(d + "/checkpoint.safetensors"), ckpt);
    EXPECT_EQ(run_training(c).epochs, 2) << "the run resumes once the disk has room";
    EXPECT_EQ(rows(d).size(), 2u);
}

// One run per --out: while another process (here: another open file) holds <out>/.lock, a run is refused
// before it touches anything; the temporary files a run killed mid-write left behind go when the next starts.
TEST(TrainerCpu, ARunDirectoryInUseIsRefusedAndLeftoverTempFilesGo) {
    const std::string d = fresh_dir("locked");
    TrainConfig c = tiny(d);
    c.epochs = 1;
    run_training(c);
    const std::string ckpt = test::read_all(d + "/checkpoint.safetensors");
    c.resume = true;
    c.epochs = 2;
    {
        const int fd = ::open((d + "/.lock").c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
        try {
            run_training(c);
            ADD_FAILURE() << "no error while the run directory was locked";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("is in use by another lrpcu run"), std::string::npos) << e.what();
        }
        // train's CLI asks before it looks for a checkpoint (a run that has written none yet is "in use", not "no
        // checkpoint to continue").
        EXPECT_THROW(check_out_not_in_use(d), Error);
        ::close(fd);
    }
    check_out_not_in_use(d);  // the lock went with its holder
    check_out_not_in_use(d + "/no-such-folder");
    EXPECT_EQ(test::read_all(d + "/checkpoint.safetensors"), ckpt);
    EXPECT_EQ(rows(d).size(), 1u);
    for (const char* f : {"/checkpoint.safetensors.tmp.4242.0", "/config.json.tmp", "/notes.tmp.1.2"})
        std::ofstream(d + f) << "partial";
    EXPECT_EQ(run_training(c).epochs, 2) << "the lock went with its holder";
    EXPECT_FALSE(std::filesystem::exists(d + "/checkpoint.safetensors.tmp.4242.0"));
    EXPECT_FALSE(std::filesystem::exists(d + "/config.json.tmp"));
    EXPECT_TRUE(std::filesystem::exists(d + "/notes.tmp.1.2")) << "not a file of the run's: kept";
}

// --reldrop-residual "" and --reldrop-epsilon 0 stand for the composite's defaults: naming them on --resume
// agrees with the run that left them out; another value is refused, naming what runs on each side.
TEST(TrainerCpu, ResumeNamingTheCompositeDefaultsAgrees) {
    const std::string d = fresh_dir("rd_defaults");
    TrainConfig c = tiny(d);
    c.epochs = 1;
    c.augment = "reldrop-block";
    run_training(c);
    c.resume = true;
    c.epochs = 2;
    c.reldrop_residual = "copy";
    c.reldrop_epsilon = 1e-3f;
    EXPECT_NO_THROW(run_training(c));
    c.epochs = 3;
    c.reldrop_residual = "norm_split";
    try {
        run_training(c);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("reldrop-residual: checkpoint has \"copy\", now \"norm_split\""),
                  std::string::npos)
            << e.what();
    }
}
