// `lrpcu eval --faithfulness`: EDDA's faithfulness proxy (train/faithfulness.h): its flags, the checks before the
// evaluation runs, and the run with its printed summary.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "composite_flags.h"
#include "lrp/nn/module.h"
#include "lrp/train/data_source.h"
#include "lrp/train/edda_step.h"

namespace lrp::cli {

struct FaithfulnessCli {
    bool enabled = false;
    int patch = 0;  // 0: ceil(min(H, W) / 4), as --edda-patch
    std::string reduce = "sum", fill = "mean";
    uint64_t seed = 0;  // the random control windows
    CompositeFlags composite{"faithfulness-", "epsilon_gamma_box"};  // --faithfulness-composite, ...
    train::EddaSettings settings;  // resolved by check_faithfulness()
};

// Adds --faithfulness and the --faithfulness-* flags (each needs --faithfulness).
void add_faithfulness_flags(CLI::App& app, FaithfulnessCli& f);
// Validates the flags for the split's images and resolves the settings; errors name the flag.
void check_faithfulness(const CLI::App& app, FaithfulnessCli& f, const train::DataSplit& ds);
// Runs it and returns the result as JSON; prints a summary unless `quiet`.
nlohmann::json run_faithfulness(const FaithfulnessCli& f, nn::Module& model, train::DataSplit& ds, bool quiet);

}  // namespace lrp::cli
