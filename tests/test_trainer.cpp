// The training run on the CPU: outputs (config, metrics, checkpoint, weights), refusing to overwrite a
// run, divergence, class counts, AdamW settings. Settings (JSON, validation) are in test_train_config.cpp.
// Resume equivalence is in test_trainer_resume.cpp.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <tuple>
#include <functional>

#include "lrp/data/dataset.h"
#include "lrp/nn/models.h"
#include "lrp/nn/safetensors.h"
#include "lrp/ops/elementwise.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/config.h"
#include "lrp/train/loader.h"
#include "lrp/train/schedule.h"
#include "lrp/train/trainer.h"
#include "test_util.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;
namespace fs = std::filesystem;

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
    // Without its checkpoint, a finished run's weights and metrics are not overwritten either (resume or not).
    fs::remove(d + "/checkpoint.safetensors");
    const auto model_time = fs::last_write_time(d + "/model.safetensors");
    c.lr = 0.05f;
    for (bool resume : {false, true}) {
        c.resume = resume;
        try {
            run_training(c);
            ADD_FAILURE() << "resume " << resume << ": no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("holds the weights of an earlier run (model.safetensors) but no "
                                                 "checkpoint"),
                      std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(fs::last_write_time(d + "/model.safetensors"), model_time);
    // Without the weights, a new run starts; the earlier metrics rows are set aside, not overwritten.
    fs::remove(d + "/model.safetensors");
    std::ifstream m(d + "/metrics.jsonl");
    const std::string rows_before((std::istreambuf_iterator<char>(m)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(rows_before.empty());
    EXPECT_NO_THROW(run_training(c));
    std::ifstream e(d + "/metrics.jsonl.earlier");
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>()), rows_before);
}

// A diverging run stops with an error naming it and never records or checkpoints an epoch whose weights
// are NaN/Inf (the last step can break the weights behind a finite training loss), nor one whose BatchNorm running
// variance went to Inf (its layers then output constants: finite losses, a dead model; lr 100 without weight decay
// gets there in epoch 3 here, where lr 900 gives NaN losses).
TEST(TrainerCpu, DivergenceStopsWithoutCheckpointingBrokenWeights) {
    for (const float lr : {900.f, 100.f}) {
        SCOPED_TRACE(lr);
        const std::string d = fresh_dir("diverge" + std::to_string(static_cast<int>(lr)));
        TrainConfig c = tiny(d);
        c.lr = lr;
        c.weight_decay = lr == 100.f ? 0.f : c.weight_decay;
        c.schedule = "constant";
        c.epochs = 4;
        try {
            run_training(c);
            FAIL() << "lr " << lr << " trained 4 epochs without diverging";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("training diverged"), std::string::npos) << e.what();
        }
        EXPECT_FALSE(fs::exists(d + "/model.safetensors"));
        for (const auto& r : rows(d)) EXPECT_TRUE(std::isfinite(r["test_loss"].get<double>())) << r.dump();
        if (fs::exists(d + "/checkpoint.safetensors")) {
            nn::StateDict w = nn::load_safetensors(d + "/checkpoint.safetensors");
            for (auto& [k, t] : w) {
                if (t.dtype() != DType::F32) continue;
                for (float v : t.to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << "checkpoint tensor " << k;
            }
        }
    }
}

// explain needs the class count of bare weights (the rows of the final layer) and checks the input
// channels (the first convolution's), for every architecture family and for lrpcu checkpoints ("model."
// keys) as for plain state_dicts.
TEST(TrainerCpu, InfersTheClassAndChannelCountsFromTheWeights) {
    const std::string d = fresh_dir("infer_classes");
    fs::create_directories(d);
    int i = 0;
    for (const char* arch : {"resnet18", "resnet50_imagenet", "vgg11", "vgg11_bn_imagenet"}) {
        nn::ModelSpec s;
        s.arch = arch;
        s.base_width = 2;
        s.num_classes = 7 + i;
        s.in_channels = 1 + i;
        s.image_size = 32;
        auto m = nn::make_model(s);
        const std::string f = d + "/w" + std::to_string(i) + ".safetensors";
        nn::save_safetensors(f, m->state_dict());
        EXPECT_EQ(infer_num_classes(f), 7 + i) << arch;
        EXPECT_EQ(infer_in_channels(f), 1 + i) << arch;
        EXPECT_EQ(infer_width(f), 2) << arch;
        // Without the stem's weight (a damaged file): from the layers after it, VGG without BatchNorm too (its
        // next convolution's input channels; 64 was assumed).
        nn::StateDict sd = m->state_dict();
        sd.erase(sd.count("conv1.weight") ? "conv1.weight" : "features.0.weight");
        nn::save_safetensors(d + "/stemless.safetensors", sd);
        const InferredWidth w = inferred_width(d + "/stemless.safetensors");
        EXPECT_EQ(w.width, 2) << arch;
        EXPECT_EQ(w.source, std::string(i == 0 ? "bn1.weight's 2 channels"
                                        : i == 1 ? "bn1.weight's 2 channels"
                                        : i == 2 ? "features.3.weight's 2 input channels"
                                                 : "features.1.weight's 2 channels"))
            << arch;
        ++i;
    }
    TrainConfig c = tiny(d + "/run");
    c.epochs = 1;
    run_training(c);
    EXPECT_EQ(infer_num_classes(d + "/run/checkpoint.safetensors"), 10);  // synthetic: 10 classes
    EXPECT_EQ(infer_in_channels(d + "/run/checkpoint.safetensors"), 3);
    nn::save_safetensors(d + "/other.safetensors", {{"conv.weight", Tensor::zeros({2, 2})}});
    EXPECT_EQ(infer_num_classes(d + "/other.safetensors"), -1);
    EXPECT_EQ(infer_in_channels(d + "/other.safetensors"), -1);
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
    const data::Dataset train_split = data::load_dataset("synthetic", "", data::Split::Train, {});
    EXPECT_EQ(st.mean, train_split.mean) << "the training normalisation, for eval and explain";
    EXPECT_EQ(st.stdev, train_split.std);
    nn::ModelSpec s;
    s.arch = "resnet18";
    s.base_width = 2;
    auto m = nn::make_model(s);
    load_model_weights(d + "/checkpoint.safetensors", *m);  // lrpcu checkpoint
    load_model_weights(d + "/model.safetensors", *m);       // plain state_dict
    // A plain state_dict of a wrapped model (DataParallel's "module.", torch.compile's "_orig_mod.", nested): the
    // prefix all names share is removed, as torch's consume_prefix_in_state_dict_if_present does.
    {
        nn::StateDict wrapped;
        for (auto& [k, v] : read_model_weights(d + "/model.safetensors")) wrapped["module._orig_mod." + k] = v;
        nn::save_safetensors(d + "/wrapped.safetensors", wrapped);
        load_model_weights(d + "/wrapped.safetensors", *m);
        EXPECT_EQ(infer_width(d + "/wrapped.safetensors"), 2);
        EXPECT_EQ(read_model_weights(d + "/wrapped.safetensors").count("conv1.weight"), 1u);
        wrapped["extra"] = Tensor::zeros({1});  // not every name has it: nothing is removed
        nn::save_safetensors(d + "/mixed.safetensors", wrapped);
        EXPECT_EQ(read_model_weights(d + "/mixed.safetensors").count("module._orig_mod.conv1.weight"), 1u);
        // Without the stem's weight, the width comes from the BatchNorm after it (64 was assumed, and the missing
        // tensor was buried under a hundred wrong shapes), or from the first block's input channels.
        nn::StateDict stemless = read_model_weights(d + "/model.safetensors");
        stemless.erase("conv1.weight");
        nn::save_safetensors(d + "/stemless.safetensors", stemless);
        EXPECT_EQ(infer_width(d + "/stemless.safetensors"), 2);
        stemless.erase("bn1.weight");
        nn::save_safetensors(d + "/stemless.safetensors", stemless);
        EXPECT_EQ(infer_width(d + "/stemless.safetensors"), 2);
        // Weights that do not fit the model are refused as such before their values are looked at (a NaN hid it).
        std::vector<float> nan(stemless.at("fc.weight").numel(), std::nanf(""));
        stemless["fc.weight"] = Tensor::from_vector(nan, stemless.at("fc.weight").shape(), Device::cpu());
        nn::save_safetensors(d + "/stemless.safetensors", stemless);
        try {
            load_model_weights(d + "/stemless.safetensors", *m);
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("conv1.weight"), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(load_model_weights(d + "/missing.safetensors", *m), Error);
    // A plain state_dict is not a checkpoint; a truncated or missing file is an error, not "no checkpoint".
    ASSERT_TRUE(read_checkpoint_state_if_any(d + "/checkpoint.safetensors").has_value());
    EXPECT_EQ(read_checkpoint_state_if_any(d + "/checkpoint.safetensors")->epoch, 1);
    EXPECT_FALSE(read_checkpoint_state_if_any(d + "/model.safetensors").has_value());
    {
        std::ifstream in(d + "/checkpoint.safetensors", std::ios::binary);
        std::string head(100, '\0');
        in.read(head.data(), 100);
        std::ofstream(d + "/cut.safetensors", std::ios::binary) << head;
    }
    EXPECT_THROW(read_checkpoint_state_if_any(d + "/cut.safetensors"), Error);
    EXPECT_THROW(read_checkpoint_state_if_any(d + "/missing.safetensors"), Error);
    EXPECT_THROW(read_checkpoint_state_if_any(d), Error) << "a directory";
    // Settings of the wrong type in the metadata: an error naming the file and the key, not a JSON exception.
    auto meta = nn::read_safetensors_header(d + "/checkpoint.safetensors").metadata;
    nlohmann::json j = nlohmann::json::parse(meta.at("lrpcu"));
    j["config"]["width"] = "four";
    nn::save_safetensors(d + "/bad_meta.safetensors", {{"x", Tensor::zeros({1})}}, {{"lrpcu", j.dump()}});
    try {
        read_checkpoint_state_if_any(d + "/bad_meta.safetensors");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad_meta.safetensors: corrupt checkpoint metadata"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("'width' must be an integer"), std::string::npos) << e.what();
    }
    // Numbers of the wrong kind and deep nesting (found by fuzzing: undefined float-to-int conversion, and a
    // stack overflow copying the config) are corrupt metadata naming the key.
    const nlohmann::json good = nlohmann::json::parse(meta.at("lrpcu"));
    auto expect_corrupt = [&](const std::string& lrpcu, const std::string& says) {
        nn::save_safetensors(d + "/bad_meta.safetensors", {{"x", Tensor::zeros({1})}}, {{"lrpcu", lrpcu}});
        try {
            read_checkpoint_state_if_any(d + "/bad_meta.safetensors");
            ADD_FAILURE() << says << ": no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("bad_meta.safetensors: "), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
    };
    for (const char* key : {"epoch", "global_step", "best_epoch"}) {
        nlohmann::json k = good;
        k[key] = 1e300;
        expect_corrupt(k.dump(), std::string("'") + key + "' is 1e+300, not an integer");
    }
    nlohmann::json tr = good;
    tr["train_images"] = 2.5;
    expect_corrupt(tr.dump(), "'train_images' is 2.5, not an integer");
    nlohmann::json pe = good;
    pe["partial_epoch"] = {{"batches", 1},         {"loss_sum", 1},   {"correct_sum", 1}, {"occluded_sum", 0},
                           {"nonfinite_sum", 0},   {"images", 16},    {"seconds", 1},     {"loader_rng", -5},
                           {"reldrop_rng", 0},     {"dropout_rng", 0}, {"preview_pending", false}};
    expect_corrupt(pe.dump(), "'loader_rng' is -5, not a non-negative integer");
    pe["partial_epoch"]["loader_rng"] = 5;
    pe["partial_epoch"]["loss_sum"] = "x";
    expect_corrupt(pe.dump(), "'loss_sum' is \"x\", not a number");
    std::string deep = good.dump();
    deep.replace(deep.find("\"config\":") + 9, 0, "[" + std::string(100000, '[') + std::string(100000, ']') + ",");
    expect_corrupt(deep, "corrupt checkpoint metadata: JSON nested more than 64 levels deep");
    // Weights holding NaN (hand-edited, or a broken disk) cannot be resumed: named, not "try a lower --lr".
    auto sd = nn::load_safetensors(d + "/checkpoint.safetensors", &meta);
    sd.at("model.fc.bias") = ops::full(sd.at("model.fc.bias").shape(), std::nanf(""));
    nn::save_safetensors(d + "/checkpoint.safetensors", sd, meta);
    c.resume = true;
    c.epochs = 2;
    try {
        run_training(c);
        ADD_FAILURE() << "resumed NaN weights";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("the checkpoint's weights hold NaN or Inf"), std::string::npos) << e.what();
    }
}

// --adam-beta1/--adam-beta2/--adam-eps and --weight-decay reach the optimizer (each changes the weights a run ends on) and are
// recorded in config.json.
TEST(TrainerCpu, AdamWTakesItsBetasAndEps) {
    auto run = [](const std::string& name, const std::function<void(TrainConfig&)>& set) {
        TrainConfig c = tiny(fresh_dir(name));
        c.optimizer = "adamw";
        c.lr = 1e-3f;
        c.epochs = 1;
        set(c);
        run_training(c);
        return c.out_dir;
    };
    const std::string base = run("adam_default", [](TrainConfig&) {});
    EXPECT_TRUE(same_weights(base, run("adam_same", [](TrainConfig&) {})));
    EXPECT_FALSE(same_weights(base, run("adam_beta1", [](TrainConfig& c) { c.adam_beta1 = 0.5f; })));
    const std::string beta2 = run("adam_beta2", [](TrainConfig& c) { c.adam_beta2 = 0.5f; });
    EXPECT_FALSE(same_weights(base, beta2));
    EXPECT_FALSE(same_weights(base, run("adam_eps", [](TrainConfig& c) { c.adam_eps = 1e-2f; })));
    // --weight-decay reaches AdamW too (its decoupled form is held to PyTorch's in OptimCpu.AdamW*).
    EXPECT_FALSE(same_weights(base, run("adam_wd", [](TrainConfig& c) { c.weight_decay = 0.5f; })));
    std::ifstream f(beta2 + "/config.json");
    EXPECT_FLOAT_EQ(nlohmann::json::parse(f).at("adam-beta2").get<float>(), 0.5f);
}

// --normalize: the run normalises with the given statistics (one value expands to every channel) and records
// them for eval and explain; a spec that does not fit the data's channels is named before training.
TEST(TrainerCpu, NormalizeGivenIsUsedAndRecorded) {
    TrainConfig c = tiny(fresh_dir("normalize"));
    c.epochs = 1;
    c.normalize = "0.5/0.25";
    run_training(c);
    const CheckpointState st = read_checkpoint_state(c.out_dir + "/checkpoint.safetensors");
    EXPECT_EQ(st.mean, (std::vector<float>{0.5f, 0.5f, 0.5f}));
    EXPECT_EQ(st.stdev, (std::vector<float>{0.25f, 0.25f, 0.25f}));
    TrainConfig d = tiny(fresh_dir("normalize_default"));
    d.epochs = 1;
    run_training(d);
    EXPECT_NE(read_checkpoint_state(d.out_dir + "/checkpoint.safetensors").mean, st.mean);
    TrainConfig bad = tiny(fresh_dir("normalize_bad"));
    bad.normalize = "0.1,0.2/0.3,0.4";
    expect_error([&] { run_training(bad); }, {"2 mean/std values, but synthetic images have 3 channel(s)"});
    bad.normalize = "auto";
    expect_error([&] { bad.validate(); }, {"--normalize auto is eval's and explain's"});
}

// A run recorded before --normalize, --adam-* and --min-lr existed ran with their defaults: a resume that gives
// others is refused (they were accepted without a word, and the Adam and LR settings changed mid-run).
TEST(TrainerCpu, ResumeOfARunRecordedBeforeNewSettingsChecksThem) {
    const std::string old = fresh_dir("before_settings");
    TrainConfig o = tiny(old);
    o.optimizer = "adamw";
    o.schedule = "cosine";
    o.stop_after_epoch = 1;
    run_training(o);
    const std::string ck = old + "/checkpoint.safetensors";
    const char* keys[] = {"normalize", "adam-beta1", "adam-beta2", "adam-eps", "min-lr"};
    edit_checkpoint_state(ck, ck, [&](nlohmann::json& j) {
        for (const char* k : keys) j["config"].erase(k);
    });
    const std::vector<std::pair<std::string, std::function<void(TrainConfig&)>>> changes = {
        {"normalize: checkpoint has \"data\", now \"imagenet\"", [](TrainConfig& c) { c.normalize = "imagenet"; }},
        {"adam-beta1: checkpoint has", [](TrainConfig& c) { c.adam_beta1 = 0.5f; }},
        {"adam-beta2: checkpoint has", [](TrainConfig& c) { c.adam_beta2 = 0.5f; }},
        {"adam-eps: checkpoint has", [](TrainConfig& c) { c.adam_eps = 0.1f; }},
        {"min-lr: checkpoint has", [](TrainConfig& c) { c.min_lr = 1e-3f; }}};
    for (const auto& [want, change] : changes) {
        TrainConfig r = o;
        r.stop_after_epoch = 0;
        r.resume = true;
        change(r);
        expect_error([&] { run_training(r); }, {want});
    }
    TrainConfig same = o;  // the defaults themselves agree
    same.stop_after_epoch = 0;
    same.resume = true;
    run_training(same);
}

// The model.safetensors a run exports records what eval and explain need to use it without flags: the
// model settings, class names and normalisation; a plain state_dict records nothing; corrupt entries are named.
TEST(TrainerCpu, ExportedModelRecordsItsSettings) {
    const std::string d = fresh_dir("export");
    run_training(tiny(d));
    const CheckpointState ck = read_checkpoint_state(d + "/checkpoint.safetensors");
    const std::string model = d + "/model.safetensors";
    const CheckpointState st = recorded_state(model);
    EXPECT_EQ(st.config.at("arch"), "resnet18");
    EXPECT_EQ(st.config.at("width"), 2);
    EXPECT_EQ(st.config.at("dataset"), "synthetic");
    EXPECT_EQ(st.config.at("resize"), 0);
    EXPECT_FALSE(st.config.contains("out")) << "per-run settings stay in the checkpoint: " << st.config.dump();
    EXPECT_FALSE(st.config.contains("epochs")) << st.config.dump();
    EXPECT_EQ(st.class_names, ck.class_names);
    EXPECT_EQ(st.class_names.size(), 10u);
    EXPECT_EQ(st.mean, ck.mean);
    EXPECT_EQ(st.stdev, ck.stdev);
    EXPECT_EQ(recorded_state(d + "/checkpoint.safetensors").config, ck.config) << "a checkpoint: its whole state";
    EXPECT_FALSE(read_checkpoint_state_if_any(model).has_value()) << "still a plain state_dict, not a checkpoint";

    auto meta = nn::read_safetensors_header(model).metadata;
    const nn::StateDict sd = nn::load_safetensors(model);
    nn::save_safetensors(d + "/plain.safetensors", sd, {});
    const CheckpointState plain = recorded_state(d + "/plain.safetensors");
    EXPECT_TRUE(plain.config.empty() && plain.class_names.empty() && plain.mean.empty());
    EXPECT_THROW(recorded_state(d + "/missing.safetensors"), Error);
    // Class names that do not match the model's outputs, a width its first convolution contradicts or out of
    // range: corrupt metadata.
    auto expect_refused = [&](const std::string& key, const std::string& value, const std::string& says) {
        auto m = meta;
        m[key] = value;
        nn::save_safetensors(d + "/bad.safetensors", sd, m);
        try {
            const CheckpointState b = recorded_state(d + "/bad.safetensors");
            checked_width(0, b.config, d + "/bad.safetensors");
            checked_geometry({}, {}, b.config, d + "/bad.safetensors");
            ADD_FAILURE() << key << " = " << value << ": no error";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
    };
    expect_refused("lrpcu.class_names", R"(["a", "b"])", "corrupt metadata: 2 class names recorded for a model of 10");
    expect_refused("lrpcu.model", R"({"arch": "resnet18", "width": 3})",
                   "the recorded width is 3, but its weights have first-stage width 2 (conv1.weight's 2 output "
                   "channels) (corrupt metadata)");
    expect_refused("lrpcu.model", R"({"arch": "resnet18", "width": 99999999999})",
                   "the recorded width is 99999999999, not an integer in [1, 65536]");
    expect_refused("lrpcu.model", R"({"arch": "resnet18", "width": 2, "crop": -3})",
                   "the recorded crop is -3, not an integer in [0, 65536] (corrupt metadata; pass --crop");
    // The image geometry: a flag wins over the recorded value (0 included), a negative flag is refused.
    const nlohmann::json folder_run = {{"resize", 40}, {"crop", 32}};
    EXPECT_EQ(checked_geometry({}, {}, folder_run, "w"), std::make_pair(40, 32));
    EXPECT_EQ(checked_geometry(0, {}, folder_run, "w"), std::make_pair(0, 32));
    EXPECT_EQ(checked_geometry({}, {}, plain.config, "w"), std::make_pair(0, 0));
    EXPECT_THROW(checked_geometry(-1, {}, folder_run, "w"), Error);
    // Plain weights: the width is their first convolution's; another --width is refused before building.
    EXPECT_EQ(checked_width(0, plain.config, d + "/plain.safetensors"), 2);
    try {
        checked_width(64, plain.config, d + "/plain.safetensors");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("plain.safetensors has first-stage width 2 (conv1.weight's 2 output "
                                             "channels) (omit --width to use it)"),
                  std::string::npos)
            << e.what();
    }
    // Settings this build does not use (a newer lrpcu's) are skipped: the file still works.
    auto newer = meta;
    newer["lrpcu.model"] = R"({"arch": "resnet18", "width": 2, "epochs": 3, "data-dir": "/x"})";
    nn::save_safetensors(d + "/newer.safetensors", sd, newer);
    EXPECT_EQ(recorded_state(d + "/newer.safetensors").config, (nlohmann::json{{"arch", "resnet18"}, {"width", 2}}));
    // An older lrpcu's model.safetensors recorded the arch and normalisation only.
    nn::save_safetensors(d + "/older.safetensors", sd, {{"arch", "resnet18"}, {"lrpcu.normalize", meta.at("lrpcu.normalize")}});
    EXPECT_EQ(recorded_state(d + "/older.safetensors").config, (nlohmann::json{{"arch", "resnet18"}}));
    EXPECT_EQ(recorded_state(d + "/older.safetensors").mean, ck.mean);
    // Each corrupt entry is an error naming the file and the entry.
    const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
        {"lrpcu.model", "[1, 2]", "not a JSON object"},
        {"lrpcu.model", "{\"width\": \"two\"}", "'width' must be an integer"},
        {"lrpcu.model", "{\"arch\":", "parse error"},
        {"lrpcu.class_names", "{\"a\": 1}", "type must be array"},
        {"lrpcu.normalize", "{\"mean\": [0.5], \"std\": [0]}", "std > 0"},
        {"lrpcu.model", "{\"arch\": " + std::string(100000, '[') + std::string(100000, ']') + "}",
         "JSON nested more than 64 levels deep"},
    };
    for (const auto& [key, value, says] : bad) {
        auto m = meta;
        m[key] = value;
        nn::save_safetensors(d + "/bad.safetensors", sd, m);
        try {
            recorded_state(d + "/bad.safetensors");
            ADD_FAILURE() << key << " = " << value << ": no error";
        } catch (const Error& e) {
            const std::string w = e.what();
            EXPECT_NE(w.find("bad.safetensors: corrupt metadata"), std::string::npos) << w;
            EXPECT_NE(w.find(key == "lrpcu.normalize" ? "normalisation" : key), std::string::npos) << w;
            EXPECT_NE(w.find(says), std::string::npos) << w;
        }
    }
}
