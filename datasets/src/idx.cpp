// MNIST-style idx readers: load_idx (one idx3 image file + one idx1 label file, plain or gzipped, fully
// validated) and load_mnist_like (finds the train/t10k files of a split in a directory).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>

#include "io.h"

namespace lrp::data {

using namespace detail;

namespace {

constexpr uint32_t kIdx3Magic = 0x00000803;  // unsigned byte, 3 dimensions
constexpr uint32_t kIdx1Magic = 0x00000801;  // unsigned byte, 1 dimension
constexpr int kIdxClasses = 10;

uint32_t be32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

const char* decompressed(bool gz) { return gz ? " (decompressed)" : ""; }

// Checks that a file holds exactly `expected` bytes.
void check_exact_size(const std::string& path, const char* hint, const FileBytes& f, uint64_t expected,
                      const std::string& what) {
    const uint64_t found = f.bytes.size();
    LRP_DATA_CHECK(found >= expected, path, hint, "truncated: ", expected, " bytes expected, ", found, " found",
                   decompressed(f.gzip), " (", what, ")");
    // (read up to one byte past `expected`: how much more there is stays unread)
    LRP_DATA_CHECK(found == expected, path, hint, "size mismatch: ", expected, " bytes expected, more found",
                   decompressed(f.gzip), " (", what, "; trailing data)");
}

std::vector<std::string> idx_class_names(const std::string& name) {
    if (name == "fashion-mnist")
        return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                "Ankle boot"};
    std::vector<std::string> r;
    for (int i = 0; i < kIdxClasses; ++i) r.push_back(std::to_string(i));
    return r;
}

// The first existing file among `dir`/`stem` + each suffix; throws naming the first candidate.
std::string find_idx_file(const std::string& dir, const std::string& stem, const std::string& alt_stem,
                          const char* hint, Split split) {
    for (const std::string& s : {stem, alt_stem}) {
        for (const char* ext : {"", ".gz"}) {
            std::string p = join(dir, s + ext);
            if (is_file(p)) return p;
        }
    }
    LRP_DATA_THROW(join(dir, stem), hint, "file not found (also tried ", stem, ".gz, ", alt_stem, " and ",
                   alt_stem, ".gz; needed for the ", split_name(split), " split)");
}

}  // namespace

Dataset load_idx(const std::string& images_path, const std::string& labels_path, const std::string& name) {
    const char* hint = idx_hint(name);

    // Images: magic, n, rows, cols (big-endian u32), then n*rows*cols bytes. The header first, checked whole: the
    // file is then read (inflated) up to one byte past the size it declares, so a gzip bomb is never held in memory,
    // a gzip file is not inflated at all when it cannot hold what its header declares, and a file that is no idx3
    // file (another magic) is not read further.
    const FileBytes head = read_file(images_path, hint, 16);
    LRP_DATA_CHECK(head.bytes.size() >= 16, images_path, hint, "truncated: 16 bytes expected, ", head.bytes.size(),
                   " found", decompressed(head.gzip), " (the idx3 header)");
    const uint32_t im_magic = be32(head.bytes.data());
    LRP_DATA_CHECK(im_magic == kIdx3Magic, images_path, hint, "bad magic ", hex32(im_magic), ", expected ",
                   hex32(kIdx3Magic), " (idx3 images)");
    const uint32_t n = be32(head.bytes.data() + 4), rows = be32(head.bytes.data() + 8),
                   cols = be32(head.bytes.data() + 12);
    LRP_DATA_CHECK(n > 0 && rows > 0 && cols > 0, images_path, hint, "empty: the header says ", n, " images of ",
                   rows, "x", cols);
    LRP_DATA_CHECK(rows <= 65536 && cols <= 65536, images_path, hint, "implausible image size ", rows, "x", cols,
                   " in the header (corrupt file?)");
    const uint64_t declared = uint64_t(n) * rows * cols;  // < 2^32 * 2^32: no overflow
    std::error_code ec;
    const uint64_t packed = head.gzip ? std::filesystem::file_size(images_path, ec) : 0;
    // Deflate expands at most about 1032-fold, so a smaller gzip file cannot hold these images.
    LRP_DATA_CHECK(!head.gzip || ec || declared / 1100 <= packed, images_path, hint, "the header declares ", n,
                   " images of ", rows, "x", cols, " (", declared, " bytes), more than the ", packed,
                   " bytes of this gzip file can inflate to (deflate expands at most about 1032-fold): a ",
                   "corrupt or truncated file");
    // (a declared size beyond size_t: the exact-size check below names it)
    const size_t images_limit = declared < SIZE_MAX - 17 ? static_cast<size_t>(declared + 17) : SIZE_MAX;
    FileBytes im = read_file(images_path, hint, images_limit);
    LRP_DATA_CHECK(im.bytes.size() >= 16 && std::equal(head.bytes.begin(), head.bytes.end(), im.bytes.begin()),
                   images_path, hint, "changed while it was read (its header differs from a moment ago)");
    const uint64_t pixels = uint64_t(rows) * cols;
    const uint64_t expected_images = 16 + uint64_t(n) * pixels;  // < 2^32 * 2^32 + 16: no overflow
    check_exact_size(images_path, hint, im, expected_images,
                     str(n, " images of ", rows, "x", cols, " after the 16-byte header"));

    // Labels: magic, n (big-endian u32), then n bytes.
    FileBytes lb = read_file(labels_path, hint, 8 + size_t(n) + 1);  // one byte past the expected size
    LRP_DATA_CHECK(lb.bytes.size() >= 8, labels_path, hint, "truncated: 8 bytes expected, ", lb.bytes.size(),
                   " found", decompressed(lb.gzip), " (the idx1 header)");
    const uint32_t lb_magic = be32(lb.bytes.data());
    LRP_DATA_CHECK(lb_magic == kIdx1Magic, labels_path, hint, "bad magic ", hex32(lb_magic), ", expected ",
                   hex32(kIdx1Magic), " (idx1 labels)");
    const uint32_t nl = be32(lb.bytes.data() + 4);
    LRP_DATA_CHECK(nl == n, labels_path, hint, "count mismatch: ", nl, " labels, but ", images_path, " holds ", n,
                   " images");
    check_exact_size(labels_path, hint, lb, 8 + uint64_t(nl), str(nl, " labels after the 8-byte header"));

    Dataset d;
    d.name = name;
    d.num_classes = kIdxClasses;
    d.class_names = idx_class_names(name);
    d.images = Tensor::empty(Shape{int64_t(n), 1, int64_t(rows), int64_t(cols)}, DType::U8);
    std::memcpy(d.images.data<uint8_t>(), im.bytes.data() + 16, static_cast<size_t>(uint64_t(n) * pixels));
    d.labels = Tensor::empty(Shape{int64_t(n)}, DType::I32);
    int32_t* lab = d.labels.data<int32_t>();
    for (uint32_t i = 0; i < n; ++i) {
        const int v = lb.bytes[8 + i];
        LRP_DATA_CHECK(v < kIdxClasses, labels_path, hint, "label ", v, " at index ", i, " out of range [0, ",
                       kIdxClasses, ")");
        lab[i] = v;
    }
    if (name == "fashion-mnist") {
        d.mean = {0.2860f};
        d.std = {0.3530f};
    } else if (name == "mnist") {
        d.mean = {0.1307f};
        d.std = {0.3081f};
    } else {
        compute_mean_std(d.images, d.mean, d.std);
    }
    return d;
}

Dataset load_mnist_like(const std::string& dir, Split split, const std::string& name) {
    const char* hint = idx_hint(name);
    LRP_DATA_CHECK(is_dir(dir), dir, hint, "data directory not found (", name, ", ", split_name(split), " split)");
    const std::string prefix = split == Split::Train ? "train" : "t10k";
    std::string images = find_idx_file(dir, prefix + "-images-idx3-ubyte", prefix + "-images.idx3-ubyte", hint, split);
    std::string labels = find_idx_file(dir, prefix + "-labels-idx1-ubyte", prefix + "-labels.idx1-ubyte", hint, split);
    return load_idx(images, labels, name);
}

}  // namespace lrp::data
