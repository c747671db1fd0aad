// explain's dataset images (explain_data.h): a resident dataset is loaded whole (MNIST/CIFAR sizes); an image folder
// is indexed and only the rows explained are decoded, with its statistics computed only when no others are given.
#include "explain_data.h"

#include <cstdio>
#include <optional>

#include "lrp/error.h"
#include "lrp/ops/gemm.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"

namespace lrp::cli {

namespace {

using Stats = std::pair<std::vector<float>, std::vector<float>>;

void check_channels(const ExplainData& d, int channels, const std::string& name) {
    LRP_CHECK(d.weight_channels < 0 || d.weight_channels == channels, name, " images have ", channels,
              " channel(s), but the weights in ", d.weights, " take ", d.weight_channels, " (another dataset?)");
}

// The given statistics, unless the data's own serve (none given, or recorded ones of another channel count under auto).
bool uses_own_stats(const ExplainData& d, int channels) {
    const bool fits = d.mean.size() == 1 || d.mean.size() == static_cast<size_t>(channels);
    return d.mean.empty() || (!fits && d.automatic);
}

Stats given_stats(const ExplainData& d, int channels, const std::string& name) {
    return train::per_channel_normalization(d.mean, d.std, channels, name);
}

// An image folder's own statistics as eval's default would compute them (train::DataOptions: every image while the
// folder stays resident, evenly spaced ones of a folder that streams).
Stats folder_stats(data::FolderIndex ix) {
    const train::DataOptions eval_default;
    const bool streams = ix.total_bytes() > eval_default.resident_limit_mb * 1048576;
    const int64_t used = streams && eval_default.stats_images < ix.size() ? eval_default.stats_images : ix.size();
    if (used < ix.size())
        std::printf("note: the mean/std that normalise the images come from %lld evenly spaced of the %lld images of "
                    "%s (as eval computes them for a folder that streams)\n",
                    static_cast<long long>(used), static_cast<long long>(ix.size()), ix.name.c_str());
    data::folder_mean_std(ix, used, ops::cpu_kernel_threads());
    return {ix.mean, ix.std};
}

bool indexed(const ExplainData& d) { return d.dataset == "folder"; }

}  // namespace

ExplainBatch dataset_samples(const ExplainData& d, const ExplainSplit& s, int64_t n) {
    train::require_folder_dir(d.dataset, d.data_dir);
    const std::string split = s.held_out ? "val" : data::split_name(s.split);
    auto check_count = [&](int64_t size, const std::string& name) {
        LRP_CHECK(n <= size, "--samples ", n, ": the ", split, " split of ", name, " has only ", size, " images");
    };
    ExplainBatch in;
    data::Dataset sub;
    // Decoys are drawn per row of the whole split (data::add_decoy), so a split with decoys is loaded whole.
    if (indexed(d) && s.decoy.shade == "none") {
        const data::FolderIndex all = data::index_dataset(d.dataset, d.data_dir, s.split, d.folder);
        train::check_class_names(s.trained_classes, all.class_names, d.weights, "the " + split + " split of " + all.name);
        check_channels(d, all.channels, all.name);
        data::FolderIndex rows = s.held_out ? train::held_out_images(all, *s.cfg, s.val_source_images, d.weights) : all;
        check_count(rows.size(), all.name);
        // N evenly spaced images, as eval --subset takes them: a folder's files are sorted by class.
        sub = data::load_folder_index(n < rows.size() ? rows.evenly_spaced(n) : rows);
        // The whole split's statistics, as a loaded split's subsets keep them.
        std::tie(in.mean, in.std) = uses_own_stats(d, all.channels) ? folder_stats(all)
                                                                     : given_stats(d, all.channels, all.name);
    } else {
        data::Dataset ds = data::load_dataset(d.dataset, d.data_dir, s.split, d.folder);
        train::check_class_names(s.trained_classes, ds.class_names, d.weights, "the " + split + " split of " + ds.name);
        data::add_decoy(ds, s.decoy, s.split);  // into the whole split: each image gets the swatch eval would draw
        if (s.held_out) ds = train::held_out_images(ds, *s.cfg, s.val_source_images, d.weights);
        check_count(ds.size(), ds.name);
        sub = indexed(d) && n < ds.size() ? ds.evenly_spaced(n) : ds.subset(0, n);
        std::tie(in.mean, in.std) = uses_own_stats(d, ds.channels()) ? Stats{ds.mean, ds.std}
                                                                      : given_stats(d, ds.channels(), ds.name);
    }
    in.x = normalise_images(sub.images, in.mean, in.std);
    in.labels = sub.labels;
    return in;
}

TestSplit open_test_split(const ExplainData& d) {
    train::require_folder_dir(d.dataset, d.data_dir);
    TestSplit t;
    if (indexed(d)) t.index = data::index_dataset(d.dataset, d.data_dir, data::Split::Test, d.folder);
    else t.loaded = data::load_dataset(d.dataset, d.data_dir, data::Split::Test, d.folder);
    return t;
}

ImageSpec test_split_spec(const ExplainData& d, const TestSplit& t) {
    ImageSpec spec;
    if (t.index) {
        const data::FolderIndex& ix = *t.index;
        check_channels(d, ix.channels, ix.name);
        spec = {ix.channels, ix.height, ix.width, {}, {}, ix.name};
        std::tie(spec.mean, spec.std) = uses_own_stats(d, ix.channels) ? folder_stats(ix)
                                                                        : given_stats(d, ix.channels, ix.name);
        return spec;
    }
    LRP_CHECK(t.loaded.has_value(), "test_split_spec: the split was not opened");
    const data::Dataset& ds = *t.loaded;
    check_channels(d, ds.channels(), ds.name);
    spec = {ds.channels(), ds.height(), ds.width(), {}, {}, ds.name};
    std::tie(spec.mean, spec.std) = uses_own_stats(d, ds.channels()) ? Stats{ds.mean, ds.std}
                                                                      : given_stats(d, ds.channels(), ds.name);
    return spec;
}

}  // namespace lrp::cli
