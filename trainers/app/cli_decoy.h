// The --decoy flags of eval and explain (docs/isnet.md, the decoy benchmark): which Decoy-MNIST swatches to draw into
// the images of a split, by default (auto) those the weights' run drew on that split.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include <nlohmann/json.hpp>

#include "lrp/data/decoy.h"

namespace lrp::cli {

struct DecoyCli {
    std::string shade = "auto";  // auto | none | label | random
    int size = 4;
    uint64_t seed = 0;
};

void add_decoy_flags(CLI::App& app, DecoyCli& d);

struct DecoyChoice {
    data::DecoyOptions options;  // shade none: no swatches
    bool automatic = false;      // from --decoy auto
};
// The swatches for `split` (train | val | test) of weights whose run recorded `cfg` (its settings; empty for plain
// weights): --decoy auto takes the run's --decoy on train and val and its --decoy-test on test; --decoy-size and
// --decoy-seed default to the run's. A bad shade, or a size/seed given with no swatches, is an error naming it.
DecoyChoice decoy_choice(const CLI::App& app, const DecoyCli& d, const nlohmann::json& cfg, const std::string& split);

// "images with a <swatch description>[ (--decoy auto: ...)]", for logs.
std::string describe(const DecoyChoice& c);

}  // namespace lrp::cli
