// An epoch's last partial batch (--drop-last): trained on by default as PyTorch's DataLoader and the RelDrop
// reference do, resumable from a checkpoint just before it, left out with --drop-last true; a run recorded
// before the setting existed goes on leaving it out when resumed.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "lrp/nn/safetensors.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/loader.h"
#include "test_util.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;

TEST(LoaderCpu, BatchesPerEpochCountsTheLastPartialBatch) {
    using loader_detail::batches_per_epoch;
    EXPECT_EQ(batches_per_epoch(70, 16, true, false), 4);  // drop_last
    EXPECT_EQ(batches_per_epoch(70, 16, true, true), 5);   // 4 x 16 + 6
    EXPECT_EQ(batches_per_epoch(64, 16, true, true), 4);
    EXPECT_EQ(batches_per_epoch(65, 16, true, true), 4) << "a last batch of one image is left out";
    EXPECT_EQ(batches_per_epoch(66, 16, true, true), 5);
    EXPECT_EQ(batches_per_epoch(65, 16, false, false), 5) << "evaluation sees every image";
    EXPECT_EQ(batches_per_epoch(3, 16, false, true), 1);
    // The run's summary line says what an epoch leaves out (a batch of one was dropped without a word).
    using loader_detail::left_out_note;
    EXPECT_EQ(left_out_note(65, 16, true), " (1 image of each epoch's order not trained on: a last batch of one "
                                           "image is left out)");
    EXPECT_EQ(left_out_note(70, 16, false), " (6 images of each epoch's order not trained on: --drop-last)");
    EXPECT_EQ(left_out_note(70, 16, true), "");
    EXPECT_EQ(left_out_note(64, 16, false), "");
}

namespace {
// 70 training images in batches of 16: 5 steps per epoch, the 5th of 6 images; a run stopped before the
// partial batch of epoch 2 resumes to the uninterrupted run's weights bit for bit (plain and RelDrop steps,
// whose per-sample buffers change size with the batch).
void check_last_partial_batch(const std::string& device) {
    for (const std::string augment : {"none", "reldrop-block"}) {
        SCOPED_TRACE(augment + " on " + device);
        auto config = [&](const std::string& d) {
            TrainConfig c = tiny(d);
            c.train_subset = 70;
            c.epochs = 2;
            c.augment = augment;
            c.device = device;
            return c;
        };
        const std::string tag = device + "_" + augment;
        const std::string a = fresh_dir("last_a_" + tag), b = fresh_dir("last_b_" + tag);
        run_training(config(a));
        const auto ra = rows(a);
        ASSERT_EQ(ra.size(), 2u);
        EXPECT_EQ(ra[0]["step"], 5);
        EXPECT_EQ(ra[1]["step"], 10);

        TrainConfig cb = config(b);
        cb.stop_after_step = 9;  // epoch 2, after its 4th step: the partial batch is next
        EXPECT_TRUE(run_training(cb).stopped);
        const CheckpointState st = read_checkpoint_state(b + "/checkpoint.safetensors");
        EXPECT_EQ(st.partial.batches, 4);
        EXPECT_EQ(st.partial.images, 64);
        cb.stop_after_step = 0;
        cb.resume = true;
        EXPECT_EQ(run_training(cb).epochs, 2);
        EXPECT_TRUE(same_weights(a, b));
        const auto rb = rows(b);
        ASSERT_EQ(rb.size(), 2u);
        EXPECT_EQ(rb[1]["train_loss"], ra[1]["train_loss"]);
        EXPECT_EQ(rb[1]["train_acc"], ra[1]["train_acc"]);

        const std::string dropped = fresh_dir("last_drop_" + tag);
        TrainConfig cd = config(dropped);
        cd.drop_last = true;
        run_training(cd);
        EXPECT_EQ(rows(dropped)[1]["step"], 8);
        EXPECT_FALSE(same_weights(a, dropped));
    }
}
}  // namespace

TEST(TrainerCpu, TrainsOnTheLastPartialBatchAndResumesThroughIt) { check_last_partial_batch("cpu"); }
TEST(TrainerCuda, TrainsOnTheLastPartialBatchAndResumesThroughIt) {
    LRP_SKIP_WITHOUT_CUDA();
    check_last_partial_batch("cuda");
}

// A checkpoint whose recorded settings have no drop-last (written before it existed) came from a run that
// dropped the last partial batch: a resume inherits drop-last = true, so the steps per epoch, the schedule
// and a mid-epoch position keep their meaning, and --drop-last false on that resume is refused.
TEST(TrainerCpu, ARunRecordedBeforeDropLastGoesOnDroppingWhenResumed) {
    const std::string d = fresh_dir("last_old");
    TrainConfig c = tiny(d);
    c.train_subset = 70;
    c.epochs = 2;
    c.drop_last = true;
    c.stop_after_epoch = 1;
    run_training(c);
    const std::string ck = d + "/checkpoint.safetensors";
    ASSERT_TRUE(read_checkpoint_state(ck).config.contains("drop-last"));
    edit_checkpoint_state(ck, ck, [](nlohmann::json& j) { j["config"].erase("drop-last"); });
    const nlohmann::json saved = read_checkpoint_state(d + "/checkpoint.safetensors").config;

    TrainConfig keep = tiny(d);  // as `lrpcu train --out d --resume --drop-last false`
    keep.resume = true;
    inherit_settings(keep, saved, {"out", "resume", "drop-last"});
    EXPECT_FALSE(keep.drop_last) << "a flag given now is kept";
    try {
        run_training(keep);
        ADD_FAILURE() << "resumed an old dropping run with --drop-last false";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("drop-last: checkpoint has true, now false"), std::string::npos)
            << e.what();
    }

    TrainConfig r = tiny(d);  // as `lrpcu train --out d --resume`
    r.resume = true;
    const std::vector<std::string> taken = inherit_settings(r, saved, {"out", "resume"});
    EXPECT_TRUE(r.drop_last);
    EXPECT_EQ(std::count(taken.begin(), taken.end(), "drop-last"), 1);
    EXPECT_EQ(run_training(r).epochs, 2);
    const auto rr = rows(d);
    ASSERT_EQ(rr.size(), 2u);
    EXPECT_EQ(rr[0]["step"], 4);
    EXPECT_EQ(rr[1]["step"], 8);
}
