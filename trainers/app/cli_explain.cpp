// `lrpcu explain`: LRP relevance maps of a model (lrpcu checkpoint or PyTorch safetensors + --arch), or ISNet's
// LRP-Flex map (--flex, hidden layers too with --flex-layers), for a .npy array, image files or N samples of a dataset
// split: relevance.npy and one heatmap PNG per sample (signed map scaled by max finite |R|), --overlay over the input.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <tuple>

#include "cli.h"
#include "cli_decoy.h"
#include "composite_flags.h"
#include "explain_data.h"
#include "explain_io.h"
#include "lrp/lrp/attribution.h"
#include "lrp/data/dataset.h"
#include "lrp/data/npy.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/models.h"
#include "lrp/log.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"
#include "lrp/train/isnet_step.h"

namespace lrp::cli {

namespace {
// The samples (rows of `per` values) with a value for which `pick` holds (any: some value; all: every value), as
// "i, j, ..." (empty: none); past the first 10, how many more ("0, 1, ..., 9 and 54 more of 64").
template <class Pick>
std::string rows_where(const std::vector<float>& v, int64_t per, bool all, Pick pick) {
    std::string out;
    size_t found = 0;
    const size_t rows = per > 0 ? v.size() / per : 0;
    for (size_t i = 0; i < rows; ++i) {
        const auto b = v.begin() + i * per, e = v.begin() + (i + 1) * per;
        if (all ? std::all_of(b, e, pick) : std::any_of(b, e, pick))
            if (++found <= 10) out += (out.empty() ? "" : ", ") + std::to_string(i);
    }
    if (found > 10) out += " and " + std::to_string(found - 10) + " more of " + std::to_string(rows);
    return out;
}
std::string nonfinite_rows(const std::vector<float>& v, int64_t per) {
    return rows_where(v, per, false, [](float e) { return !std::isfinite(e); });
}

// True for a path ending in .npy (any case: ARRAY.NPY too).
bool is_npy(const std::string& f) {
    std::string e = std::filesystem::path(f).extension().string();
    for (char& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return e == ".npy";
}

// --input values: comma-separated lists, except that a value naming an existing file is one name.
// v with one value per channel (a single value repeated).
std::vector<float> expand_channels(const std::vector<float>& v, int64_t channels) {
    return v.size() == 1 ? std::vector<float>(static_cast<size_t>(channels), v[0]) : v;
}

std::vector<std::string> split_inputs(const std::vector<std::string>& given) {
    std::vector<std::string> out;
    for (const std::string& v : given) {
        if (std::filesystem::exists(v)) {
            out.push_back(v);
            continue;
        }
        // An empty item (a doubled or trailing comma, an empty variable) is a mistake, not a file to skip.
        size_t start = 0;
        for (size_t comma;; start = comma + 1) {
            comma = v.find(',', start);
            const std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            LRP_CHECK(!item.empty(), "--input '", v, "': an empty file name (a doubled or trailing comma?)");
            out.push_back(item);
            if (comma == std::string::npos) break;
        }
    }
    return out;
}
}  // namespace

int run_explain(const std::vector<std::string>& args) {
    std::vector<std::string> inputs;
    std::string dataset, data_dir, split = "test";
    int64_t samples = 0;
    int resize = 0, crop = 0;
    bool overlay = false;
    std::string arch, weights, labels_path, target = "pred", out, device = "auto", normalize = "auto";
    int width = 0, classes = 0, scale = 4, batch = 64;
    std::string cmap;
    double cmap_level = 1.0;
    CompositeFlags cf;
    bool print_rules = false, force = false;
    DecoyCli decoy_flags;
    CLI::App app("LRP relevance maps (relevance.npy and heatmap PNGs).", "lrpcu explain");
    app.add_option("--weights", weights, "an lrpcu checkpoint/model file or a PyTorch safetensors state_dict")
        ->required();
    app.add_option("--arch", arch, "architecture (default: from the checkpoint)");
    app.add_option("--width", width, "first-stage width (default: the checkpoint's, else the first convolution's output channels)");
    app.add_option("--num-classes", classes,
                   "number of classes (default: read from the weights' final layer)");
    app.add_option("--input", inputs,
                   ".npy float32 (or float64) N x C x H x W (normalised as for the model), or PNG/JPEG "
                   "file(s), comma-separated or repeated (normalised as --normalize says: by default with the "
                   "mean/std the weights recorded, else the dataset's; a name that is an existing file is "
                   "never split at its commas)");
    app.add_option("--dataset", dataset,
                   "dataset for --samples, the image size of PNG/JPEG inputs (without one: the first image's), "
                   "and their mean/std when the weights record none (default: the one the weights record)");
    app.add_option("--data-dir", data_dir, "dataset directory (default: the checkpoint's)");
    app.add_option("--samples", samples, "explain the first N images of the --split (labels included; of an image "
                                         "folder, whose files are sorted by class, N evenly spaced ones, as eval "
                                         "--subset N takes them)");
    app.add_option("--split", split, "test | train | val (the validation images a run with --val-split held out of "
                                     "the training split, in eval's order)")->capture_default_str();
    add_decoy_flags(app, decoy_flags);
    app.add_option("--resize", resize, "image inputs: shorter side to N pixels (default: from the checkpoint)");
    app.add_option("--crop", crop, "image inputs: centre crop N x N (default: from the checkpoint)");
    app.add_option("--normalize", normalize, kNormalizeHelp)->capture_default_str();
    app.add_flag("--overlay", overlay, "also write overlay_NNNN.png: the heatmap blended over the input image");
    app.add_option("--target", target, "label | pred | <class>, optionally with suffix *logit; or output (the logits "
                                       "themselves, zennit's default without attr_output)")->capture_default_str();
    app.add_option("--labels", labels_path, ".npy integer labels (N; any NumPy integer type) for --target label");
    const std::vector<CLI::Option*> composite_opts = add_composite_flags(app, cf);
    std::string flex;
    float flex_epsilon = 1e-2f;
    CLI::Option* flex_opt = app.add_option(
        "--flex", flex, "instead of a composite, ISNet's heatmap (docs/isnet.md): the LRP-Flex map with zb (z^B on the "
                        "first layer, bounds raw 0 and 1; ISNet's default) or epsilon (down to the raw input)");
    app.add_option("--flex-epsilon", flex_epsilon, "LRP-epsilon of --flex (as train's --isnet-epsilon)")
        ->capture_default_str()
        ->needs(flex_opt);
    std::vector<std::string> flex_layers;
    app.add_option("--flex-layers", flex_layers, "--flex: also the maps at hidden layers, as train's --isnet-lds "
                                                 "supervises them: default (ResNet stages, VGG max-pools after a "
                                                 "ReLU) or module names (comma list, as --isnet-lds-layers); writes "
                                                 "hidden_<layer>.npy, hidden_<layer>_NNNN.png and hidden_maps.txt")
        ->delimiter(',')
        ->needs(flex_opt);
    app.add_option("--out", out, "output directory")->required();
    app.add_option("--scale", scale, "heatmap upscaling factor")->capture_default_str();
    app.add_option("--cmap", cmap, "heatmap colours as zennit's imgify(symmetric=True, cmap=...) draws them: gray | "
                                   "wred | wblue | hot | cold | coldnhot | bwr | france | seismic | coolio | coleus "
                                   "(default: lrpcu's linear blue-white-red, white exactly at 0); --overlay tints "
                                   "in the same colours");
    app.add_option("--cmap-level", cmap_level, "--cmap: zennit's level (above 1 saturates sooner)")
        ->capture_default_str();
    app.add_option("--batch-size", batch, "images per relevance pass (memory grows with it; a sample's map does not "
                                          "depend on it beyond float rounding)")->capture_default_str();
    app.add_option("--device", device, "auto | cpu | cuda | cuda:N")->capture_default_str();
    app.add_flag("--print-rules", print_rules, "print the rule of every layer");
    app.add_flag("--force", force, "replace an earlier explain's outputs in --out (relevance.npy, heatmap_*.png, "
                                   "overlay_*.png, the hidden_* files hidden_maps.txt lists, and the temporary "
                                   "<output>.tmp.<pid>.<n> files of a killed explain)");
    if (int rc = parse_args(app, args); rc >= 0) return rc;
    inputs = split_inputs(inputs);
    LRP_CHECK(std::filesystem::exists(weights), "--weights: '", weights, "' does not exist");
    // Before any work: an --out that is a file, or that holds an earlier explain's results.
    LRP_CHECK(!std::filesystem::exists(out) || std::filesystem::is_directory(out), "--out '", out,
              "' is a file, not a directory");
    LRP_CHECK(force || !std::filesystem::exists(std::filesystem::path(out) / "relevance.npy"), "--out '", out,
              "' already holds the results of an earlier explain (relevance.npy); pass --force to replace them or "
              "choose another --out");
    // Without relevance.npy, PNGs named as maps are still not ours to drop; names past its rows are kept (look_alike).
    std::vector<std::filesystem::path> look_alike;
    const std::vector<std::filesystem::path> stale = earlier_maps(out, &look_alike);
    LRP_CHECK(force || stale.empty(), "--out '", out, "' already holds explain's maps (", stale.front().string(),
              ", ...); pass --force to replace them or choose another --out");
    LRP_CHECK(scale >= 1 && scale <= 64, "--scale must be in [1, 64] (got ", scale, ")");
    std::optional<train::Palette> palette;
    if (!cmap.empty()) palette = train::zennit_palette(cmap, cmap_level);
    if (cmap.empty() && app.count("--cmap-level")) log_warn("--cmap-level applies with --cmap; without it it changes nothing");
    LRP_CHECK(batch >= 1, "--batch-size must be >= 1 (got ", batch, ")");

    // Defaults from what the weights record: a checkpoint's state or a run's model.safetensors (a plain state_dict: none).
    const train::CheckpointState st = train::recorded_state(weights);
    nlohmann::json cfg = st.config.is_object() ? st.config : nlohmann::json::object();
    const std::vector<std::string>& trained_classes = st.class_names;
    std::vector<float> norm_mean, norm_std;  // empty: the data's own statistics
    std::tie(norm_mean, norm_std) = train::normalization_for(normalize, {st.mean, st.stdev});
    train::check_arch(arch, cfg, weights);
    if (arch.empty()) arch = cfg.value("arch", "");
    LRP_CHECK(!arch.empty(), "--arch is required for weights that do not record it (a plain state_dict)");
    nn::check_known_arch(arch);
    width = train::checked_width(width, cfg, weights);

    make_composite_from_flags(app, cf, {0.f}, {1.f});  // the flags checked before any work; bounds come later
    LRP_CHECK(flex.empty() || flex == "zb" || flex == "epsilon", "--flex must be zb or epsilon (got '", flex, "')");
    LRP_CHECK(flex_epsilon > 0.f && std::isfinite(flex_epsilon), "--flex-epsilon must be a finite number > 0 (got ",
              flex_epsilon, ")");
    const bool want_hidden = !flex_layers.empty();
    flex_layers = hidden_layer_names(flex_layers, "--flex-layers");
    for (const CLI::Option* o : composite_opts)
        LRP_CHECK(flex.empty() || o->count() == 0, "--flex writes ISNet's LRP-Flex map, whose rules are fixed: ",
                  o->get_name(), " does not apply to it");

    LRP_CHECK(split == "test" || split == "train" || split == "val", "--split must be test, train or val (got '", split,
              "')");
    LRP_CHECK(samples > 0 || !app.count("--split"), "--split selects dataset images (--samples N), not --input files");
    LRP_CHECK(samples == 0 || labels_path.empty(), "--labels gives the labels of --input files; --samples N takes the ",
              "dataset's own");
    LRP_CHECK(samples >= 0, "--samples must be >= 1 (got ", samples, ")");
    LRP_CHECK(inputs.empty() != (samples == 0), inputs.empty() ? "pass --input <file(s)> or --samples N"
                                                               : "--input and --samples exclude each other");
    LRP_CHECK(samples > 0 || !(app.count("--decoy") || app.count("--decoy-size") || app.count("--decoy-seed")),
              "--decoy, --decoy-size and --decoy-seed apply to dataset images (--samples N), not to --input files");
    const DecoyChoice decoy = decoy_choice(app, decoy_flags, cfg, split);
    const bool data_given = !dataset.empty() || !data_dir.empty();  // by the user, now
    if (dataset.empty()) dataset = cfg.value("dataset", "");
    if (data_dir.empty()) data_dir = cfg.value("data-dir", "");
    const bool npy = !inputs.empty() && is_npy(inputs[0]);
    const bool geometry_given = app.count("--resize") || app.count("--crop");
    LRP_CHECK(!geometry_given || !npy, "--resize/--crop apply to PNG/JPEG inputs, not to a .npy array (it is used "
              "as it is)");
    LRP_CHECK(!geometry_given || samples == 0 || dataset == "folder", "--resize/--crop apply to PNG/JPEG inputs and ",
              "--dataset folder only (--samples of ", dataset.empty() ? "no dataset" : dataset, ")");
    data::FolderOptions fo;
    std::tie(fo.resize, fo.crop) = train::checked_geometry(given_int(app, "--resize", resize),
                                                           given_int(app, "--crop", crop), cfg, weights);
    ExplainData source;
    source.dataset = dataset;
    source.data_dir = data_dir;
    source.folder = fo;
    source.mean = norm_mean;
    source.std = norm_std;
    source.automatic = normalize == "auto";
    source.weights = weights;
    source.weight_channels = train::infer_in_channels(weights);
    auto require_dataset = [&] {
        LRP_CHECK(!dataset.empty(), "--dataset is required (--samples) for weights that do not record it (a plain ",
                  "state_dict)");
    };
    ExplainBatch in;
    if (samples > 0) {
        require_dataset();
        ExplainSplit sp;
        sp.split = split == "test" ? data::Split::Test : data::Split::Train;
        sp.held_out = split == "val";
        sp.cfg = &cfg;
        sp.val_source_images = st.val_source_images;
        sp.trained_classes = trained_classes;
        sp.decoy = decoy.options;
        if (decoy.options.shade != "none") std::printf("%s\n", describe(decoy).c_str());
        in = dataset_samples(source, sp, samples);
    } else if (npy) {
        LRP_CHECK(inputs.size() == 1, "--input: one .npy file at a time (got ", inputs.size(), " files)");
        in.x = data::read_npy(inputs[0]);
        // The normalisation's statistics, for the overlays and the ZBox bounds; without them the overlays
        // are min-max scaled and the bounds must be given.
        const int weight_channels = train::infer_in_channels(weights);  // named first: a clearer error
        LRP_CHECK(in.x.ndim() != 4 || weight_channels < 0 || weight_channels == in.x.dim(1), "the input ",
                  in.x.shape().str(), " has ", in.x.dim(1), " channel(s), but the weights in ", weights, " take ",
                  weight_channels, in.x.ndim() == 4 && in.x.dim(3) == weight_channels
                                       ? " (channels last? save it as N x C x H x W: x.transpose(0, 3, 1, 2))"
                                       : "");
        if (!norm_mean.empty() && in.x.ndim() == 4) {
            std::tie(in.mean, in.std) = train::per_channel_normalization(
                norm_mean, norm_std, static_cast<int>(in.x.dim(1)), "the --input array's");
        } else if ((overlay || composite_lacks_bounds(cf, false)) && !dataset.empty()) {
            try {
                const ImageSpec ref = test_split_spec(source, open_test_split(source));
                in.mean = ref.mean;
                in.std = ref.std;
            } catch (const Error&) {
            }
        }
    } else {
        for (const std::string& f : inputs) {
            LRP_CHECK(!is_npy(f), "--input: mix of .npy and image files");
            LRP_CHECK(std::filesystem::exists(f), "--input: '", f, "' does not exist");
            LRP_CHECK(!std::filesystem::is_directory(f), "--input: '", f, "' is a directory; give the image files ",
                      "(e.g. dir/*.png)");
        }
        ImageSpec spec;
        bool sized = false;
        if (!dataset.empty()) {  // the dataset's image size and (by default) the recorded normalisation
            std::optional<TestSplit> ref;
            try {
                ref = open_test_split(source);
            } catch (const Error& e) {
                // The dataset the weights record (none given now) may not be on this machine; with the recorded
                // normalisation the images can be explained at their own size.
                if (data_given || norm_mean.empty()) throw;
                std::printf("note: %s\n", e.detail().c_str());  // without the source location
                std::printf("note: %s, the dataset %s records, cannot be read here (--dataset/--data-dir give its "
                            "image size); the images keep their own size\n",
                            dataset.c_str(), weights.c_str());
            }
            if (ref) {
                spec = test_split_spec(source, *ref);
                sized = true;
            }
        }
        if (!sized) {  // the images' own size; the model's channels
            const int weight_channels = train::infer_in_channels(weights);
            spec.channels = weight_channels > 0 ? weight_channels : 3;
            LRP_CHECK(!norm_mean.empty(), "image --input: the normalisation the model expects is unknown: pass ",
                      "--normalize imagenet or --normalize MEAN/STD, or --dataset (with --data-dir) to take it and ",
                      "the image size from");
            std::tie(spec.mean, spec.std) =
                train::per_channel_normalization(norm_mean, norm_std, spec.channels, "the --normalize");
        }
        in = load_image_inputs(inputs, spec, fo);
    }
    Tensor& x = in.x;
    LRP_CHECK(x.dtype() == DType::F32, "--input: need float32 N x C x H x W, got an integer array (",
              dtype_name(x.dtype()), " ", x.shape().str(), "): raw pixels are not taken as .npy; pass the images as "
              "PNG/JPEG, or save them as float32, normalised as for training");
    LRP_CHECK(x.ndim() == 4, "--input: need float32 N x C x H x W, got ", x.shape().str(),
              x.ndim() == 3 ? " (one image? add the batch axis: x[None])" : "");
    LRP_CHECK(x.dim(0) >= 1, "--input: the array holds no images (shape ", x.shape().str(), ")");
    Tensor labels = in.labels;
    if (!labels_path.empty()) {
        labels = data::read_npy(labels_path);
        LRP_CHECK((labels.dtype() == DType::I32 || labels.dtype() == DType::I64) && labels.ndim() == 1 &&
                      labels.dim(0) == x.dim(0),
                  "--labels ", labels_path, ": need ", x.dim(0), " integer labels (one per input), got ",
                  dtype_name(labels.dtype()), " ", labels.shape().str());
    }
    LRP_CHECK(labels.defined() || (target != "label" && target != "label*logit"), "--target ", target, " needs the inputs' labels: ",
              "explain dataset images with --samples N, or pass --labels <integer .npy>");
    const explain::Target t = explain::Target::parse(target, labels);
    LRP_CHECK(!composite_lacks_bounds(cf, !in.mean.empty()), "--composite ", cf.composite,
              " needs the ZBox input bounds: pass --low and --high (normalised units), or --normalize M/S or "
              "--dataset (with --data-dir) so that they follow from a mean and std");
    explain::Composite comp = make_composite_from_flags(app, cf, in.mean, in.std);

    nn::ModelSpec spec;
    spec.arch = arch;
    LRP_CHECK(classes >= 0, "--num-classes must be >= 1 (got ", classes, "; 0: read from the weights)");
    const int weight_classes = train::infer_num_classes(weights);  // the final layer's rows
    LRP_CHECK(classes == 0 || weight_classes < 0 || classes == weight_classes, "--num-classes ", classes, ", but ",
              weights, " has ", weight_classes, " outputs (omit --num-classes to use them)");
    if (classes == 0) classes = weight_classes;
    LRP_CHECK(classes > 0, "--num-classes is required: ", weights, " has no fc or classifier weight to read it from");
    spec.num_classes = classes;
    const int weight_channels = train::infer_in_channels(weights);
    LRP_CHECK(weight_channels < 0 || weight_channels == x.dim(1), "the input ", x.shape().str(), " has ", x.dim(1),
              " channel(s), but the weights in ", weights, " take ", weight_channels);
    spec.in_channels = static_cast<int>(x.dim(1));
    spec.image_size = static_cast<int>(x.dim(2));
    spec.image_width = static_cast<int>(x.dim(3));
    spec.base_width = width;
    auto model = nn::make_model(spec);
    train::load_model_weights(weights, *model);
    const Device dev = parse_device(device);
    model->to(dev);

    const int64_t per_sample = x.numel() / std::max<int64_t>(1, x.dim(0));
    const std::string bad_in = nonfinite_rows(x.to(Device::cpu()).to_vector<float>(), per_sample);
    LRP_CHECK(bad_in.empty(), "the input holds NaN or Inf (samples ", bad_in, ")");
    if (samples == 0) {  // files or arrays (dataset images have the trained shape): does one image fit?
        model->eval();
        try {
            (void)model->forward(x.slice(0, 1).to(dev));
        } catch (const Error& e) {
            LRP_THROW("the input ", x.shape().str(), " does not fit ", arch, " as trained (is it the image size the "
                      "model was trained on?): ", e.what());
        }
    }
    Tensor logits;
    if (!flex.empty())
        LRP_CHECK(!in.mean.empty(), "--flex needs the inputs' normalisation (its bounds are raw 0 and 1): pass ",
                  "--normalize M/S, or --dataset (with --data-dir) so that it follows from the data");
    if (flex.empty()) warn_unused_for_model(app, cf, *model);  // before a pass that may take long
    // --batch-size images at a time; the maps (and hidden maps, logits) gathered on the host.
    std::vector<std::pair<std::string, Tensor>> hidden;
    Tensor r = Tensor::empty(x.shape(), DType::F32, Device::cpu());
    for (int64_t b = 0; b < x.dim(0); b += batch) {
        const int64_t e = std::min<int64_t>(x.dim(0), b + batch);
        const explain::Target tb = labels.defined() ? explain::Target::parse(target, labels.slice(b, e)) : t;
        Tensor lb;
        std::vector<std::pair<std::string, Tensor>> hb;
        const Tensor xb = x.slice(b, e).to(dev);
        const Tensor rb = flex.empty() ? explain::attribute(*model, xb, tb, comp, &lb)
                                       : train::flex_heatmap(*model, xb, tb, flex, flex_epsilon,
                                                             expand_channels(in.mean, x.dim(1)),
                                                             expand_channels(in.std, x.dim(1)), lb,
                                                             want_hidden ? &hb : nullptr, flex_layers);
        r.slice(b, e).copy_from(rb.to(Device::cpu()));
        if (b == 0) logits = Tensor::empty(Shape{x.dim(0), lb.dim(1)}, DType::F32, Device::cpu());
        logits.slice(b, e).copy_from(lb.to(Device::cpu()));
        for (size_t i = 0; i < hb.size(); ++i) {
            std::vector<int64_t> d = hb[i].second.shape().dims();
            d[0] = x.dim(0);
            if (b == 0) hidden.emplace_back(hb[i].first, Tensor::empty(Shape(d), DType::F32, Device::cpu()));
            hidden[i].second.slice(b, e).copy_from(hb[i].second.to(Device::cpu()));
        }
    }
    if (print_rules) std::printf("%s", comp.assignment_table().c_str());
    const std::string bad_out = nonfinite_rows(logits.to(Device::cpu()).to_vector<float>(), logits.dim(1));
    LRP_CHECK(bad_out.empty(), "the model's outputs hold NaN or Inf (samples ", bad_out, "): the weights in ",
              weights, " are not finite, or the inputs are far outside the range the model was trained on; no ",
              "relevance is written");
    const size_t user_rules = cf.rules.size() + cf.first_rules.size() + cf.layer_rules.size();
    const std::string how = flex.empty() ? "composite " + comp.name() + (user_rules ? str(" + ", user_rules, " user rule(s)") : "")
                                         : str("ISNet's LRP-Flex map (epsilon ", flex_epsilon, ", ",
                                               flex == "zb" ? "z^B on the first layer" : "epsilon to the raw input", ")");
    std::vector<float> rv = r.to_vector<float>();  // r is on the host
    const std::string bad_r = nonfinite_rows(rv, per_sample);
    if (!bad_r.empty())
        log_warn("the relevance of samples ", bad_r, " holds NaN or Inf (", how, "); their heatmaps show those pixels black");
    const std::string zero_r = rows_where(rv, per_sample, true, [](float e) { return e == 0.f; });
    if (!zero_r.empty())
        log_warn("the relevance of samples ", zero_r, " is zero in every pixel (", how, "); their heatmaps are blank. ",
                 "An all-zero input has no relevance; otherwise a stabilizer, epsilon or ZBox bound too large for ",
                 "these inputs absorbs it");

    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    LRP_CHECK(!ec && std::filesystem::is_directory(out), "--out '", out, "': the output directory cannot be created (",
              ec ? ec.message() : "a file of that name exists", ")");
    for (const auto& f : stale) std::filesystem::remove(f);  // --force: an earlier run's maps must not mix with these
    if (force && !look_alike.empty()) {  // past the earlier maps: kept, but where this run writes that name
        std::vector<std::string> kept, replaced;
        for (const auto& f : look_alike) {
            const std::string name = f.filename().string();  // (heatmap|overlay)_<n>.png, n canonical
            const size_t us = name.find('_');
            const long long i = std::stoll(name.substr(us + 1, name.size() - us - 5));
            const bool written = i < r.dim(0) && (name[0] == 'h' || overlay);
            (written ? replaced : kept).push_back(name);
        }
        std::sort(kept.begin(), kept.end());
        std::sort(replaced.begin(), replaced.end());
        if (!kept.empty())
            log_warn("--force kept ", kept.size(), " file(s) named like explain's maps past those the earlier ",
                     "relevance.npy holds (", kept.front(), kept.size() > 1 ? ", ..." : "", "): not explain's, or ",
                     "left by an older lrpcu");
        if (!replaced.empty())
            log_warn("--force: this run's maps replace ", replaced.size(), " file(s) past those the earlier ",
                     "relevance.npy holds (", replaced.front(), replaced.size() > 1 ? ", ..." : "", ")");
    }
    if (force)
        for (const auto& f : leftover_temps(out)) std::filesystem::remove(f);
    data::write_npy((std::filesystem::path(out) / "relevance.npy").string(), r);
    const int64_t n = r.dim(0), c = r.dim(1), h = r.dim(2), w = r.dim(3);
    std::vector<float> lv = logits.to(Device::cpu()).to_vector<float>();
    const int64_t k = logits.dim(1);
    const std::vector<float> xv = overlay ? x.to_vector<float>() : std::vector<float>();
    std::vector<int64_t> known;  // the samples' labels, when given
    if (labels.defined()) {
        const Tensor lab = labels.to(Device::cpu());
        if (lab.dtype() == DType::I64) known = lab.to_vector<int64_t>();
        else for (int32_t v : lab.to_vector<int32_t>()) known.push_back(v);
    }
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "heatmap_%04lld.png", static_cast<long long>(i));
        write_heatmap((std::filesystem::path(out) / name).string(), rv.data() + i * c * h * w, c, h, w, scale,
                      palette ? &*palette : nullptr);
        if (overlay) {
            char oname[64];
            std::snprintf(oname, sizeof oname, "overlay_%04lld.png", static_cast<long long>(i));
            write_overlay((std::filesystem::path(out) / oname).string(), rv.data() + i * c * h * w,
                          xv.data() + i * c * h * w, c, h, w, scale, in.mean, in.std, palette ? &*palette : nullptr);
        }
        const auto best = std::max_element(lv.begin() + i * k, lv.begin() + (i + 1) * k) - (lv.begin() + i * k);
        double total = 0;
        for (int64_t j = 0; j < c * h * w; ++j) total += rv[i * c * h * w + j];
        const std::string label = known.empty() ? std::string() : " (label " + std::to_string(known[i]) + ")";
        if (!known.empty()) correct += known[i] == best;
        std::printf("sample %lld: predicted class %lld%s, relevance sum %.6g -> %s\n", static_cast<long long>(i),
                    static_cast<long long>(best), label.c_str(), total, name);
    }
    if (!known.empty())
        std::printf("%lld of %lld samples predicted as labelled\n", static_cast<long long>(correct),
                    static_cast<long long>(n));
    std::printf("wrote %s/relevance.npy (%s) with %s, target %s\n", out.c_str(), r.shape().str().c_str(), how.c_str(),
                t.str().c_str());
    if (want_hidden)
        std::printf("%s\n", write_hidden_maps(out, hidden, h, w, scale, palette ? &*palette : nullptr).c_str());
    return 0;
}

}  // namespace lrp::cli
