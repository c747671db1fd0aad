// The dataset registry used by the CLI: maps a name (and an optional data directory) to a reader, with
// default locations and errors that list the known names or say which flag to pass.
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "io.h"
#include "lrp/log.h"

namespace lrp::data {

using namespace detail;
namespace fs = std::filesystem;

namespace {

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

std::string known_list() {
    std::string r;
    for (const auto& n : known_datasets()) r += (r.empty() ? "" : ", ") + n;
    return r;
}

void require_dir(const std::string& name, const std::string& data_dir, const char* what, const char* hint) {
    LRP_CHECK(!data_dir.empty(), "dataset '", name, "' has no default location: pass --data-dir <dir> (", what,
              "). ", hint);
}

// The subfolder of data_dir named `split` in any case (Train/, TEST/), or "" when there is none; two spellings of
// one name are an error.
std::string split_subdir(const std::string& data_dir, const std::string& split) {
    std::string found;
    std::error_code ec;
    for (fs::directory_iterator it(data_dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string n = it->path().filename().string(), low = n;
        std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return std::tolower(c); });
        if (low != split || !is_dir(it->path().string())) continue;
        LRP_DATA_CHECK(found.empty(), data_dir, kFolderHint, "has both ", found, "/ and ", n, "/: which is the ", split,
                       " split?");
        found = n;
    }
    return found.empty() ? std::string() : join(data_dir, found);
}

// data_dir/train and data_dir/test (or data_dir/val) when they exist (in any case), else data_dir for both splits
// (a train/ without test/ or val/ is an error, and so is a test/ or val/ without train/ for the training split).
std::string folder_split_dir(const std::string& name, const std::string& data_dir, Split split) {
    require_dir(name, data_dir, "the image folder, one subfolder per class", kFolderHint);
    const std::string train = split_subdir(data_dir, "train");
    if (split == Split::Train && !train.empty()) return train;
    if (split == Split::Train) {  // else test/ or val/ would be read as a class of the whole folder
        for (const char* other : {"test", "val"}) {
            const std::string dir = split_subdir(data_dir, other);
            LRP_DATA_CHECK(dir.empty(), data_dir, kFolderHint, "has a ", fs::path(dir).filename().string(),
                           "/ subfolder but no train/ one for the training split");
        }
    }
    if (split == Split::Test) {
        const std::string test = split_subdir(data_dir, "test"), val = split_subdir(data_dir, "val");
        if (!test.empty() && !val.empty())
            log_warn(data_dir, " has a test/ and a val/ split: the test split is ", test, "; ", val, " is not read (a ",
                     "validation split of train/: --val-split N holds N of its images out)");
        if (!test.empty()) return test;
        if (!val.empty()) return val;
        // Else "train" would be read as a class of the whole folder.
        LRP_DATA_CHECK(train.empty(), data_dir, kFolderHint,
                       "has a train/ subfolder but no test/ or val/ one for the test split");
    }
    return data_dir;
}

// The folder options of a split read from split_dir under data_dir: a mask folder given for the dataset's root
// mirrors it, so the split's masks lie in the same subfolder of it.
FolderOptions split_options(FolderOptions o, const std::string& data_dir, const std::string& split_dir) {
    if (!o.mask_dir.empty() && split_dir != data_dir)
        o.mask_dir = join(o.mask_dir, fs::path(split_dir).lexically_relative(data_dir).string());
    return o;
}

}  // namespace

std::vector<std::string> known_datasets() {
    return {"fashion-mnist", "mnist", "cifar10", "cifar100", "cifar100-coarse", "folder", "synthetic"};
}

std::string data_location(const std::string& name, const std::string& data_dir) {
    if (name == "synthetic") return "built in";
    if (!data_dir.empty()) return "in " + data_dir;
    return name == "fashion-mnist" ? std::string("in ") + kFashionMnistDir + " (its default location)"
                                   : "without --data-dir";
}

Dataset load_dataset(const std::string& name, const std::string& data_dir, Split split, const FolderOptions& folder) {
    LRP_CHECK(folder.mask_dir.empty() || name == "folder", "masks from files (--masks) are read for image folders ",
              "(--dataset folder) only, not for '", name, "'");
    if (name == "fashion-mnist") {
        return load_mnist_like(data_dir.empty() ? kFashionMnistDir : data_dir, split, name);
    }
    if (name == "mnist") {
        require_dir(name, data_dir, "the folder holding train-images-idx3-ubyte[.gz] and the other idx files",
                    kMnistHint);
        return load_mnist_like(data_dir, split, name);
    }
    if (name == "cifar10") {
        require_dir(name, data_dir, "the folder holding data_batch_1..5.bin and test_batch.bin", kCifar10Hint);
        return load_cifar10(data_dir, split);
    }
    if (name == "cifar100" || name == "cifar100-coarse") {
        require_dir(name, data_dir, "the folder holding train.bin and test.bin", kCifar100Hint);
        return load_cifar100(data_dir, split, name == "cifar100-coarse");
    }
    if (name == "folder") {
        const std::string dir = folder_split_dir(name, data_dir, split);
        return load_image_folder(dir, split_options(folder, data_dir, dir));
    }
    if (name == "synthetic") {
        return split == Split::Train ? make_synthetic(2000, 3, 32, 32, 10, 1) : make_synthetic(500, 3, 32, 32, 10, 2);
    }
    LRP_THROW("unknown dataset '", name, "'; known datasets: ", known_list());
}

FolderIndex index_dataset(const std::string& name, const std::string& data_dir, Split split,
                          const FolderOptions& folder) {
    if (name == "folder") {
        const std::string dir = folder_split_dir(name, data_dir, split);
        return index_image_folder(dir, split_options(folder, data_dir, dir));
    }
    const std::vector<std::string> known = known_datasets();
    LRP_CHECK(std::find(known.begin(), known.end(), name) != known.end(), "unknown dataset '", name,
              "'; known datasets: ", known_list());
    LRP_THROW("dataset '", name, "' cannot stream: only image folders (--dataset folder) are read lazily; ", name,
              " is loaded whole (use --stream auto or off)");
}

}  // namespace lrp::data
