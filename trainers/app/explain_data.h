// explain's dataset images: the first N of a split (or of the validation images a run held out) and, for --input
// files, a dataset's image size and statistics. An image folder is indexed, and only the images explained are decoded.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "explain_io.h"
#include "lrp/data/dataset.h"
#include "lrp/data/decoy.h"

namespace lrp::cli {

// Where explain's dataset images come from and how they are normalised.
struct ExplainData {
    std::string dataset, data_dir;
    data::FolderOptions folder;
    // --normalize's statistics (default: those the weights record); empty: the data's own. Under --normalize auto,
    // recorded statistics of another channel count than the data's give way to the data's own (the channel check
    // against the weights then names the mismatch).
    std::vector<float> mean, std;
    bool automatic = true;
    std::string weights;     // for messages
    int weight_channels = -1;  // the channels the weights take (< 0: unknown), checked before any image is decoded
};

// The normalisation of the dataset's images: the given statistics, else the data's own. An image folder's own are
// those eval's default would use: over every image, or over 20000 evenly spaced ones of a folder too large to stay
// resident (a note says so).
struct ExplainSplit {
    data::Split split = data::Split::Test;
    bool held_out = false;           // --split val: the validation images the run `cfg` held out of the training split
    const nlohmann::json* cfg = nullptr;
    int64_t val_source_images = -1;  // the training split's size the run recorded (< 0: not recorded)
    std::vector<std::string> trained_classes;
    data::DecoyOptions decoy;        // swatches drawn into the split (shade none: none)
};
// The first n images of the split, normalised, with their labels and the statistics. The split's class names are
// checked against the trained ones first; n larger than the split is an error.
ExplainBatch dataset_samples(const ExplainData& d, const ExplainSplit& s, int64_t n);

// A dataset's test split as --input files need it: an image folder indexed (its images not decoded), else loaded.
struct TestSplit {
    std::optional<data::FolderIndex> index;
    std::optional<data::Dataset> loaded;
};
// Errors only when the split cannot be read (missing, empty or unreadable data).
TestSplit open_test_split(const ExplainData& d);
// Its image shape (checked against the weights' channels) and statistics; source = the dataset's name.
ImageSpec test_split_spec(const ExplainData& d, const TestSplit& t);

}  // namespace lrp::cli
