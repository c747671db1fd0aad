// CIFAR-10 and CIFAR-100 binary-version readers: records of label byte(s) + 3072 planar RGB bytes
// (1024 R, 1024 G, 1024 B, row-major 32x32), which map directly onto U8 N x 3 x 32 x 32.
#include <cstring>
#include <filesystem>

#include "io.h"

namespace lrp::data {

using namespace detail;

namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kPixels = 3 * kSide * kSide;  // 3072

const std::vector<std::string> kCifar10Names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};

const std::vector<std::string> kCifar100Coarse = {
    "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
    "household_electrical_devices", "household_furniture", "insects", "large_carnivores",
    "large_man-made_outdoor_things", "large_natural_outdoor_scenes", "large_omnivores_and_herbivores",
    "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals", "trees",
    "vehicles_1", "vehicles_2"};

const std::vector<std::string> kCifar100Fine = {
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger",
    "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm"};

// One label field of a record: its byte offset, its name in messages and its number of classes.
struct LabelField {
    int offset;
    const char* what;  // "label", "coarse label", "fine label"
    int classes;
};

struct Format {
    const char* name;     // "CIFAR-10"
    const char* hint;
    const char* subdir;   // the folder the archive unpacks to
    int label_bytes;      // bytes before the pixels
    std::vector<LabelField> fields;  // all validated
    int use_field;        // index into fields of the label that is kept
};

// `dir` itself when it holds `first`, else `dir`/`subdir` when that does; otherwise an error.
std::string resolve_dir(const std::string& dir, const Format& f, const std::string& first, Split split) {
    LRP_DATA_CHECK(is_dir(dir), dir, f.hint, "data directory not found (", f.name, ", ", split_name(split),
                   " split)");
    if (is_file(join(dir, first))) return dir;
    const std::string sub = join(dir, f.subdir);
    if (is_file(join(sub, first))) return sub;
    LRP_DATA_THROW(join(dir, first), f.hint, "file not found (also looked in ", sub, "/; needed for the ",
                   split_name(split), " split)");
}

Dataset read_batches(const std::vector<std::string>& paths, const Format& f) {
    const int64_t record = f.label_bytes + kPixels;
    const std::string record_desc = str(record, "-byte ", f.name, " record (", f.label_bytes, " label byte",
                                        f.label_bytes > 1 ? "s" : "", " + ", kPixels, " pixels)");
    // Pass 1: sizes of all files, so that every file is checked before any is read and the tensor is
    // allocated once.
    std::vector<int64_t> counts;
    int64_t total = 0;
    for (const std::string& p : paths) {
        LRP_DATA_CHECK(is_file(p), p, f.hint, "file not found");
        LRP_DATA_CHECK(!is_gzip_file(p), p, f.hint, "is gzip-compressed; the ", f.name,
                       " binary files are read as unpacked (gunzip / tar xzf first)");
        std::error_code ec;
        const int64_t bytes = static_cast<int64_t>(std::filesystem::file_size(p, ec));
        LRP_DATA_CHECK(!ec, p, f.hint, "cannot get the file size (", ec.message(), ")");
        LRP_DATA_CHECK(bytes > 0, p, f.hint, "empty file (0 bytes)");
        LRP_DATA_CHECK(bytes % record == 0, p, f.hint, "wrong record size: ", bytes, " bytes is not a multiple of the ",
                       record_desc, "; truncated, or not a ", f.name, " binary-version file (",
                       bytes / record, " whole records and ", bytes % record, " bytes left over)");
        counts.push_back(bytes / record);
        total += bytes / record;
    }

    Dataset d;
    d.images = Tensor::empty(Shape{total, 3, kSide, kSide}, DType::U8);
    d.labels = Tensor::empty(Shape{total}, DType::I32);
    uint8_t* img = d.images.data<uint8_t>();
    int32_t* lab = d.labels.data<int32_t>();
    int64_t row = 0;
    for (size_t k = 0; k < paths.size(); ++k) {
        const std::string& p = paths[k];
        FileBytes fb = read_file(p, f.hint);
        LRP_DATA_CHECK(static_cast<int64_t>(fb.bytes.size()) == counts[k] * record, p, f.hint,
                       "size changed while reading: ", counts[k] * record, " bytes expected, ", fb.bytes.size(),
                       " found");
        for (int64_t i = 0; i < counts[k]; ++i, ++row) {
            const uint8_t* rec = fb.bytes.data() + i * record;
            for (const LabelField& lf : f.fields) {
                const int v = rec[lf.offset];
                LRP_DATA_CHECK(v < lf.classes, p, f.hint, lf.what, " ", v, " at index ", i, " out of range [0, ",
                               lf.classes, ")");
            }
            lab[row] = rec[f.fields[f.use_field].offset];
            std::memcpy(img + row * kPixels, rec + f.label_bytes, kPixels);
        }
    }
    return d;
}

}  // namespace

Dataset load_cifar10(const std::string& dir, Split split) {
    const Format f{"CIFAR-10", kCifar10Hint, "cifar-10-batches-bin", 1, {{0, "label", 10}}, 0};
    std::vector<std::string> names;
    if (split == Split::Train) {
        for (int i = 1; i <= 5; ++i) names.push_back(str("data_batch_", i, ".bin"));
    } else {
        names.push_back("test_batch.bin");
    }
    const std::string root = resolve_dir(dir, f, names[0], split);
    std::vector<std::string> paths;
    for (const auto& n : names) paths.push_back(join(root, n));
    Dataset d = read_batches(paths, f);
    d.name = "cifar10";
    d.num_classes = 10;
    d.class_names = kCifar10Names;
    d.mean = {0.4914f, 0.4822f, 0.4465f};
    d.std = {0.2023f, 0.1994f, 0.2010f};
    return d;
}

Dataset load_cifar100(const std::string& dir, Split split, bool coarse) {
    const Format f{"CIFAR-100", kCifar100Hint, "cifar-100-binary", 2,
                   {{0, "coarse label", 20}, {1, "fine label", 100}}, coarse ? 0 : 1};
    const std::string name = split == Split::Train ? "train.bin" : "test.bin";
    const std::string root = resolve_dir(dir, f, name, split);
    Dataset d = read_batches({join(root, name)}, f);
    d.name = "cifar100";
    d.num_classes = coarse ? 20 : 100;
    d.class_names = coarse ? kCifar100Coarse : kCifar100Fine;
    d.mean = {0.5071f, 0.4867f, 0.4408f};
    d.std = {0.2675f, 0.2565f, 0.2761f};
    return d;
}

}  // namespace lrp::data
