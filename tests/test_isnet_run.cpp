// ISNet runs through the trainer (on a decoy dataset): a run cut mid-epoch resumes to the uninterrupted run's
// weights and metrics bit for bit (the heatmap-loss sums and the Stochastic ISNet draws included); a checkpoint
// written before the isnet-* and decoy settings existed resumes (their defaults are what it ran with).
#include "lrp/train/checkpoint.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::test;
using namespace lrp::train;

namespace {
TrainConfig isnet_run(const std::string& out) {
    TrainConfig c = tiny(out);
    c.augment = "isnet";
    c.isnet_mask = "threshold:0.5";
    c.decoy = "label";  // the dataset masks travel through the batches too
    c.decoy_size = 3;
    c.clip_grad_norm = 1.f;
    c.epochs = 2;
    return c;
}
}  // namespace

TEST(TrainerCpu, IsnetRunResumesMidEpochBitExact) {
    const std::string a = fresh_dir("isnet_a"), b = fresh_dir("isnet_b");
    run_training(isnet_run(a));
    TrainConfig cb = isnet_run(b);
    cb.stop_after_step = 6;  // epoch 2, step 2 of 4
    EXPECT_TRUE(run_training(cb).stopped);
    EXPECT_EQ(read_checkpoint_state(b + "/checkpoint.safetensors").partial.batches, 2);
    cb.stop_after_step = 0;
    cb.resume = true;
    EXPECT_FALSE(run_training(cb).stopped);
    EXPECT_TRUE(same_weights(a, b));
    auto ra = rows(a), rb = rows(b);
    ASSERT_EQ(ra.size(), 2u);
    ASSERT_EQ(rb.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(ra[i]["train_loss"], rb[i]["train_loss"]) << i;
        EXPECT_EQ(ra[i]["isnet_heat_loss"], rb[i]["isnet_heat_loss"]) << i;
        EXPECT_EQ(ra[i]["isnet_foreground_fraction"], rb[i]["isnet_foreground_fraction"]) << i;
        EXPECT_GT(ra[i]["isnet_heat_loss"].get<double>(), 0.0) << i;
    }
}

TEST(TrainerCpu, CheckpointFromBeforeIsnetSettingsResumes) {
    const std::string d = fresh_dir("isnet_old");
    TrainConfig c = tiny(d);
    c.epochs = 2;
    c.stop_after_epoch = 1;
    run_training(c);
    const std::string ck = d + "/checkpoint.safetensors";
    edit_checkpoint_state(ck, ck, [](nlohmann::json& j) {
        for (const char* k : {"isnet-p", "isnet-epsilon", "isnet-explain", "isnet-decay", "isnet-e", "isnet-a",
                              "isnet-b", "isnet-c1", "isnet-c2", "isnet-mask", "decoy", "decoy-test", "decoy-size",
                              "decoy-seed"})
            j["config"].erase(k);
    });
    c.stop_after_epoch = 0;
    c.resume = true;
    EXPECT_EQ(run_training(c).epochs, 2);
}
