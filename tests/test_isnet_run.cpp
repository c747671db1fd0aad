// ISNet runs through the trainer (decoy data): a run cut mid-epoch resumes bit for bit (heatmap-loss sums and Stochastic
// ISNet draws included); checkpoints from before the isnet-*/decoy settings and before z^B resume as they ran (the
// epsilon first layer); the decoy's masks reach the heatmap loss (the foreground fraction is the masked one); images
// without foreground are counted through a resume.
#include <algorithm>

#include "lrp/ops/reduce.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"
#include "lrp/train/isnet_step.h"
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

// Images whose mask has no foreground pixel are counted (isnet_empty_masks) through a mid-epoch checkpoint; a
// checkpoint from before the count leaves that epoch's count out (its earlier steps are unknown).
TEST(TrainerCpu, IsnetEmptyMasksAreCountedThroughAResume) {
    auto run = [](const std::string& out) {
        TrainConfig c = isnet_run(out);
        c.decoy = "none";
        c.isnet_mask = "threshold:0.999";  // some synthetic images have no pixel above it
        return c;
    };
    const std::string a = fresh_dir("isnet_empty_a"), b = fresh_dir("isnet_empty_b"), old = fresh_dir("isnet_empty_old");
    run_training(run(a));
    for (const std::string& out : {b, old}) {
        TrainConfig c = run(out);
        c.stop_after_step = 6;  // epoch 2, step 2 of 4
        run_training(c);
        if (out == old)
            edit_checkpoint_state(out + "/checkpoint.safetensors", out + "/checkpoint.safetensors",
                                  [](nlohmann::json& j) { j["partial_epoch"].erase("empty_mask_sum"); });
        c.stop_after_step = 0;
        c.resume = true;
        run_training(c);
    }
    const auto ra = rows(a), rb = rows(b), ro = rows(old);
    ASSERT_EQ(ra.size(), 2u);
    ASSERT_EQ(rb.size(), 2u);
    ASSERT_EQ(ro.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_GT(ra[i].value("isnet_empty_masks", 0.0), 0.0) << i;
        EXPECT_LT(ra[i].value("isnet_empty_masks", 64.0), 64.0) << i;
        EXPECT_EQ(ra[i]["isnet_empty_masks"], rb[i]["isnet_empty_masks"]) << i;
    }
    EXPECT_EQ(ro[0]["isnet_empty_masks"], ra[0]["isnet_empty_masks"]);
    EXPECT_FALSE(ro[1].contains("isnet_empty_masks")) << ro[1].dump();
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
                              "decoy-seed", "isnet-foreground"})
            j["config"].erase(k);
    });
    c.stop_after_epoch = 0;
    c.resume = true;
    EXPECT_EQ(run_training(c).epochs, 2);
}

// A run recorded before --isnet-first-rule existed trained with the epsilon first layer: its resume (settings from the
// checkpoint, as `lrpcu train --out d --resume`) goes on with it, bit for bit, and refuses to switch to z^B.
TEST(TrainerCpu, IsnetRunFromBeforeZbResumesWithTheEpsilonFirstLayer) {
    const std::string a = fresh_dir("isnet_eps_a"), b = fresh_dir("isnet_eps_b");
    TrainConfig ca = isnet_run(a);
    ca.isnet_first_rule = "epsilon";
    run_training(ca);
    TrainConfig cb = ca;
    cb.out_dir = b;
    cb.stop_after_step = 6;
    EXPECT_TRUE(run_training(cb).stopped);
    const std::string ck = b + "/checkpoint.safetensors";
    edit_checkpoint_state(ck, ck, [](nlohmann::json& j) { j["config"].erase("isnet-first-rule"); });
    const nlohmann::json saved = read_checkpoint_state(ck).config;
    TrainConfig zb = tiny(b);  // as `lrpcu train --out b --resume --isnet-first-rule zb`
    zb.resume = true;
    inherit_settings(zb, saved, {"out", "resume", "isnet-first-rule"});
    EXPECT_EQ(zb.isnet_first_rule, "zb");
    try {
        run_training(zb);
        ADD_FAILURE() << "an epsilon run resumed with z^B";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("isnet-first-rule: checkpoint has \"epsilon\", now \"zb\""),
                  std::string::npos) << e.what();
    }
    TrainConfig r = tiny(b);  // as `lrpcu train --out b --resume`
    r.resume = true;
    const std::vector<std::string> taken = inherit_settings(r, saved, {"out", "resume"});
    EXPECT_EQ(r.isnet_first_rule, "epsilon");
    EXPECT_EQ(std::count(taken.begin(), taken.end(), "isnet-first-rule"), 1);
    EXPECT_FALSE(run_training(r).stopped);
    EXPECT_TRUE(same_weights(a, b));
}

TEST(TrainerCpu, DecoyMasksReachTheIsnetStep) {
    const std::string d = fresh_dir("isnet_decoy");
    TrainConfig c = isnet_run(d);
    c.epochs = 1;
    c.isnet_mask = "threshold:0.02";  // the swatch (shades >= 30 of 255) is above it: only the masks leave it out
    run_training(c);
    // The trainer's first epoch again through the same loader: the foreground fraction with and without the masks.
    std::pair<DataSplit, DataSplit> parts = open_train_val(data_options(c), c.train_subset, c.seed, 0, 0, Device::cpu(),
                                                           c.batch_size, augment_settings(c));
    BatchSource& loader = *parts.first.loader;
    loader.keep_last_batch(!c.drop_last);
    loader.start_epoch(c.seed, 1);
    Isnet isnet(isnet_settings(c, parts.first.mean, parts.first.stdev));
    double with = 0, without = 0, images = 0;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
        const BatchSource::Batch batch = loader.batch(b);
        ASSERT_TRUE(batch.allowed.defined());
        const double n = static_cast<double>(batch.x.dim(0));
        with += n * ops::reduce_all(ops::ReduceOp::Mean, isnet.mask(batch.x, batch.allowed)).to_vector<float>()[0];
        without += n * ops::reduce_all(ops::ReduceOp::Mean, isnet.mask(batch.x)).to_vector<float>()[0];
        images += n;
    }
    const auto r = rows(d);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_NEAR(r[0]["isnet_foreground_fraction"].get<double>(), with / images, 1e-5);
    EXPECT_GT((without - with) / images, 1e-3);  // a swatch of 9 pixels in 1024, mostly inside the crop
}

// The original ISNet (a map per class) with LRP deep supervision through the trainer: each layer's loss reaches the
// metrics, and the heatmap loss is their GWRP.
TEST(TrainerCpu, IsnetAllClassesWithDeepSupervisionRecordsLayerLosses) {
    const std::string a = fresh_dir("isnet_all_lds");
    TrainConfig c = isnet_run(a);
    c.epochs = 1;
    c.isnet_explain = "all";
    c.isnet_lds = true;
    c.isnet_lds_decay = 1.f;  // the plain mean of the layers' losses
    EXPECT_FALSE(run_training(c).stopped);
    const nlohmann::json row = rows(a).back();
    ASSERT_TRUE(row.contains("isnet_layer_losses")) << row.dump();
    double sum = 0;
    int layers = 0;
    for (const char* k : {"input", "layer1", "layer2", "layer3", "layer4"}) {
        ASSERT_TRUE(row["isnet_layer_losses"].contains(k)) << k << " in " << row.dump();
        sum += row["isnet_layer_losses"][k].get<double>(), ++layers;
    }
    EXPECT_GT(row["isnet_layer_losses"]["layer1"].get<double>(), 0.0) << row.dump();
    EXPECT_NEAR(row["isnet_heat_loss"].get<double>(), sum / layers, 1e-4 * sum) << row.dump();
    EXPECT_EQ(row["isnet_nonfinite_maps"].get<double>(), 0.0) << row.dump();
}
