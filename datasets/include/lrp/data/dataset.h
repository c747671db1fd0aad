// Datasets held whole in CPU memory (U8 images N x C x H x W, I32 labels) and their readers: MNIST-style
// idx files (plain or gzipped), CIFAR-10/100 binary batches, image folders (stb_image, also as a lazy
// index for streaming), synthetic data.
// Every reader validates what it reads and throws lrp::Error naming the file, the problem and the source.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lrp/tensor.h"

namespace lrp::data {

struct Dataset {
    std::string name;                  // "fashion-mnist", "mnist", "cifar10", "cifar100", "folder:<path>", "synthetic"
    Tensor images;                     // U8, N x C x H x W, on the CPU, row-major (CIFAR's planar RGB maps directly)
    Tensor labels;                     // I32, N
    // Optional U8 N x 1 x H x W, on the CPU: nonzero where the image's genuine content may lie (ISNet's foreground
    // is its threshold AND this; decoy.h sets 0 on a decoy swatch). Undefined: everywhere. Subsets keep it.
    Tensor masks;
    int num_classes = 0;
    std::vector<std::string> class_names;
    std::vector<float> mean, std;      // per channel, in [0,1] pixel units, for normalisation

    int64_t size() const;              // N (0 for an empty dataset)
    int channels() const;
    int height() const;
    int width() const;

    // Rows [begin, end), copied (the result owns its storage).
    Dataset subset(int64_t begin, int64_t end) const;
    // n samples, as equal per class as possible (a class with too few samples gives all it has and the
    // rest is shared among the others; leftover samples go to the lowest class indices). Which samples
    // are picked depends only on `seed`; they keep their original order. 1 <= n <= size().
    Dataset take_stratified(int64_t n, uint64_t seed) const;
    // n rows spread evenly over the dataset (evenly_spaced_rows), in order: a subset of an image folder,
    // whose files are sorted by class, covers its classes in proportion. 1 <= n <= size().
    Dataset evenly_spaced(int64_t n) const;
    // Sets n samples aside (a held-out validation split): {held_out_indices(n, seed)'s rows, all the other
    // rows}, each in the original order. 1 <= n < size().
    std::pair<Dataset, Dataset> split_stratified(int64_t n, uint64_t seed) const;
};

enum class Split { Train, Test };
const char* split_name(Split s);  // "train" / "test"

// One idx3 image file (magic 0x00000803, N x rows x cols bytes) and one idx1 label file (magic
// 0x00000801, N bytes), each plain or gzipped (detected by the magic bytes 1f 8b, not the extension).
// Sizes must be exact and labels < 10. `name` picks the class names, the mean/std constants and the
// "where to get the data" hint ("fashion-mnist", "mnist"; anything else: names "0".."9", stats computed).
Dataset load_idx(const std::string& images_path, const std::string& labels_path, const std::string& name);
// Finds {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in `dir` and loads them with load_idx.
Dataset load_mnist_like(const std::string& dir, Split split, const std::string& name);

// CIFAR-10 binary version: data_batch_1..5.bin (train) or test_batch.bin (test) in `dir` or in
// `dir`/cifar-10-batches-bin. Records are 1 label byte + 3072 planar RGB bytes; labels < 10.
Dataset load_cifar10(const std::string& dir, Split split);
// CIFAR-100 binary version: train.bin / test.bin in `dir` or `dir`/cifar-100-binary. Records are a coarse
// label byte (< 20), a fine label byte (< 100) and 3072 pixel bytes; `coarse` picks the 20 superclasses.
// The dataset is named "cifar100" either way (num_classes tells them apart).
Dataset load_cifar100(const std::string& dir, Split split, bool coarse = false);

struct FolderOptions {
    int resize = 0;    // > 0: scale the shorter side to this (torchvision Resize(int)), triangle filter
    int crop = 0;      // > 0: centre crop crop x crop (torchvision CenterCrop); the image must be large enough
    int channels = 3;  // 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA): what stb_image converts to
    std::vector<std::string> extensions = {".png", ".jpg", ".jpeg"};  // matched case-insensitively
    // Non-empty: segmentation masks from this folder, which mirrors the image folder: the mask of
    // <dir>/<class>/<rel>.<ext> is <mask_dir>/<class>/<rel>.png, of the image's size before resize/crop; a pixel
    // is foreground where a colour channel is nonzero (8 or 16 bits; grey, palette or colour; alpha ignored).
    // The mask is resized (as a 0/255 image, foreground where at least half the filter's weight was) and cropped
    // with its image, and becomes Dataset::masks (0 / 255). Every image must have one. load_dataset and
    // index_dataset take this as the mask folder of the dataset's root and append the split's subfolder.
    std::string mask_dir;
};

// One subfolder per class (sorted names = class indices, as torchvision ImageFolder); image files are
// found recursively inside each class folder, in sorted path order. After resize/crop every image must
// have the same size. Named "folder:<dir>"; mean/std computed from the data.
Dataset load_image_folder(const std::string& dir, const FolderOptions& o = {});

// An image folder listed but not decoded, for streaming: the files, labels and class names that
// load_image_folder would give, and the size every image comes out at (that of the first image, which
// is decoded to find it; the others are checked when they are decoded).
struct FolderIndex {
    std::string name;                     // "folder:<dir>"
    std::vector<std::string> files;       // classes in sorted order, files sorted within each class
    std::vector<int32_t> labels;          // one per file
    std::vector<std::string> class_names;
    FolderOptions options;                // how every file is decoded
    int channels = 0, height = 0, width = 0;
    std::string size_reference;           // the file whose size all others must match
    std::vector<std::string> mask_files;  // one per file (options.mask_dir given), else empty
    std::vector<float> mean, std;         // empty until folder_mean_std fills them; kept by subsets

    int64_t size() const { return static_cast<int64_t>(files.size()); }
    int num_classes() const { return static_cast<int>(class_names.size()); }
    int64_t image_bytes() const { return int64_t(channels) * height * width; }  // one decoded image
    // All images (and their masks, when it has them), resident as U8.
    int64_t total_bytes() const { return size() * (image_bytes() + (mask_files.empty() ? 0 : int64_t(height) * width)); }
    // The same rows as Dataset::subset / Dataset::take_stratified on the loaded folder.
    FolderIndex subset(int64_t begin, int64_t end) const;
    FolderIndex take_stratified(int64_t n, uint64_t seed) const;
    FolderIndex evenly_spaced(int64_t n) const;
    std::pair<FolderIndex, FolderIndex> split_stratified(int64_t n, uint64_t seed) const;
};
// Same folder rules and option checks as load_image_folder.
FolderIndex index_image_folder(const std::string& dir, const FolderOptions& o = {});

// One image file decoded (stb_image), resized and centre-cropped as `o` says: planar C x H x W bytes.
// Errors name the file.
struct DecodedImage {
    std::vector<uint8_t> px;
    int channels = 0, height = 0, width = 0;
};
DecodedImage decode_image(const std::string& path, const FolderOptions& o);
// Decodes image i of the index into dst (image_bytes() bytes); an image of another size than the
// index's is an error naming both files. mask_dst given (and the index has masks): the image's mask too,
// height x width bytes of 0 / 255 (a mask of another size than its image is an error naming both files).
// Thread-safe (reads only the index).
void decode_indexed(const FolderIndex& ix, int64_t i, uint8_t* dst, uint8_t* mask_dst = nullptr);
// Decodes every image of the index (and mask, into Dataset::masks, when it has them);
// load_image_folder(dir, o) == load_folder_index(index_image_folder(dir, o)).
Dataset load_folder_index(const FolderIndex& ix);
// Fills ix.mean / ix.std exactly as compute_mean_std would over the decoded images (the sums are
// integers, so the result does not depend on order or threads). max_images > 0 and fewer than the
// index holds: over that many evenly spaced images instead. threads <= 0: one per hardware thread.
void folder_mean_std(FolderIndex& ix, int64_t max_images = 0, int threads = 0);

// Rows k * count / n for k < n (ascending; all rows when n == count). 1 <= n <= count.
std::vector<int64_t> evenly_spaced_rows(int64_t count, int64_t n, const std::string& what);
// The rows take_stratified keeps (ascending), from the labels alone (count of them, classes < num_classes,
// or 1 + the largest label when num_classes <= 0). `what` names the data in errors.
std::vector<int64_t> stratified_indices(const int32_t* labels, int64_t count, int num_classes, int64_t n,
                                        uint64_t seed, const std::string& what);
// The rows split_stratified holds out (ascending): n in [1, count), each class in proportion to its size
// (largest remainder, ties to the lower class), every class keeping at least one sample (an error if that
// cannot be), drawn from the same seeded per-class shuffle as stratified_indices (so on equal classes the
// two pick the same rows).
std::vector<int64_t> held_out_indices(const int32_t* labels, int64_t count, int num_classes, int64_t n,
                                      uint64_t seed, const std::string& what);
// The rows of 0..count-1 that `rows` (ascending, in range) does not hold, ascending.
std::vector<int64_t> complement_rows(const std::vector<int64_t>& rows, int64_t count);

// A learnable synthetic task: each class has its own pattern (oriented colour grating + offset), each
// sample is its class pattern plus uniform noise. Labels are balanced (n / classes each, the remainder
// to the lowest classes) in a shuffled order. Everything depends only on the arguments; the class
// patterns depend only on (channels, h, w, classes), so sets with different seeds share one task.
Dataset make_synthetic(int64_t n, int channels, int h, int w, int classes, uint64_t seed);

// The registry used by the CLI. name: fashion-mnist, mnist, cifar10, cifar100, cifar100-coarse, folder,
// synthetic. An empty data_dir means the default location (fashion-mnist: /usr/share/datasets/fashion-mnist;
// the others have none and say which flag to pass). "folder" uses data_dir/train and data_dir/test (or
// data_dir/val) when they exist, else data_dir itself for both splits. "synthetic" ignores data_dir and
// gives 3 x 32 x 32 images of 10 classes (2000 train, 500 test).
Dataset load_dataset(const std::string& name, const std::string& data_dir, Split split,
                     const FolderOptions& folder = {});
// The "folder" dataset's split as an index (the same directory rules as load_dataset); any other name
// is an error saying that only image folders can stream.
FolderIndex index_dataset(const std::string& name, const std::string& data_dir, Split split,
                          const FolderOptions& folder = {});
std::vector<std::string> known_datasets();
// Where a run's data comes from, for its summary line: "in DIR", "in DIR (its default location)", "built in"
// (synthetic), or "without --data-dir" where the dataset has no default location.
std::string data_location(const std::string& name, const std::string& data_dir);

// Resizes an interleaved H x W x C uint8 image to out_h x out_w (lrpcu's own resize, datasets/src/resize.cpp):
// separable bilinear, antialiased when downscaling (triangle filter stretched by in/out, as PIL and
// torchvision's antialiased bilinear; PIL rounds between the passes, so values may differ from PIL's by 1),
// rounded to nearest and clamped to [0, 255]. Equal sizes copy.
std::vector<uint8_t> resize_image(const uint8_t* src, int w, int h, int c, int out_w, int out_h);

// Per-channel mean and (population) standard deviation of U8 N x C x H x W images, in [0,1] units; a
// constant channel (std below 1e-6) gets std 1, so normalising centres it instead of dividing by zero.
void compute_mean_std(const Tensor& images, std::vector<float>& mean, std::vector<float>& stddev);

}  // namespace lrp::data
