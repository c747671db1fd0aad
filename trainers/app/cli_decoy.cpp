// The --decoy, --decoy-size and --decoy-seed flags shared by eval and explain, and what they resolve to.
#include "cli_decoy.h"

#include "cli.h"
#include "lrp/error.h"

namespace lrp::cli {

void add_decoy_flags(CLI::App& app, DecoyCli& d) {
    app.add_option("--decoy", d.shade, "draw Decoy-MNIST swatches into the split (docs/isnet.md): auto (as the run "
                                       "the weights come from: its --decoy on the train and val splits, its "
                                       "--decoy-test on the test split; none for other weights) | none | label (the "
                                       "shade of the label, the shortcut a --decoy label run trained with) | random (a "
                                       "random class's shade, Ross et al.'s test set)")
        ->capture_default_str();
    app.add_option("--decoy-size", d.size, "with --decoy: the swatch side (default: the checkpoint's, else 4)");
    app.add_option("--decoy-seed", d.seed, "with --decoy: corners and random shades (default: the checkpoint's, "
                                           "else 0)")
        ->check(non_negative());
}

DecoyChoice decoy_choice(const CLI::App& app, const DecoyCli& d, const nlohmann::json& cfg, const std::string& split) {
    LRP_CHECK(d.shade == "auto" || d.shade == "none" || d.shade == "label" || d.shade == "random",
              "--decoy must be auto, none, label or random (got '", d.shade, "')");
    DecoyChoice c;
    c.automatic = d.shade == "auto";
    std::string shade = d.shade;
    if (c.automatic) {  // the swatches the run saw on this split
        const std::string trained = cfg.value("decoy", "none");
        shade = trained == "none" ? "none" : (split == "test" ? cfg.value("decoy-test", "random") : trained);
    }
    c.options.shade = shade;
    c.options.size = app.count("--decoy-size") ? d.size : cfg.value("decoy-size", 4);
    c.options.seed = app.count("--decoy-seed") ? d.seed : cfg.value("decoy-seed", uint64_t{0});
    LRP_CHECK(shade != "none" || (!app.count("--decoy-size") && !app.count("--decoy-seed")),
              "--decoy-size/--decoy-seed apply with --decoy label or random",
              c.automatic ? " (--decoy auto: the weights' run drew no swatches on this split)" : "");
    return c;
}

std::string describe(const DecoyChoice& c) {
    return "images with a " + data::describe(c.options) +
           (c.automatic ? " (--decoy auto: as the weights' run drew them on this split)" : "");
}

}  // namespace lrp::cli
