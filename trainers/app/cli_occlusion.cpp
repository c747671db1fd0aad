// The --occlusion part of `lrpcu eval`: flags, early checks (settings, output paths), the run, occlusion.json
// and the occlusion.png plot of both curves with their AUCs.
#include "cli_occlusion.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "lrp/durable_file.h"
#include "lrp/log.h"
#include "lrp/lrp/composites.h"
#include "lrp/lrp/target.h"
#include "plot.h"

namespace lrp::cli {

namespace fs = std::filesystem;

void add_occlusion_flags(CLI::App& app, OcclusionCli& o) {
    train::OcclusionOptions& p = o.options;
    CLI::Option* on = app.add_flag("--occlusion", o.enabled,
                                   "also measure accuracy as the most relevant patches are occluded (MoRF) and "
                                   "in random order; writes occlusion.json and occlusion.png");
    app.add_option("--occlusion-patch", p.patch, "patch side in pixels (0 or omitted: 4 up to 64 px images, else 16)")
        ->needs(on);
    app.add_option("--occlusion-steps", p.steps, "N: points at 0, 1/N, ..., 1 of the patches, each rounded to "
                   "whole patches (P patches: round(s P / N) at step s)")->capture_default_str()->needs(on);
    for (CLI::Option* c : add_composite_flags(app, o.composite)) c->needs(on);  // --occlusion-composite, ...
    app.add_option("--occlusion-target", p.target, "relevance of: label | pred | <class> (optionally *logit) | output; "
                   "the curves count predictions of the label (label, output), of the unoccluded image's prediction "
                   "(pred) or of <class>")
        ->capture_default_str()
        ->needs(on);
    app.add_option("--occlusion-fill", p.fill, "fill: mean (0 after normalisation) | reference | raw:<v> | "
                                               "normalized:<v>")
        ->capture_default_str()
        ->needs(on);
    app.add_option("--occlusion-seed", p.seed, "seed of the random-order control")->capture_default_str()->needs(on);
    app.add_option("--occlusion-out", o.out,
                   "output directory, or path prefix for <prefix>.json/.png (default: the weights' directory)")
        ->needs(on);
    app.add_flag("--force", o.force, "overwrite existing --occlusion output files")->needs(on);
}

void check_occlusion(const CLI::App& app, OcclusionCli& o, const train::DataSplit& ds, const std::string& weights) {
    train::OcclusionOptions& p = o.options;
    p.composite = o.composite.composite;
    p.composite_options = composite_options_from_flags(app, o.composite);
    p.mean = ds.mean;
    p.stdev = ds.stdev;
    p = train::resolve_occlusion_options(p, ds.channels, ds.height, ds.width);  // errors name value and choices
    const explain::Target t = explain::Target::parse(p.target, Tensor::zeros(Shape{1}, DType::I32));
    LRP_CHECK(t.kind != explain::Target::Kind::Class || (t.cls >= 0 && t.cls < ds.num_classes),
              "--occlusion-target: class ", t.cls, " is outside the dataset's ", ds.num_classes, " classes [0, ",
              ds.num_classes, ")");  // checked before the evaluation runs
    fs::path prefix;
    if (o.out.empty()) prefix = fs::absolute(weights).parent_path() / "occlusion";
    else if (o.out.back() == '/' || fs::is_directory(o.out)) prefix = fs::path(o.out) / "occlusion";
    else prefix = fs::path(o.out).extension() == ".json" || fs::path(o.out).extension() == ".png"
                      ? fs::path(o.out).replace_extension()
                      : fs::path(o.out);
    o.json = prefix.string() + ".json";
    o.png = prefix.string() + ".png";
    for (const std::string& f : {o.json, o.png})
        LRP_CHECK(o.force || !fs::exists(f), "--occlusion: '", f, "' exists; pass --force to overwrite it or "
                                             "--occlusion-out to write elsewhere");
    // (steps beyond the patches repeat fractions; the curve's points are round(s P / N) patches)
    const int64_t P = ((ds.height + p.patch - 1) / p.patch) * ((ds.width + p.patch - 1) / p.patch);
    if (p.steps > P)
        log_warn("--occlusion-steps ", p.steps, " exceeds the ", P, " patches of ", p.patch, " x ", p.patch, " px: ",
                 "steps fill whole patches, so some points of the curves repeat a fraction");
}

void create_occlusion_out_dir(const OcclusionCli& o) {
    const fs::path dir = fs::path(o.json).parent_path();
    if (!dir.empty()) {
        std::error_code ec;
        fs::create_directories(dir, ec);
        LRP_CHECK(!ec && fs::is_directory(dir), "--occlusion-out: cannot create the directory '", dir.string(),
                  "'", ec ? ": " + ec.message() : "");
    }
    // Checked before the evaluation runs, not after it (a read-only folder next to the weights, say).
    const fs::path where = dir.empty() ? fs::path(".") : dir;
    LRP_CHECK(::access(where.c_str(), W_OK) == 0, "--occlusion-out: cannot write in '", where.string(), "' (",
              std::strerror(errno), "); give --occlusion-out a writable place");
}

nlohmann::json run_occlusion(const OcclusionCli& o, nn::Module& model, train::DataSplit& ds,
                             const nlohmann::json& context, bool quiet) {
    const train::OcclusionResult r = train::occlusion_curves(model, *ds.loader, o.options);
    nlohmann::json j = train::to_json(r);
    nlohmann::json file = context;
    file["occlusion"] = j;
    write_file_atomic(o.json, [&](FileSink& f) { f.write(file.dump(2) + "\n"); }, "--occlusion");
    const std::string composite = r.composite + (r.user_rules ? str(" + ", r.user_rules, " user rule(s)") : "");
    char morf[64], random[64], title[160];
    std::snprintf(morf, sizeof morf, "MORF  AUC %.3f", r.auc_morf);
    std::snprintf(random, sizeof random, "RANDOM  AUC %.3f", r.auc_random);
    std::snprintf(title, sizeof title, "%s, %d PX PATCHES, N=%lld", composite.c_str(), r.patch, (long long)r.samples);
    PlotSeries a{morf, r.fractions, r.accuracy_morf, {214, 39, 40}};
    PlotSeries b{random, r.fractions, r.accuracy_random, {31, 119, 180}};
    write_line_plot(o.png, title, "FRACTION OCCLUDED", "ACCURACY", {a, b});
    j["json"] = o.json;
    j["png"] = o.png;
    if (!quiet) {
        std::printf("occlusion (%s, target %s, fill %s, %d px patches: %d x %d = %d, %lld images, %.1f s): AUC MoRF "
                    "%.4f, random %.4f\n",
                    composite.c_str(), r.target.c_str(), r.fill.c_str(), r.patch, r.grid_h, r.grid_w, r.patches,
                    (long long)r.samples, r.seconds, r.auc_morf, r.auc_random);
        if (ds.height % r.patch != 0 || ds.width % r.patch != 0)
            std::printf("  note: %d px patches do not tile the %d x %d images: the last row or column of patches is "
                        "smaller, and the fractions count patches, not pixels (so MoRF and random may hide slightly "
                        "different shares of the pixels; a patch size dividing the image avoids it)\n",
                        r.patch, ds.height, ds.width);
        if (r.nonfinite_maps > 0)
            std::printf("  warning: %lld relevance maps held NaN or Inf (NaN patches rank first)\n",
                        (long long)r.nonfinite_maps);
        if (r.constant_maps > 0)
            std::printf("  warning: %lld of %lld relevance maps are constant (e.g. all zero): their MoRF order is the "
                        "patches' raster order\n",
                        (long long)r.constant_maps, (long long)r.samples);
        if (r.scored_against != "label")
            std::printf("  a prediction counts as correct when it is the %s (--occlusion-target %s)\n",
                        r.scored_against.c_str(), r.target.c_str());
        std::printf("  fraction  patches  MoRF acc  random acc\n");
        for (size_t s = 0; s < r.fractions.size(); ++s)
            std::printf("  %8.4f  %7d  %7.2f%%  %9.2f%%\n", r.fractions[s], r.occluded[s], 100 * r.accuracy_morf[s],
                        100 * r.accuracy_random[s]);
        std::printf("wrote %s and %s\n", o.json.c_str(), o.png.c_str());
    }
    return j;
}

}  // namespace lrp::cli
