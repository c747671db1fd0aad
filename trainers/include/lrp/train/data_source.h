// Opening a dataset split as a BatchSource: resident on the device (DeviceLoader) or streamed from an
// image folder (StreamingLoader), chosen by --stream auto|on|off and the resident size limit.
#pragma once
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "lrp/data/decoy.h"
#include "lrp/nn/models.h"
#include "lrp/train/config.h"
#include "lrp/train/loader.h"

namespace lrp::train {

struct DataOptions {
    std::string dataset;               // a data::known_datasets() name
    std::string data_dir;              // empty: the dataset's default location
    data::FolderOptions folder;        // image folders: decode options (resize, crop, channels)
    std::string stream = "auto";       // auto: stream image folders over the limit; on: stream (folders only); off
    int64_t resident_limit_mb = 2048;  // auto: a dataset of more uint8 bytes than this streams
    int64_t stats_images = 20000;      // streaming: mean/std from at most this many (evenly spaced) images
    // Per-channel mean/std (raw [0, 1] units) that normalise the images instead of the data's own
    // statistics (a test split takes the training split's; eval the checkpoint's); empty: the data's own.
    std::vector<float> mean, stdev;
    // false: mean/stdev of another channel count than the data's are not applied (the data's own statistics
    // serve) instead of an error; for statistics the weights recorded, whose caller then checks the data
    // against the weights and names that mismatch.
    bool strict_normalization = true;
    // A decoy swatch drawn into every image of the split (decoy.h; Ross et al.'s Decoy MNIST), before the
    // validation rows and subsets are taken, after the statistics were fixed. Resident splits only.
    data::DecoyOptions decoy;
};

struct DataSplit {
    std::unique_ptr<BatchSource> loader;
    std::string name;                  // the dataset's name ("folder:<dir>" for folders)
    int num_classes = 0, channels = 0, height = 0, width = 0;
    std::vector<std::string> class_names;
    std::vector<float> mean, stdev;    // per-channel statistics that normalise the images (raw [0, 1] units)
    bool streaming = false;
    int64_t source_images = 0;         // the split's size before --val-split and subsets took their rows
    std::string summary;               // one line saying how the split is held, for the user
};

// --normalize of eval and explain as {mean, std} (raw [0, 1] units; both empty: the data's own statistics):
// "auto" = `recorded` (the weights' training statistics) when there are any, else the data's own;
// "data" = the data's own; "imagenet" = torchvision's ImageNet constants; "M1,M2,M3/S1,S2,S3" = these
// (one value per channel, or one for all; std > 0).
using Normalization = std::pair<std::vector<float>, std::vector<float>>;  // {mean, std}
Normalization normalization_for(const std::string& spec, const Normalization& recorded);

// mean/std given per channel, or one value for all `channels` (expanded); anything else is an error naming `name`.
std::pair<std::vector<float>, std::vector<float>> per_channel_normalization(const std::vector<float>& mean,
                                                                            const std::vector<float>& stdev,
                                                                            int channels, const std::string& name);

// One split, loaded or indexed. subset > 0 (and < the split's size) keeps that many samples: a
// stratified subset drawn with `seed` when `stratified`, else the first ones; the statistics that
// normalise the images are those of the whole split either way (as with a loaded data::Dataset).
DataSplit open_split(const DataOptions& o, data::Split split, int64_t subset, bool stratified, uint64_t seed,
                     Device device, int batch_size, bool train, const AugmentSettings& aug);

// The training split with `val` images set aside first (data::held_out_indices with `val_seed`; never trained
// on) as a second split for validation, in eval order without augmentation; `subset` (stratified, with
// `seed`) then picks from the rest. Both are normalised with the whole training split's statistics (as
// subsets are). val = 0: {open_split(o, Train, subset, true, seed, ...), an empty split (no loader)}.
std::pair<DataSplit, DataSplit> open_train_val(const DataOptions& o, int64_t subset, uint64_t seed, int64_t val,
                                               uint64_t val_seed, Device device, int batch_size,
                                               const AugmentSettings& aug);
// The second split of open_train_val alone (for evaluation), val >= 1.
DataSplit open_val(const DataOptions& o, int64_t val, uint64_t val_seed, Device device, int batch_size);
// The val_seed of a run with --seed `seed` (so eval --split val finds the same images).
uint64_t val_split_seed(uint64_t seed);
// --split val of eval and explain: the size and val_seed of the validation split that the run `cfg` (its
// config.json, as the weights record it) held out; an error naming `weights` when it held out none.
struct RecordedValSplit {
    int64_t images = 0;
    uint64_t seed = 0;
};
RecordedValSplit recorded_val_split(const nlohmann::json& cfg, const std::string& weights);
// That the training split `name` of `source_images` images is the one the run drew its validation images from
// (`recorded_source`, < 0: not recorded); another count would hold out other images.
void check_val_source(int64_t recorded_source, int64_t source_images, const std::string& name,
                      const std::string& weights);
// explain --split val: the images the run `cfg` held out of its training split `train` (decoys drawn already), in
// eval's order (open_val's images); recorded_source and weights as for check_val_source.
data::Dataset held_out_images(const data::Dataset& train, const nlohmann::json& cfg, int64_t recorded_source,
                              const std::string& weights);
// The same rows of an image folder's training split, listed but not decoded.
data::FolderIndex held_out_images(const data::FolderIndex& train, const nlohmann::json& cfg, int64_t recorded_source,
                                  const std::string& weights);

// The model of `arch` (first-stage `width`) for the split's classes, channels and image size.
nn::ModelSpec model_spec(const std::string& arch, int width, const DataSplit& d);

// The data and augmentation settings of a training run (the training split's decoy; the test split's is
// test_decoy's).
DataOptions data_options(const TrainConfig& c);
data::DecoyOptions test_decoy(const TrainConfig& c);
AugmentSettings augment_settings(const TrainConfig& c);

// Throws unless s is auto, on or off.
void check_stream_mode(const std::string& s);
// eval and explain: an image folder, which has no default location, needs its directory (weights that record
// --dataset folder may not record it).
void require_folder_dir(const std::string& dataset, const std::string& data_dir);

}  // namespace lrp::train
