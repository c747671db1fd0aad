// `lrpcu eval --background`: where the model's explanations fall (train/background.h): its flags, the checks
// before the evaluation runs, and the run with its printed summary.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "composite_flags.h"
#include "lrp/nn/module.h"
#include "lrp/train/data_source.h"

namespace lrp::cli {

struct BackgroundCli {
    bool enabled = false;
    std::string mask = "auto";  // as --isnet-mask (auto: data with --masks, else threshold:0.02)
    std::string masks;          // --masks: the image folder's segmentation masks (as train's)
    float flex_epsilon = 1e-2f;
    std::vector<std::string> layers;  // --background-layers: the hidden points by module name (empty, default: the model's)
    CompositeFlags composite{"background-", "epsilon_plus_flat"};  // --background-composite, ...
    std::vector<float> level, input_zero, input_one;                // resolved by check_background()
};

// Adds --background and the --background-* flags and --masks (each needs --background).
void add_background_flags(CLI::App& app, BackgroundCli& b);
// Validates the flags for the split's images (has_masks: whether they carry dataset masks, which --background-mask
// data needs: --masks or a decoy's), resolves --background-mask auto and the foreground level; errors name the flag.
void check_background(const CLI::App& app, BackgroundCli& b, const train::DataSplit& ds, bool has_masks);
// With the model built: resolves --background-layers default; a name the model lacks, or one whose output is no
// feature map, fails now, naming it.
void check_background_layers(BackgroundCli& b, nn::Module& model, const train::DataSplit& ds);
// Runs it and returns the result as JSON; prints a summary unless `quiet`.
nlohmann::json run_background(const CLI::App& app, const BackgroundCli& b, nn::Module& model, train::DataSplit& ds,
                              bool quiet);

}  // namespace lrp::cli
