// `lrpcu eval`: top-1/top-5 and per-class accuracy of an lrpcu checkpoint, or of PyTorch weights
// (safetensors state_dict + --arch), on a dataset split (resident, or an image folder streamed with
// --stream); --json prints one machine-readable object. --occlusion adds the occlusion curves (cli_occlusion.h),
// --faithfulness EDDA's faithfulness proxy (cli_faithfulness.h), --background where the explanations fall
// (cli_background.h).
#include <cmath>
#include <filesystem>
#include <tuple>

#include "cli.h"
#include "cli_background.h"
#include "cli_decoy.h"
#include "cli_faithfulness.h"
#include "cli_occlusion.h"
#include "lrp/data/dataset.h"
#include "lrp/log.h"
#include "lrp/nn/models.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"
#include "lrp/train/trainer.h"

namespace lrp::cli {

int run_eval(const std::vector<std::string>& args) {
    std::string weights, arch, dataset, data_dir, split = "test", device = "auto", stream = "auto", normalize = "auto";
    DecoyCli decoy_flags;
    int width = 0, batch = 256, resize = 0, crop = 0;
    int64_t subset = 0, resident_limit_mb = 2048;
    bool json = false;
    CLI::App app("Evaluate a checkpoint or PyTorch weights.", "lrpcu eval");
    app.add_option("--weights", weights, "an lrpcu checkpoint/model file or a PyTorch safetensors state_dict")
        ->required();
    app.add_option("--arch", arch, "architecture (default: from the checkpoint)");
    app.add_option("--width", width, "first-stage width (default: the checkpoint's, else the first convolution's output channels)");
    app.add_option("--dataset", dataset, "dataset (default: from the checkpoint)");
    app.add_option("--data-dir", data_dir, "dataset directory");
    app.add_option("--split", split, "test | train | val (the validation images a run with --val-split held out of "
                                     "the training split; train is all training images)")->capture_default_str();
    app.add_option("--subset", subset, "evaluate on the first N images (0: all; of an image folder, whose files are "
                                       "sorted by class, N evenly spaced ones)");
    app.add_option("--batch-size", batch, "batch size")->capture_default_str();
    app.add_option("--device", device, "auto | cpu | cuda | cuda:N")->capture_default_str();
    app.add_option("--resize", resize, "image folders: shorter side to N pixels (default: from the checkpoint)");
    app.add_option("--crop", crop, "image folders: centre crop N x N (default: from the checkpoint)");
    app.add_option("--stream", stream, "auto | on | off: stream an image folder from disk")->capture_default_str();
    app.add_option("--resident-limit-mb", resident_limit_mb, "--stream auto: largest dataset kept resident")
        ->capture_default_str();
    app.add_option("--normalize", normalize, kNormalizeHelp)->capture_default_str();
    add_decoy_flags(app, decoy_flags);
    app.add_flag("--json", json, "print the result as JSON");
    OcclusionCli occlusion;
    add_occlusion_flags(app, occlusion);
    FaithfulnessCli faith;
    add_faithfulness_flags(app, faith);
    BackgroundCli background;
    add_background_flags(app, background);
    if (int rc = parse_args(app, args); rc >= 0) return rc;
    LRP_CHECK(split == "test" || split == "train" || split == "val", "--split must be test, train or val (got '", split,
              "')");
    LRP_CHECK(split != "val" || subset == 0, "--subset applies to --split test or train, not val");
    LRP_CHECK(subset >= 0, "--subset must be >= 0 (0: all images), got ", subset);
    LRP_CHECK(batch >= 1, "--batch-size must be >= 1 (got ", batch, ")");
    train::check_stream_mode(stream);
    LRP_CHECK(std::filesystem::exists(weights), "--weights: '", weights, "' does not exist");

    // Defaults from what the weights record: a checkpoint's state or a run's model.safetensors (a plain state_dict: none).
    const train::CheckpointState st = train::recorded_state(weights);
    nlohmann::json cfg = st.config.is_object() ? st.config : nlohmann::json::object();
    const std::vector<std::string>& trained_classes = st.class_names;
    train::check_arch(arch, cfg, weights);
    if (arch.empty()) arch = cfg.value("arch", "");
    if (dataset.empty()) dataset = cfg.value("dataset", "");
    if (data_dir.empty()) data_dir = cfg.value("data-dir", "");
    width = train::checked_width(width, cfg, weights);
    LRP_CHECK(!arch.empty(), "--arch is required for weights that do not record it (a plain state_dict)");
    nn::check_known_arch(arch);
    LRP_CHECK(!dataset.empty(), "--dataset is required for weights that do not record it (a plain state_dict)");
    train::require_folder_dir(dataset, data_dir);
    LRP_CHECK(dataset == "folder" || (!app.count("--resize") && !app.count("--crop")),
              "--resize/--crop apply to --dataset folder only (the dataset is ", dataset, ")");
    std::tie(resize, crop) = train::checked_geometry(given_int(app, "--resize", resize), given_int(app, "--crop", crop),
                                                     cfg, weights);

    const Device dev = parse_device(device);
    train::DataOptions dopt;
    dopt.dataset = dataset;
    dopt.data_dir = data_dir;
    dopt.folder.resize = resize;
    dopt.folder.crop = crop;
    dopt.folder.mask_dir = background.masks;
    dopt.stream = stream;
    dopt.resident_limit_mb = resident_limit_mb;
    std::tie(dopt.mean, dopt.stdev) = train::normalization_for(normalize, {st.mean, st.stdev});
    const DecoyChoice decoy = decoy_choice(app, decoy_flags, cfg, split);
    dopt.decoy = decoy.options;
    dopt.strict_normalization = normalize != "auto";  // recorded statistics of other channels: the check below names it
    train::DataSplit ds;
    if (split == "val") {  // the images the run held out: its val-split and seed pick them from the training split
        const train::RecordedValSplit val = train::recorded_val_split(cfg, weights);
        ds = train::open_val(dopt, val.images, val.seed, dev, batch);
        train::check_val_source(st.val_source_images, ds.source_images, ds.name, weights);
    } else {
        ds = train::open_split(dopt, split == "test" ? data::Split::Test : data::Split::Train, subset, false, 0, dev,
                               batch, false, {});
        if (subset > ds.source_images)  // as train's --test-subset: said, not silently capped
            log_warn("--subset ", subset, " exceeds the ", ds.source_images, " images of the ", split, " split of ",
                     ds.name, ": using all of them");
    }
    if (!json && ds.streaming) std::printf("%s\n", ds.summary.c_str());
    if (occlusion.enabled) check_occlusion(app, occlusion, ds, weights);
    if (faith.enabled) check_faithfulness(app, faith, ds);
    if (background.enabled)
        check_background(app, background, ds, dopt.decoy.shade != "none" || !background.masks.empty());
    if (const std::string trained = cfg.value("masks", std::string());
        background.enabled && background.masks.empty() && !trained.empty() && !json)
        std::printf("note: the run trained with the masks in %s; --masks <dir> measures the background against them "
                    "(here: --background-mask %s)\n", trained.c_str(), background.mask.c_str());
    nn::ModelSpec spec;
    spec.arch = arch;
    spec.num_classes = ds.num_classes;
    const int weight_channels = train::infer_in_channels(weights);
    LRP_CHECK(weight_channels < 0 || weight_channels == ds.channels, ds.name, " images have ", ds.channels,
              " channel(s), but the weights in ", weights, " take ", weight_channels, " (another dataset?)");
    const int weight_classes = train::infer_num_classes(weights);
    LRP_CHECK(weight_classes < 0 || weight_classes == ds.num_classes, ds.name, " has ", ds.num_classes,
              " classes, but the weights in ", weights, " have ", weight_classes, " outputs (another dataset?)");
    train::check_class_names(trained_classes, ds.class_names, weights, "the " + split + " split of " + ds.name);
    spec.in_channels = ds.channels;
    spec.image_size = ds.height;
    spec.image_width = ds.width;
    spec.base_width = width;
    auto model = nn::make_model(spec);
    train::load_model_weights(weights, *model);
    model->to(dev);
    if (occlusion.enabled) {  // what the occlusion run would refuse, before the evaluation
        train::check_occlusion_composite(occlusion.options, *model, ds.channels, ds.height, ds.width);
        warn_unused_for_model(app, occlusion.composite, *model);
    }
    if (background.enabled) warn_unused_for_model(app, background.composite, *model);
    if (faith.enabled) warn_unused_for_model(app, faith.composite, *model);
    if (background.enabled) check_background_layers(background, *model, ds);
    if (occlusion.enabled) create_occlusion_out_dir(occlusion);
    train::EvalResult r = train::evaluate(*model, *ds.loader, ds.num_classes);
    LRP_CHECK(r.nonfinite == 0, "the model's outputs hold NaN or Inf for ", r.nonfinite, " of ", r.samples,
              " images: the weights in ", weights, " (or the inputs) are not finite; no accuracy is reported");

    nlohmann::json context = {{"weights", weights}, {"arch", arch},   {"dataset", dataset},
                              {"split", split},     {"mean", ds.mean}, {"std", ds.stdev}};
    if (dopt.decoy.shade != "none")
        context["decoy"] = {{"shade", dopt.decoy.shade}, {"size", dopt.decoy.size}, {"seed", dopt.decoy.seed}};
    if (json) {
        nlohmann::json j = context;
        j.update({{"samples", r.samples}, {"loss", r.loss}, {"top1", r.top1}, {"top5", r.top5}});
        nlohmann::json pc = nlohmann::json::array();
        for (double a : r.per_class) pc.push_back(std::isnan(a) ? nlohmann::json(nullptr) : nlohmann::json(a));
        j["per_class"] = pc;
        if (occlusion.enabled) j["occlusion"] = run_occlusion(occlusion, *model, ds, context, true);
        if (faith.enabled) j["faithfulness"] = run_faithfulness(faith, *model, ds, true);
        if (background.enabled) j["background"] = run_background(app, background, *model, ds, true);
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    if (dopt.decoy.shade != "none") std::printf("%s\n", describe(decoy).c_str());
    char top5[32] = "";  // (with at most 5 classes every label is in the top 5)
    if (ds.num_classes > 5) std::snprintf(top5, sizeof top5, ", top-5 %.2f%%", 100 * r.top5);
    std::printf("%s on %s/%s (%lld images): loss %.4f, top-1 %.2f%%%s\n", arch.c_str(), dataset.c_str(), split.c_str(),
                (long long)r.samples, r.loss, 100 * r.top1, top5);
    for (size_t k = 0; k < r.per_class.size(); ++k) {
        const std::string name = k < ds.class_names.size() ? ds.class_names[k] : std::to_string(k);
        if (std::isnan(r.per_class[k])) std::printf("  class %2zu %-16s    n/a (no images)\n", k, name.c_str());
        else std::printf("  class %2zu %-16s %6.2f%%\n", k, name.c_str(), 100 * r.per_class[k]);
    }
    if (occlusion.enabled) run_occlusion(occlusion, *model, ds, context, false);
    if (faith.enabled) run_faithfulness(faith, *model, ds, false);
    if (background.enabled) run_background(app, background, *model, ds, false);
    return 0;
}

}  // namespace lrp::cli
