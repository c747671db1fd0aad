// RelDrop runs' metrics: the clean-batch accuracy (--log-clean-accuracy, reldrop.md Q19), which only measures,
// and the share of images the attribution ran on (reldrop_attributed_fraction), with selected-only attribution
// (Q7) and across a resume from a checkpoint that did not count it.
#include <gtest/gtest.h>

#include <cmath>

#include "datasets_test_util.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;

// What --log-clean-accuracy measures is the clean batch, in eval mode: with a learning rate of 0 on a model without
// BatchNorm (VGG-11: nothing a step changes in eval mode) and no crop or flip, the epoch's clean accuracy is the
// eval accuracy of the starting weights on the training images, while block occlusion of each image's most relevant
// region (p 1) changes what the occluded batches score.
TEST(TrainerCpu, CleanAccuracyIsTheCleanBatchsEvalAccuracy) {
    TrainConfig ca = tiny(fresh_dir("clean_acc_start"));
    ca.arch = "vgg11";
    ca.width = 8;
    ca.epochs = 15;
    ca.batch_size = 8;
    ca.optimizer = "adamw";
    ca.lr = 5e-4f;
    run_training(ca);
    TrainConfig cb = tiny(fresh_dir("clean_acc_lr0"));
    cb.arch = ca.arch;
    cb.width = ca.width;
    cb.epochs = 1;
    cb.init_weights = ca.out_dir + "/model.safetensors";
    cb.lr = 0.f;
    cb.crop_padding = 0;
    cb.flip = false;
    cb.augment = "reldrop-block";
    cb.reldrop_p = 1.f;
    cb.log_clean_accuracy = true;
    run_training(cb);
    const nlohmann::json row = rows(cb.out_dir).at(0);
    EXPECT_TRUE(same_weights(ca.out_dir, cb.out_dir)) << "a learning rate of 0 changed the weights";

    DataSplit train = open_train_val(data_options(cb), cb.train_subset, cb.seed, 0, 0, Device::cpu(), cb.batch_size,
                                     augment_settings(cb))
                          .first;
    ASSERT_EQ(train.loader->size(), 64);
    auto model = nn::make_model(model_spec(cb.arch, cb.width, train));
    load_model_weights(cb.init_weights, *model);
    const EvalResult clean = evaluate(*model, *train.loader, train.num_classes);
    EXPECT_GT(clean.top1, 0.3) << "the starting weights learned too little for the check to mean much";
    // (Measuring the occluded batches in eval mode instead reports 0.53125 here against 0.515625: checked once by
    // passing the occluded batch. train_acc is no control for it: the train-mode forward adds dropout.)
    EXPECT_DOUBLE_EQ(row.at("train_clean_acc").get<double>(), clean.top1) << row.dump();
}

// --log-clean-accuracy (reldrop.md Q19) only measures: the run trains to the same weights bit for bit, and its
// metrics gain train_clean_acc; other methods have no occluded batch to compare with.
TEST(TrainerCpu, CleanAccuracyIsMeasuredWithoutChangingTheRun) {
    const std::string a = fresh_dir("clean_acc_off"), b = fresh_dir("clean_acc_on");
    TrainConfig ca = tiny(a);
    ca.epochs = 2;
    ca.augment = "reldrop-block";
    ca.reldrop_p = 1.f;
    run_training(ca);
    TrainConfig cb = ca;
    cb.out_dir = b;
    cb.log_clean_accuracy = true;
    run_training(cb);
    EXPECT_TRUE(same_weights(a, b));
    const auto ra = rows(a), rb = rows(b);
    ASSERT_EQ(rb.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_FALSE(ra[i].contains("train_clean_acc"));
        ASSERT_TRUE(rb[i].contains("train_clean_acc")) << rb[i].dump();
        const double clean = rb[i]["train_clean_acc"].get<double>();
        EXPECT_GE(clean, 0.0);
        EXPECT_LE(clean, 1.0);
        EXPECT_EQ(ra[i]["train_acc"], rb[i]["train_acc"]);
        const double per_image = clean * 64;  // a count of correct images over the epoch's 64
        EXPECT_NEAR(per_image, std::round(per_image), 1e-6);
    }
    // reldrop.md Q7 in a run: with selected-only attribution, the pixel variant's per-sample coins (p 0.3)
    // leave most images unattributed, and the ones attributed are exactly the ones its coins selected.
    TrainConfig cs = tiny(fresh_dir("selected_only"));
    cs.epochs = 1;
    cs.augment = "reldrop-pixel";
    cs.reldrop_lrp_samples = "selected";
    run_training(cs);
    const nlohmann::json row = rows(cs.out_dir)[0];
    const double share = row["reldrop_attributed_fraction"].get<double>();
    EXPECT_GT(share, 0.05);
    EXPECT_LT(share, 0.7) << "p 0.3 over 64 images";
    ASSERT_EQ(row["reldrop_nonfinite_maps"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(share, row["reldrop_occluded_fraction"].get<double>()) << "pixel occludes every selected image";
    TrainConfig plain = tiny(fresh_dir("clean_acc_plain"));
    plain.log_clean_accuracy = true;
    EXPECT_TRUE(throws_with([&] { run_training(plain); }, {"--log-clean-accuracy", "--augment none"}));
}

// A mid-epoch checkpoint written before the count existed: that epoch's share is unknown, so its row leaves it
// out (rather than a share of the later steps only); the next epoch counts again.
TEST(TrainerCpu, AttributedShareOfAnEpochResumedWithoutTheCountIsLeftOut) {
    TrainConfig c = tiny(fresh_dir("attributed_old"));
    c.epochs = 2;
    c.augment = "reldrop-pixel";
    c.stop_after_step = 2;  // epoch 1, after 2 of its 4 steps
    run_training(c);
    const std::string ckpt = c.out_dir + "/checkpoint.safetensors";
    edit_checkpoint_state(ckpt, ckpt, [](nlohmann::json& j) { j["partial_epoch"].erase("attributed"); });
    c.stop_after_step = 0;
    c.resume = true;
    run_training(c);
    const auto r = rows(c.out_dir);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_FALSE(r[0].contains("reldrop_attributed_fraction")) << r[0].dump();
    EXPECT_EQ(r[1].value("reldrop_attributed_fraction", -1.0), 1.0);
}

// An epsilon that absorbs all relevance leaves flat (all-zero) maps: every selected image is counted in
// reldrop_flat_maps, through a mid-epoch checkpoint (2 of the 4 steps before it); a normal run counts none. Block
// occludes them (the corner box); pixel only where the noise alone can drop a pixel (alpha > 1 - beta): with the
// defaults 0.3 and 0.5, or alpha 0.5 (alpha u < 0.5 for every u < 1), it drops none, and they are not counted.
TEST(TrainerCpu, RelDropFlatMapsAreCountedThroughAResume) {
    struct Case {
        const char* augment;
        float alpha;
        double occluded;
    };
    for (const Case k : {Case{"reldrop-block", 0.3f, 1.0}, Case{"reldrop-pixel", 0.3f, 0.0},
                         Case{"reldrop-pixel", 0.5f, 0.0}, Case{"reldrop-pixel", 0.6f, 1.0}}) {
        const char* augment = k.augment;
        TrainConfig c = tiny(fresh_dir(std::string("reldrop_flat_") + augment + std::to_string(k.alpha)));
        c.epochs = 1;
        c.augment = augment;
        c.reldrop_p = 1.f;
        c.reldrop_alpha = k.alpha;
        c.reldrop_epsilon = 3e38f;
        c.stop_after_step = 2;
        run_training(c);
        c.stop_after_step = 0;
        c.resume = true;
        run_training(c);
        const auto r = rows(c.out_dir);
        ASSERT_EQ(r.size(), 1u) << augment;
        EXPECT_EQ(r[0].at("reldrop_occluded_fraction").get<double>(), k.occluded) << r[0].dump();
        EXPECT_EQ(r[0].at("reldrop_flat_maps").get<double>(), 64.0) << r[0].dump();
        TrainConfig normal = tiny(fresh_dir(std::string("reldrop_ranked_") + augment + std::to_string(k.alpha)));
        normal.epochs = 1;
        normal.augment = augment;
        normal.reldrop_p = 1.f;
        run_training(normal);
        EXPECT_EQ(rows(normal.out_dir)[0].at("reldrop_flat_maps").get<double>(), 0.0) << augment;
    }
}

// The first-batch preview of a RelDrop run whose per-batch coin selects no batch in epoch 1 comes in epoch 2, also
// when the run was stopped after epoch 1 and resumed (an epoch-boundary checkpoint records that it is pending).
TEST(TrainerCpu, RelDropPreviewPendingSurvivesAnEpochBoundaryResume) {
    // A seed whose coins (p 0.1, 4 batches an epoch) select none of epoch 1's batches and one of epoch 2's.
    auto preview = [](const std::string& dir) { return read_all(dir + "/first_batch.png"); };
    TrainConfig c;
    std::string whole;
    bool found = false;
    for (uint64_t seed = 1; seed <= 20 && !found; ++seed) {
        c = tiny(fresh_dir("reldrop_preview_resume_" + std::to_string(seed)));
        c.epochs = 2;
        c.augment = "reldrop-block";
        c.reldrop_p = 0.1f;
        c.seed = seed;
        TrainConfig w = c;
        w.out_dir = fresh_dir("reldrop_preview_resume_" + std::to_string(seed) + "_whole");
        run_training(w);
        whole = preview(w.out_dir);
        if (whole.empty()) continue;
        c.stop_after_epoch = 1;
        run_training(c);
        found = preview(c.out_dir).empty();
    }
    ASSERT_TRUE(found) << "no seed without a selected batch in epoch 1 and with one in epoch 2";
    c.stop_after_epoch = 0;
    c.resume = true;
    run_training(c);
    EXPECT_EQ(preview(c.out_dir), whole) << "no preview, or another one than the uninterrupted run's";
    EXPECT_TRUE(std::filesystem::exists(c.out_dir + "/first_batch_clean.png"));
}
