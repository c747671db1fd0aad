// Private helpers of lrp_datasets: whole-file reads (plain or gzip, by magic bytes), filesystem
// queries, the "where to get the data" hints and the error macro that puts path, problem and hint together.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lrp/data/dataset.h"
#include "lrp/error.h"

// Throws lrp::Error "<path>: <problem...>. <hint>" unless cond holds.
#define LRP_DATA_CHECK(cond, path, hint, ...) LRP_CHECK(cond, path, ": ", __VA_ARGS__, ". ", hint)
#define LRP_DATA_THROW(path, hint, ...) LRP_THROW(path, ": ", __VA_ARGS__, ". ", hint)

namespace lrp::data::detail {

// Hints naming where each dataset comes from.
extern const char* const kFashionMnistHint;
extern const char* const kMnistHint;
extern const char* const kCifar10Hint;
extern const char* const kCifar100Hint;
extern const char* const kFolderHint;
const char* idx_hint(const std::string& name);  // fashion-mnist, mnist, or a generic idx hint

bool is_file(const std::string& path);
bool is_dir(const std::string& path);
std::string join(const std::string& dir, const std::string& name);

struct FileBytes {
    std::vector<uint8_t> bytes;  // the (decompressed) contents
    bool gzip = false;           // the file started with the gzip magic 1f 8b
};
// Reads a file, inflating it when it starts with 1f 8b: its first max_bytes (decompressed) bytes, all of it by
// default. A missing/unreadable file or a corrupt or truncated gzip stream (before max_bytes) throws an error
// naming the path, the problem and `hint`.
FileBytes read_file(const std::string& path, const std::string& hint, size_t max_bytes = SIZE_MAX);

// True when the file exists and starts with the gzip magic 1f 8b.
bool is_gzip_file(const std::string& path);

// "0x00000803"
std::string hex32(uint32_t v);

// Per-channel sums of one planar C x H x W U8 image added to s[c] (values) and s2[c] (squares), and the
// mean/std (in [0,1] units) from such sums over `count` pixels per channel: compute_mean_std's arithmetic.
void add_channel_sums(const uint8_t* image, int64_t c, int64_t hw, uint64_t* s, uint64_t* s2);
void mean_std_from_sums(const std::vector<uint64_t>& s, const std::vector<uint64_t>& s2, double count,
                        std::vector<float>& mean, std::vector<float>& stddev);

}  // namespace lrp::data::detail
