// open_split: the resident-or-streaming decision (--stream, --resident-limit-mb) and the construction
// of the matching loader, with subsets that pick the same samples either way.
#include "lrp/train/data_source.h"

#include <cstdio>

#include "lrp/train/streaming_loader.h"

namespace lrp::train {

void check_stream_mode(const std::string& s) {
    LRP_CHECK(s == "auto" || s == "on" || s == "off", "--stream must be auto, on or off (got '", s, "')");
}

DataOptions data_options(const TrainConfig& c) {
    DataOptions o;
    o.dataset = c.dataset;
    o.data_dir = c.data_dir;
    o.folder.resize = c.resize;
    o.folder.crop = c.crop;
    o.stream = c.stream;
    o.resident_limit_mb = c.resident_limit_mb;
    return o;
}

AugmentSettings augment_settings(const TrainConfig& c) {
    AugmentSettings a;
    a.crop_padding = c.crop_padding;
    a.flip = c.flip;
    if (c.augment == "random-erasing") a.erasing_p = c.erasing_p;
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

}  // namespace

DataSplit open_split(const DataOptions& o, data::Split split, int64_t subset, bool stratified, uint64_t seed,
                     Device device, int batch_size, bool train, const AugmentSettings& aug) {
    check_stream_mode(o.stream);
    LRP_CHECK(o.resident_limit_mb >= 0, "--resident-limit-mb must be >= 0 (got ", o.resident_limit_mb, ")");
    DataSplit d;
    const char* what = data::split_name(split);
    // Only image folders can stream; they are indexed (listed, first image decoded) to learn their size.
    const bool folder = o.dataset == "folder";
    bool stream = false;
    data::FolderIndex ix;
    if (o.stream == "on" || (o.stream == "auto" && folder)) {
        ix = data::index_dataset(o.dataset, o.data_dir, split, o.folder);
        stream = o.stream == "on" || ix.total_bytes() > o.resident_limit_mb * 1048576;
    }
    if (stream) {
        const int64_t all = ix.size();
        data::folder_mean_std(ix, o.stats_images);
        if (subset > 0 && subset < ix.size()) ix = stratified ? ix.take_stratified(subset, seed) : ix.subset(0, subset);
        d.name = ix.name;
        d.num_classes = ix.num_classes();
        d.channels = ix.channels;
        d.height = ix.height;
        d.width = ix.width;
        d.class_names = ix.class_names;
        d.mean = ix.mean;
        d.stdev = ix.std;
        d.streaming = true;
        d.summary = std::string(what) + " split streamed from " + ix.name + ": " + std::to_string(ix.size()) +
                    " images of " + std::to_string(ix.channels) + "x" + std::to_string(ix.height) + "x" +
                    std::to_string(ix.width) + " (" + mib(ix.total_bytes()) + " as uint8); mean/std from " +
                    std::to_string(o.stats_images > 0 && o.stats_images < all ? o.stats_images : all) + " of " +
                    std::to_string(all) + " images";
        d.loader = std::make_unique<StreamingLoader>(std::move(ix), device, batch_size, train, aug);
        return d;
    }
    data::Dataset ds = folder && !ix.files.empty() ? data::load_folder_index(ix)
                                                   : data::load_dataset(o.dataset, o.data_dir, split, o.folder);
    if (subset > 0 && subset < ds.size()) ds = stratified ? ds.take_stratified(subset, seed) : ds.subset(0, subset);
    d.name = ds.name;
    d.num_classes = ds.num_classes;
    d.channels = ds.channels();
    d.height = ds.height();
    d.width = ds.width();
    d.class_names = ds.class_names;
    d.mean = ds.mean;
    d.stdev = ds.std;
    d.summary = std::string(what) + " split resident on " + device.str() + ": " + std::to_string(ds.size()) +
                " images (" + mib(static_cast<int64_t>(ds.images.nbytes())) + " as uint8)";
    d.loader = std::make_unique<DeviceLoader>(ds, device, batch_size, train, aug);
    return d;
}

}  // namespace lrp::train
