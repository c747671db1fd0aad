// The --background part of `lrpcu eval`: flags, early checks and the run of the background-relevance measure.
#include "cli_background.h"

#include <cmath>
#include <cstdio>
#include <string>

#include "cli.h"
#include "lrp/lrp/flex_lds.h"
#include "lrp/train/background.h"
#include "lrp/train/config.h"

namespace lrp::cli {

void add_background_flags(CLI::App& app, BackgroundCli& b) {
    CLI::Option* on = app.add_flag(
        "--background", b.enabled,
        "also measure where the explanations fall (docs/isnet.md): the share of each image's absolute relevance on "
        "background pixels, for an LRP composite's map and ISNet's LRP-Flex map (epsilon or z^B on the first layer, and "
        "at LRP deep supervision's hidden layers), and ISNet's heatmap loss");
    app.add_option("--background-mask", b.mask, "foreground: threshold:<v>, pixels whose raw value exceeds v in some "
                                                "channel; data, the dataset's masks (--masks, or a --decoy's); auto: "
                                                "data with --masks, else threshold:0.02 (as --isnet-mask)")
        ->capture_default_str()
        ->needs(on);
    app.add_option("--masks", b.masks, "image folders: segmentation masks, the foreground of --background (a folder "
                                       "mirroring --data-dir, one PNG per image at the image's relative path with "
                                       "the extension .png; nonzero: foreground; as train --masks)")
        ->needs(on);
    app.add_option("--background-flex-epsilon", b.flex_epsilon, "LRP-epsilon of the LRP-Flex maps and the stabiliser "
                                                                 "of their z^B first layer (as --isnet-epsilon)")
        ->capture_default_str()
        ->needs(on);
    app.add_option("--background-layers", b.layers, "the hidden layers whose LRP-Flex maps --background measures: "
                                                     "default (ResNet stages, VGG max-pools after a ReLU, none for "
                                                     "other models) or module names (comma list, as "
                                                     "--isnet-lds-layers)")
        ->delimiter(',')
        ->needs(on);
    for (CLI::Option* c : add_composite_flags(app, b.composite)) c->needs(on);  // --background-composite, ...
}

void check_background(const CLI::App& app, BackgroundCli& b, const train::DataSplit& ds, bool has_masks) {
    if (b.mask == "auto") b.mask = b.masks.empty() ? "threshold:0.02" : "data";
    float raw = 0;
    try {
        raw = train::parse_isnet_mask(b.mask);
    } catch (const Error&) {
        LRP_THROW("--background-mask must be auto, threshold:<v> with v in [0, 1) or data, got '", b.mask, "'");
    }
    LRP_CHECK(b.mask != "data" || has_masks, "--background-mask data takes the foreground from the dataset's masks: ",
              "give them (--masks <dir>) or use images with --decoy swatches");
    LRP_CHECK(b.flex_epsilon > 0 && std::isfinite(b.flex_epsilon), "--background-flex-epsilon must be a finite ",
              "number > 0 (got ", b.flex_epsilon, ")");
    b.level.clear(), b.input_zero.clear(), b.input_one.clear();
    for (size_t c = 0; c < ds.mean.size(); ++c) {
        b.level.push_back((raw - ds.mean[c]) / ds.stdev[c]);
        b.input_zero.push_back(-ds.mean[c] / ds.stdev[c]);
        b.input_one.push_back((1.f - ds.mean[c]) / ds.stdev[c]);
    }
    make_composite_from_flags(app, b.composite, ds.mean, ds.stdev);  // an unknown composite fails now
}

void check_background_layers(BackgroundCli& b, nn::Module& model, const train::DataSplit& ds) {
    b.layers = hidden_layer_names(b.layers, "--background-layers");
    if (b.layers.empty()) return;
    // Names the model lacks fail now; so does a layer without a feature map, seen in a forward of one blank image.
    const explain::FlexHidden points(model, b.layers, "--background-layers");
    model.eval();
    (void)model.forward(Tensor::zeros(Shape{1, ds.channels, ds.height, ds.width}, DType::F32, model.device()));
    points.check_feature_maps();
    model.clear_saved();
}

nlohmann::json run_background(const CLI::App& app, const BackgroundCli& b, nn::Module& model, train::DataSplit& ds,
                              bool quiet) {
    explain::Composite c = make_composite_from_flags(app, b.composite, ds.mean, ds.stdev);
    std::vector<float> pixel_scale;
    for (float s : ds.stdev) pixel_scale.push_back(1.f / (255.f * s));
    train::BackgroundResult r =
        train::background_relevance(model, *ds.loader, c, b.level, b.input_zero, {}, b.flex_epsilon, pixel_scale,
                                    b.input_one, b.layers);
    r.mask = b.mask;
    if (!quiet) {
        // a figure over no map at all (every one left out) is NaN: "n/a"
        auto share = [](double v, const char* format = "%.4f") {
            char b[32];
            std::snprintf(b, sizeof b, format, v);
            return std::isnan(v) ? std::string("n/a") : std::string(b);
        };
        std::printf("background relevance (foreground %s: %.1f%% of the pixels; %lld images, %.1f s):\n",
                    r.mask.c_str(), 100 * r.foreground_fraction, (long long)r.samples, r.seconds);
        std::printf("  share of |relevance| on the background: %s (%s map of the label), %s (LRP-Flex map, "
                    "epsilon %g)\n", share(r.share_composite).c_str(), r.composite.c_str(), share(r.share_flex).c_str(),
                    r.flex_epsilon);
        std::printf("  with z^B on the first layer (ISNet's default heatmap): %s on the background\n",
                    share(r.share_flex_zb).c_str());
        if (!r.share_hidden.empty()) {
            std::printf("  LRP-Flex map at the hidden layers (as --isnet-lds shrinks the mask):");
            for (const auto& h : r.share_hidden) std::printf(" %s %s", h.layer.c_str(), share(h.share).c_str());
            std::printf(" on the background\n");
        }
        std::printf("  ISNet heatmap loss (the --augment isnet defaults) of the LRP-Flex map: %s; with z^B: %s\n",
                    share(r.isnet_heat_loss).c_str(), share(r.isnet_heat_loss_zb).c_str());
        std::printf("  share of the squared input gradient of sum_k log p_k on the background: %s; RRR's penalty "
                    "(lambda 1, 0-255 pixel units): %s\n", share(r.share_gradient).c_str(),
                    share(r.rrr_penalty, "%.4g").c_str());
        if (r.nonfinite_maps > 0)
            std::printf("  warning: %lld of the %lld images had a map holding NaN or Inf and are left out of the "
                        "shares and losses (not of the foreground fraction)\n", (long long)r.nonfinite_maps,
                        (long long)r.samples);
        if (r.empty_maps > 0)
            std::printf("  warning: %lld maps (of all kinds above, each image has one of each) are zero everywhere "
                        "and are left out of their kind's share\n", (long long)r.empty_maps);
        if (r.foreground_fraction >= 1.0)
            std::printf("  warning: the mask (%s) marks every pixel as foreground: there is no background, and every "
                        "share is 0\n", r.mask.c_str());
        if (r.foreground_fraction <= 0.0)
            std::printf("  warning: the mask (%s) marks no pixel as foreground: everything is background, and every "
                        "share is 1\n", r.mask.c_str());
    }
    return train::to_json(r);
}

}  // namespace lrp::cli
