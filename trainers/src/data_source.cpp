// open_split: the resident-or-streaming decision (--stream, --resident-limit-mb) and the construction
// of the matching loader, with subsets that pick the same samples either way.
#include "lrp/train/data_source.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <tuple>

#include "lrp/ops/gemm.h"
#include "lrp/parse.h"
#include "lrp/train/streaming_loader.h"

namespace lrp::train {

void check_stream_mode(const std::string& s) {
    LRP_CHECK(s == "auto" || s == "on" || s == "off", "--stream must be auto, on or off (got '", s, "')");
}

void require_folder_dir(const std::string& dataset, const std::string& data_dir) {
    LRP_CHECK(dataset != "folder" || !data_dir.empty(), "--dataset folder has no default location: pass --data-dir ",
              "<the image folder> (a run's model.safetensors does not record the folder it trained on; the run's ",
              "checkpoint.safetensors does)");
}

DataOptions data_options(const TrainConfig& c) {
    DataOptions o;
    o.dataset = c.dataset;
    o.data_dir = c.data_dir;
    o.folder.resize = c.resize;
    o.folder.crop = c.crop;
    std::tie(o.mean, o.stdev) = normalization_for(c.normalize, {});  // empty: the data's own
    if (c.augment == "isnet" || c.augment == "rrr") o.folder.mask_dir = c.masks;  // only their foreground uses them
    o.stream = c.stream;
    o.resident_limit_mb = c.resident_limit_mb;
    o.decoy.shade = c.decoy;
    o.decoy.size = c.decoy_size;
    o.decoy.seed = c.decoy_seed;
    return o;
}

data::DecoyOptions test_decoy(const TrainConfig& c) {
    data::DecoyOptions d = data_options(c).decoy;
    if (c.decoy != "none") d.shade = c.decoy_test;
    return d;
}

AugmentSettings augment_settings(const TrainConfig& c) {
    AugmentSettings a;
    a.crop_padding = c.crop_padding;
    a.resized.enabled = c.random_resized_crop;
    a.resized.scale_lo = c.rrc_scale_min;
    a.resized.scale_hi = c.rrc_scale_max;
    a.resized.ratio_lo = c.rrc_ratio_min;
    a.resized.ratio_hi = c.rrc_ratio_max;
    a.flip = c.flip;
    if (c.augment == "random-erasing" || (c.reldrop() && c.reldrop_with_erasing)) a.erasing_p = c.erasing_p;
    a.erasing_fill = c.erasing_fill;
    a.sl = c.box_sl;
    a.sh = c.box_sh;
    a.r1 = c.box_r1;
    a.attempts = c.box_attempts;
    return a;
}

namespace {

std::string mib(int64_t bytes) {
    char b[32];
    if (bytes < 1048576) std::snprintf(b, sizeof b, "%.1f KiB", bytes / 1024.0);
    else std::snprintf(b, sizeof b, "%.1f MiB", bytes / 1048576.0);
    return b;
}

// Replaces a split's statistics by the given ones (unless they do not fit and need not).
void use_normalization(const DataOptions& o, int channels, const std::string& name, std::vector<float>& mean,
                       std::vector<float>& stdev) {
    if (!o.strict_normalization && o.mean.size() != static_cast<size_t>(channels) && o.mean.size() != 1) return;
    std::tie(mean, stdev) = per_channel_normalization(o.mean, o.stdev, channels, name);
}

std::vector<float> parse_floats(const std::string& s, const std::string& spec) {
    std::vector<float> v;
    size_t at = 0;
    while (at <= s.size()) {
        const size_t end = std::min(s.find(',', at), s.size());
        const std::string item = s.substr(at, end - at);
        const std::optional<float> x = parse_finite_float(item);
        LRP_CHECK(x.has_value(), "--normalize '", spec, "': '", item,
                  "' is not a number (expected auto, data, imagenet or M1,M2,M3/S1,S2,S3)");
        v.push_back(*x);
        at = end + 1;
    }
    return v;
}

}  // namespace

std::pair<std::vector<float>, std::vector<float>> per_channel_normalization(const std::vector<float>& mean,
                                                                            const std::vector<float>& stdev,
                                                                            int channels, const std::string& name) {
    LRP_CHECK(mean.size() == stdev.size() && !mean.empty(), "normalization: ", mean.size(), " mean and ",
              stdev.size(), " std values");
    const size_t c = static_cast<size_t>(channels);
    LRP_CHECK(mean.size() == c || mean.size() == 1, "the normalisation (the one the weights recorded, or --normalize's) has ",
              mean.size(), " mean/std values, but ", name, " images have ", channels,
              " channel(s) (--normalize: one value per channel, or one for all)");
    return {mean.size() == c ? mean : std::vector<float>(c, mean[0]),
            stdev.size() == c ? stdev : std::vector<float>(c, stdev[0])};
}

Normalization normalization_for(const std::string& spec, const Normalization& recorded) {
    if (spec == "auto") return recorded;
    if (spec == "data") return {};
    if (spec == "imagenet") return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    const size_t slash = spec.find('/');
    LRP_CHECK(slash != std::string::npos, "--normalize must be auto, data, imagenet or M1,M2,M3/S1,S2,S3 (got '",
              spec, "')");
    std::vector<float> m = parse_floats(spec.substr(0, slash), spec), s = parse_floats(spec.substr(slash + 1), spec);
    LRP_CHECK(m.size() == s.size(), "--normalize '", spec, "': ", m.size(), " mean but ", s.size(), " std values");
    for (float x : s) LRP_CHECK(x > 0, "--normalize '", spec, "': a std must be > 0 (got ", x, ")");
    // Raw pixels [0, 1] far beyond any image's normalised range would overflow the model's activations.
    for (size_t c = 0; c < m.size(); ++c)
        for (float raw : {0.f, 1.f}) {
            const float v = (raw - m[c]) / s[c];
            LRP_CHECK(std::fabs(v) <= 1e6f, "--normalize '", spec, "': raw pixel ", raw, " becomes ", v,
                      " (mean ", m[c], ", std ", s[c], "), beyond +-1e6; means and stds are in raw [0, 1] units");
        }
    return {m, s};
}

namespace {

// A DataSplit streaming the index's images; `stats` says where its mean/std came from.
DataSplit streamed(data::FolderIndex ix, const std::string& what, const std::string& stats, Device device,
                   int batch_size, bool train, const AugmentSettings& aug) {
    DataSplit d;
    d.name = ix.name;
    d.num_classes = ix.num_classes();
    d.channels = ix.channels;
    d.height = ix.height;
    d.width = ix.width;
    d.class_names = ix.class_names;
    d.mean = ix.mean;
    d.stdev = ix.std;
    d.streaming = true;
    d.summary = what + " streamed from " + ix.name + ": " + std::to_string(ix.size()) + " images of " +
                std::to_string(ix.channels) + "x" + std::to_string(ix.height) + "x" + std::to_string(ix.width) +
                " (" + mib(ix.total_bytes()) + " as uint8); " + stats +
                (ix.mask_files.empty() ? "" : "; masks from " + ix.options.mask_dir);
    d.loader = std::make_unique<StreamingLoader>(std::move(ix), device, batch_size, train, aug);
    return d;
}

// A DataSplit holding the dataset's images on the device.
DataSplit resident(const data::Dataset& ds, const std::string& what, Device device, int batch_size, bool train,
                   const AugmentSettings& aug, const std::string& decoy_note, const std::string& mask_note) {
    DataSplit d;
    d.name = ds.name;
    d.num_classes = ds.num_classes;
    d.channels = ds.channels();
    d.height = ds.height();
    d.width = ds.width();
    d.class_names = ds.class_names;
    d.mean = ds.mean;
    d.stdev = ds.std;
    d.summary = what + " resident on " + device.str() + ": " + std::to_string(ds.size()) + " images (" +
                mib(static_cast<int64_t>(ds.images.nbytes())) + " as uint8)" + mask_note + decoy_note;
    d.loader = std::make_unique<DeviceLoader>(ds, device, batch_size, train, aug);
    return d;
}

// open_split, and with val > 0 (training split only) the held-out rows as *val_out; val_out == nullptr with
// val > 0: the held-out rows alone.
DataSplit open_rows(const DataOptions& o, data::Split split, int64_t subset, bool stratified, uint64_t seed,
                    int64_t val, uint64_t val_seed, DataSplit* val_out, Device device, int batch_size, bool train,
                    const AugmentSettings& aug) {
    check_stream_mode(o.stream);
    LRP_CHECK(o.resident_limit_mb >= 0, "--resident-limit-mb must be >= 0 (got ", o.resident_limit_mb, ")");
    const std::string what = std::string(data::split_name(split)) + " split";
    const std::string val_what = "validation split (set aside from the training split)";
    // Only image folders can stream; they are indexed (listed, first image decoded) to learn their size, and
    // then loaded from the index when they stay resident.
    const bool folder = o.dataset == "folder";
    bool stream = false;
    data::FolderIndex ix;
    if (o.stream == "on" || folder) {
        ix = data::index_dataset(o.dataset, o.data_dir, split, o.folder);
        stream = o.stream == "on" || (o.stream == "auto" && (ix.total_bytes() + 1048575) / 1048576 > o.resident_limit_mb);
    }
    auto check_val = [&](int64_t size, const std::string& name) {
        LRP_CHECK(val < size, "--val-split ", val, " must be smaller than the ", size,
                  " images of the training split (", name, "): some must remain to train on");
    };
    data::check_decoy(o.decoy);
    const bool decoy = o.decoy.shade != "none";
    LRP_CHECK(!(stream && decoy), "--decoy needs the ", what, " resident on the device, but ", ix.name,
              " streams (", mib(ix.total_bytes()), " as uint8; --stream off, or a larger --resident-limit-mb)");
    if (stream) {
        const int64_t all = ix.size();
        auto sourced = [all](DataSplit s) {
            s.source_images = all;
            return s;
        };
        const bool given = !o.mean.empty() && (o.strict_normalization || o.mean.size() == 1 ||
                                               o.mean.size() == static_cast<size_t>(ix.channels));
        if (given) use_normalization(o, ix.channels, ix.name, ix.mean, ix.std);
        else data::folder_mean_std(ix, o.stats_images, ops::cpu_kernel_threads());  // the CPUs this run may use
        const std::string stats =
            !given ? "mean/std from " + std::to_string(o.stats_images > 0 && o.stats_images < all ? o.stats_images : all) +
                         " of " + std::to_string(all) + " images"
                   : std::string("mean/std given");
        if (val > 0) {
            check_val(ix.size(), ix.name);
            data::FolderIndex held;
            std::tie(held, ix) = ix.split_stratified(val, val_seed);
            if (val_out) held.mask_files.clear();  // a training run's validation uses no masks
            DataSplit v = sourced(streamed(std::move(held), val_what, stats, device, batch_size, false, {}));
            if (!val_out) return v;
            *val_out = std::move(v);
        }
        if (subset > 0 && subset < ix.size())
            ix = stratified ? ix.take_stratified(subset, seed)
                 : folder   ? ix.evenly_spaced(subset)
                            : ix.subset(0, subset);
        return sourced(streamed(std::move(ix), what, stats, device, batch_size, train, aug));
    }
    data::Dataset ds = folder && !ix.files.empty() ? data::load_folder_index(ix)
                                                   : data::load_dataset(o.dataset, o.data_dir, split, o.folder);
    if (!o.mean.empty()) use_normalization(o, ds.channels(), ds.name, ds.mean, ds.std);
    data::add_decoy(ds, o.decoy, split);
    const std::string note = decoy ? "; " + data::describe(o.decoy) : std::string();
    // The folder the masks came from (the split's, under the --masks root).
    const std::string mask_note = ix.mask_files.empty() ? std::string() : "; masks from " + ix.options.mask_dir;
    const int64_t all = ds.size();
    auto sourced = [all](DataSplit s) {
        s.source_images = all;
        return s;
    };
    if (val > 0) {
        check_val(ds.size(), ds.name);
        data::Dataset held;
        std::tie(held, ds) = ds.split_stratified(val, val_seed);
        if (val_out && !ix.mask_files.empty()) held.masks = Tensor();  // a training run's validation uses no masks
        DataSplit v = sourced(resident(held, val_what, device, batch_size, false, {}, note,
                                       held.masks.defined() ? mask_note : std::string()));
        if (!val_out) return v;
        *val_out = std::move(v);
    }
    // An unstratified subset: the first rows of a dataset file (stored in mixed class order), evenly spaced rows
    // of a folder (sorted by class, so its first rows are all of the first class).
    if (subset > 0 && subset < ds.size())
        ds = stratified ? ds.take_stratified(subset, seed) : folder ? ds.evenly_spaced(subset) : ds.subset(0, subset);
    return sourced(resident(ds, what, device, batch_size, train, aug, note, mask_note));
}

}  // namespace

DataSplit open_split(const DataOptions& o, data::Split split, int64_t subset, bool stratified, uint64_t seed,
                     Device device, int batch_size, bool train, const AugmentSettings& aug) {
    return open_rows(o, split, subset, stratified, seed, 0, 0, nullptr, device, batch_size, train, aug);
}

nn::ModelSpec model_spec(const std::string& arch, int width, const DataSplit& d) {
    nn::ModelSpec spec;
    spec.arch = arch;
    spec.num_classes = d.num_classes;
    spec.in_channels = d.channels;
    spec.image_size = d.height;
    spec.image_width = d.width;
    spec.base_width = width;
    return spec;
}

uint64_t val_split_seed(uint64_t seed) { return epoch_seed(seed, -1, 6); }

RecordedValSplit recorded_val_split(const nlohmann::json& cfg, const std::string& weights) {
    RecordedValSplit r;
    r.images = cfg.is_object() ? cfg.value("val-split", int64_t{0}) : 0;
    LRP_CHECK(r.images > 0, "--split val: ", weights, " records no validation split (its run had no --val-split, or ",
              "it is a plain state_dict or from an older lrpcu)",
              cfg.is_object() && cfg.value("dataset", "") == "folder"
                  ? "; an image folder's val/ (without test/) is its test split: --split test reads it" : "");
    r.seed = val_split_seed(cfg.value("seed", uint64_t{0}));
    return r;
}

namespace {
// The validation split the run `cfg` held out of a training split of `size` images named `name`, checked against it.
RecordedValSplit checked_val_split(int64_t size, const std::string& name, const nlohmann::json& cfg,
                                   int64_t recorded_source, const std::string& weights) {
    const RecordedValSplit val = recorded_val_split(cfg, weights);
    check_val_source(recorded_source, size, name, weights);
    LRP_CHECK(val.images < size, "--split val: ", weights, " held out ", val.images, " images, but the ",
              "training split of ", name, " has ", size);
    return val;
}
}  // namespace

data::Dataset held_out_images(const data::Dataset& train, const nlohmann::json& cfg, int64_t recorded_source,
                              const std::string& weights) {
    const RecordedValSplit val = checked_val_split(train.size(), train.name, cfg, recorded_source, weights);
    return train.split_stratified(val.images, val.seed).first;
}

data::FolderIndex held_out_images(const data::FolderIndex& train, const nlohmann::json& cfg, int64_t recorded_source,
                                  const std::string& weights) {
    const RecordedValSplit val = checked_val_split(train.size(), train.name, cfg, recorded_source, weights);
    return train.split_stratified(val.images, val.seed).first;
}

void check_val_source(int64_t recorded_source, int64_t source_images, const std::string& name,
                      const std::string& weights) {
    LRP_CHECK(recorded_source < 0 || recorded_source == source_images, "--split val: the training split of ", name,
              " has ", source_images, " images, but ", weights, " drew its validation images from ", recorded_source,
              ": these would not be the same images (another --data-dir, or the data changed)");
}

std::pair<DataSplit, DataSplit> open_train_val(const DataOptions& o, int64_t subset, uint64_t seed, int64_t val,
                                               uint64_t val_seed, Device device, int batch_size,
                                               const AugmentSettings& aug) {
    LRP_CHECK(val >= 0, "--val-split must be >= 0 (got ", val, ")");
    DataSplit held;
    DataSplit train = open_rows(o, data::Split::Train, subset, true, seed, val, val_seed, &held, device, batch_size,
                                true, aug);
    return {std::move(train), std::move(held)};
}

DataSplit open_val(const DataOptions& o, int64_t val, uint64_t val_seed, Device device, int batch_size) {
    LRP_CHECK(val >= 1, "open_val: the validation split must hold >= 1 image (got ", val, ")");
    return open_rows(o, data::Split::Train, 0, false, 0, val, val_seed, nullptr, device, batch_size, false, {});
}

}  // namespace lrp::train
