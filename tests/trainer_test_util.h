// Helpers of the trainer tests: a tiny synthetic run configuration, fresh output directories, the
// metrics rows of a run, a run stopped after epoch 1 and resumed, bit-for-bit weight comparison, and
// checkpoints with edited run state.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lrp/nn/safetensors.h"
#include "lrp/train/config.h"
#include "lrp/train/trainer.h"
#include "temp_paths.h"

namespace lrp::test {

inline train::TrainConfig tiny(const std::string& out) {
    train::TrainConfig c;
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
// Per process (two test runs on one machine must not share run directories); removed when the process's tests pass.
inline std::string fresh_dir(const std::string& name) {
    const std::string d = remove_at_exit(::testing::TempDir() + "lrp_trainer_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(d);
    return d;
}
inline std::vector<nlohmann::json> rows(const std::string& dir) {
    std::vector<nlohmann::json> r;
    std::ifstream in(dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) r.push_back(nlohmann::json::parse(line));
    return r;
}
// Runs c to the end of epoch 1, then resumes it to the end; returns the resumed run's summary.
inline train::TrainSummary run_interrupted(train::TrainConfig c) {
    c.stop_after_epoch = 1;
    EXPECT_EQ(train::run_training(c).epochs, 1);
    c.stop_after_epoch = 0;
    c.resume = true;
    return train::run_training(c);
}
// The f32 tensors of two run directories' model.safetensors are equal bit for bit.
inline ::testing::AssertionResult same_weights(const std::string& a, const std::string& b) {
    nn::StateDict wa = nn::load_safetensors(a + "/model.safetensors"), wb = nn::load_safetensors(b + "/model.safetensors");
    if (wa.size() != wb.size()) return ::testing::AssertionFailure() << wa.size() << " vs " << wb.size() << " tensors";
    for (auto& [k, t] : wa) {
        if (t.dtype() != DType::F32) continue;
        if (!wb.count(k) || t.to_vector<float>() != wb.at(k).to_vector<float>())
            return ::testing::AssertionFailure() << "tensor " << k << " differs";
    }
    return ::testing::AssertionSuccess();
}

// Writes checkpoint `in` to `out` (may be the same file) with its run state (the "lrpcu" metadata JSON)
// changed by `edit`, e.g. to make it look recorded by an older lrpcu.
inline void edit_checkpoint_state(const std::string& in, const std::string& out,
                                  const std::function<void(nlohmann::json&)>& edit) {
    std::map<std::string, std::string> meta;
    const nn::StateDict sd = nn::load_safetensors(in, &meta);
    nlohmann::json j = nlohmann::json::parse(meta.at("lrpcu"));
    edit(j);
    meta["lrpcu"] = j.dump();
    nn::save_safetensors(out, sd, meta);
}

}  // namespace lrp::test
