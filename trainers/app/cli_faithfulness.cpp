// The --faithfulness part of `lrpcu eval`: flags, early checks and the run of EDDA's faithfulness proxy.
#include "cli_faithfulness.h"

#include <algorithm>
#include <cstdio>

#include "lrp/ops/reldrop.h"
#include "lrp/train/faithfulness.h"
#include "lrp/train/reldrop_step.h"

namespace lrp::cli {

void add_faithfulness_flags(CLI::App& app, FaithfulnessCli& f) {
    CLI::Option* on = app.add_flag(
        "--faithfulness", f.enabled,
        "also measure EDDA's faithfulness proxy (docs/edda.md): the drop of the label's probability when each "
        "image's most relevant window is filled, against the change when its least relevant one is");
    app.add_option("--faithfulness-patch", f.patch, "window side in pixels (0: a quarter of the smaller image side)")
        ->needs(on);
    app.add_option("--faithfulness-reduce", f.reduce, "channel reduction of the map: sum | abs | relu")
        ->capture_default_str()
        ->needs(on);
    app.add_option("--faithfulness-fill", f.fill, "fill: mean (0 after normalisation) | reference | raw:<v> | "
                                                  "normalized:<v>")
        ->capture_default_str()
        ->needs(on);
    app.add_option("--faithfulness-seed", f.seed, "seed of the random control windows")->capture_default_str()->needs(on);
    for (CLI::Option* c : add_composite_flags(app, f.composite)) c->needs(on);  // --faithfulness-composite, ...
}

void check_faithfulness(const CLI::App& app, FaithfulnessCli& f, const train::DataSplit& ds) {
    train::EddaSettings& s = f.settings;
    LRP_CHECK(f.patch >= 0 && f.patch <= std::min(ds.height, ds.width), "--faithfulness-patch must be in [0, ",
              std::min(ds.height, ds.width), "] for the ", ds.height, " x ", ds.width, " images (0: default), got ",
              f.patch);
    s.patch = f.patch > 0 ? f.patch : (std::min(ds.height, ds.width) + 3) / 4;
    LRP_CHECK(s.patch < ds.height || s.patch < ds.width, "--faithfulness-patch ", s.patch, " covers the whole ",
              ds.height, " x ", ds.width, " image: one window, so the most, the least relevant and the random one ",
              "coincide and nothing is compared");
    try {
        s.reduce = ops::parse_edda_reduce(f.reduce);
    } catch (const Error&) {
        LRP_THROW("--faithfulness-reduce must be sum, abs or relu (got '", f.reduce, "')");
    }
    s.fill = ops::reldrop_fill(f.fill, ds.mean, ds.stdev, "--faithfulness-fill");
    LRP_CHECK(ds.channels <= 4, "--faithfulness: images of ", ds.channels, " channels (1 to 4 supported)");
    s.composite = f.composite.composite;
    s.composite_options = composite_options_from_flags(app, f.composite);
    const explain::CompositeOptions d = train::dataset_composite_options(ds.mean, ds.stdev);
    if (!s.composite_options.low) s.composite_options.low = d.low;  // ZBox bounds: the raw range, normalised
    if (!s.composite_options.high) s.composite_options.high = d.high;
    try {
        train::Edda check(s);  // an unknown composite fails now, before the evaluation
    } catch (const Error& e) {
        LRP_THROW("--faithfulness-composite ", s.composite, ": ", e.what());
    }
}

nlohmann::json run_faithfulness(const FaithfulnessCli& f, nn::Module& model, train::DataSplit& ds, bool quiet) {
    train::FaithfulnessResult r = train::faithfulness(model, *ds.loader, f.settings, f.seed);
    r.fill = f.fill;
    // The user's rule maps come ahead of the composite's (e.g. any=gradient: gradient maps): say so, or the
    // composite's name alone would misreport what ranked the windows.
    const CompositeFlags& c = f.composite;
    std::string rules;
    for (const auto& [flag, list] : {std::pair<const char*, const std::vector<std::string>&>{"rule", c.rules},
                                     {"first-rule", c.first_rules}, {"layer-rule", c.layer_rules}})
        for (const std::string& v : list) rules += std::string(rules.empty() ? "" : " ") + "--" + c.prefix + flag + " " + v;
    if (!quiet) {
        const long long used = r.samples - r.nonfinite_maps - r.constant_maps;  // what every figure below is over
        const std::string of = used == r.samples ? std::string() : " of " + std::to_string(r.samples);
        std::printf("faithfulness proxy (lrpcu's, not EDDA's metric; %s%s%s, %dx%d windows, map %s, fill %s, %lld%s "
                    "images, %.1f s):\n", r.composite.c_str(), rules.empty() ? "" : " with ", rules.c_str(), r.patch,
                    r.patch, r.reduce.c_str(), r.fill.c_str(), used, of.c_str(), r.seconds);
        std::printf("  label probability %.4f clean; drop %.4f with the most relevant window filled, |change| %.4f "
                    "with the least relevant one; the first exceeds the second for %.1f%% of the images\n",
                    r.mean_p_clean, r.mean_drop_salient, r.mean_abs_drop_nonsalient,
                    100 * r.share_salient_beats_nonsalient);
        std::printf("  control: drop %.4f with a random window filled; the most relevant one costs more for %.1f%% of "
                    "the images\n", r.mean_drop_random, 100 * r.share_salient_beats_random);
        std::printf("  top-1: clean %.2f%%, most relevant filled %.2f%%, least relevant filled %.2f%%\n",
                    100 * r.acc_clean, 100 * r.acc_salient, 100 * r.acc_nonsalient);
        if (r.nonfinite_maps > 0)
            std::printf("  warning: %lld relevance maps held NaN or Inf (those images left out)\n",
                        (long long)r.nonfinite_maps);
        if (r.constant_maps > 0)
            std::printf("  warning: %lld of %lld relevance maps are constant (e.g. all zero: no window is more relevant "
                        "than another; those images left out)\n", (long long)r.constant_maps, (long long)r.samples);
    }
    nlohmann::json j = train::to_json(r);
    if (!rules.empty()) j["user_rules"] = rules;  // the flags as given; "rules" keeps every layer's rule
    return j;
}

}  // namespace lrp::cli
