// `lrpcu eval --occlusion`: the occlusion flags, their checks before the evaluation runs, and the run that
// writes occlusion.json and occlusion.png (train::occlusion_curves, plot.h).
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "composite_flags.h"
#include "lrp/nn/module.h"
#include "lrp/train/data_source.h"
#include "lrp/train/occlusion.h"

namespace lrp::cli {

struct OcclusionCli {
    bool enabled = false, force = false;
    train::OcclusionOptions options;
    CompositeFlags composite{"occlusion-", "epsilon_gamma_box"};  // --occlusion-composite, --occlusion-rule, ...
    std::string out;         // a directory (existing, or ending in '/') or a path prefix; empty: the weights' directory
    std::string json, png;   // resolved by check_occlusion()
};

// Adds --occlusion and the --occlusion-* flags (each needs --occlusion) and --force.
void add_occlusion_flags(CLI::App& app, OcclusionCli& o);

// Validates the settings for the split's images and resolves defaults and output paths; refuses (naming
// the file) to overwrite an existing output unless --force. Call before the evaluation so mistakes fail fast.
void check_occlusion(const CLI::App& app, OcclusionCli& o, const train::DataSplit& ds, const std::string& weights);
// Creates the output folder check_occlusion resolved and checks that it can be written: after every other check,
// so that a refused run leaves no folder behind, and before the evaluation.
void create_occlusion_out_dir(const OcclusionCli& o);

// Runs the curves, writes the JSON file (result plus `context`) and the PNG, and returns the result as JSON
// (with the two paths). Prints a summary unless `quiet`.
nlohmann::json run_occlusion(const OcclusionCli& o, nn::Module& model, train::DataSplit& ds,
                             const nlohmann::json& context, bool quiet);

}  // namespace lrp::cli
