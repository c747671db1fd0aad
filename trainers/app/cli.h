// Shared pieces of the lrpcu command-line tool: argument parsing with CLI11 and the subcommands.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lrp/error.h"

namespace lrp::cli {

// Parses args (without the program and subcommand names). Returns -1 to continue, or the exit code
// to return (0 after --help, 2 after a usage error, with the message printed). An empty value is a usage error for
// numbers and booleans, and for text options too unless keep_empty_text (train: "" clears a file's value).
int parse_args(CLI::App& app, const std::vector<std::string>& args, bool quiet = false, bool keep_empty_text = false);

// An option's parsed value when it was given on the command line, else nothing.
inline std::optional<int> given_int(const CLI::App& app, const std::string& flag, int value) {
    return app.count(flag) ? std::optional<int>(value) : std::nullopt;
}

// For unsigned options: CLI11 would wrap a negative number around.
inline CLI::Validator non_negative() {
    return CLI::Validator(
        [](std::string& v) { return v.rfind('-', 0) == 0 ? "must be a non-negative integer" : std::string(); }, "");
}

// --background-layers, --flex-layers: `default` alone means the model's own hidden points (empty names); with
// module names it is an error naming the flag.
inline std::vector<std::string> hidden_layer_names(const std::vector<std::string>& given, const char* flag) {
    for (const std::string& n : given)
        if (n == "default") {
            LRP_CHECK(given.size() == 1, flag, ": 'default' (the model's own points) or module names, not both");
            return {};
        }
    return given;
}

// --normalize of eval and explain (train::normalization_for).
inline constexpr const char* kNormalizeHelp =
    "input normalisation: auto (the mean/std the weights were trained with, else the data's own) | data (the "
    "evaluated split's own: its published constants, or an image folder split's computed statistics) | "
    "imagenet (torchvision's constants, for its weights) | M1,M2,M3/S1,S2,S3 (raw [0, 1] units). explain's "
    ".npy inputs are taken as already normalised: there it only sets the overlays' de-normalisation and the "
    "ZBox bounds";

int run_train(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_explain(const std::vector<std::string>& args);

}  // namespace lrp::cli
