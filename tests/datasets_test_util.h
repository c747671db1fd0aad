// Shared helpers of the dataset tests: byte builders for idx and CIFAR files, and the DatasetsCpu
// fixture that writes plain, gzipped and PNG files into a fresh temporary directory per test.
#pragma once
#include <stb/stb_image_write.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>

#include "lrp/data/dataset.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::data;
namespace fs = std::filesystem;

namespace dstest {

inline std::string be32(uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
    return s;
}

inline std::string idx3(uint32_t n, uint32_t rows, uint32_t cols, const std::string& pixels, uint32_t magic = 0x803) {
    return be32(magic) + be32(n) + be32(rows) + be32(cols) + pixels;
}
inline std::string idx1(const std::vector<uint8_t>& labels, uint32_t magic = 0x801) {
    return be32(magic) + be32(static_cast<uint32_t>(labels.size())) + std::string(labels.begin(), labels.end());
}

// Pixel i of the test images: a pattern that differs between neighbours and between images.
inline uint8_t pix(int64_t i) { return static_cast<uint8_t>((i * 37 + 11) % 251); }
inline std::string pixels(int64_t n) {
    std::string s(static_cast<size_t>(n), '\0');
    for (int64_t i = 0; i < n; ++i) s[i] = static_cast<char>(pix(i));
    return s;
}

using lrp::test::read_all;

// Runs f, which must throw lrp::Error whose message contains every string in `parts`.
inline ::testing::AssertionResult throws_with(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
        f();
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const auto& p : parts)
            if (msg.find(p) == std::string::npos)
                return ::testing::AssertionFailure() << "message lacks \"" << p << "\":\n  " << msg;
        return ::testing::AssertionSuccess();
    } catch (const std::exception& e) {
        return ::testing::AssertionFailure() << "threw a non-lrp exception: " << e.what();
    }
    return ::testing::AssertionFailure() << "did not throw";
}

// CIFAR-style records: label bytes then 3072 pixel bytes, pixel j of record r = pix(r * 3072 + j).
inline std::string cifar_records(const std::vector<std::vector<uint8_t>>& labels, int64_t first_record) {
    std::string s;
    for (size_t r = 0; r < labels.size(); ++r) {
        s += std::string(labels[r].begin(), labels[r].end());
        for (int64_t j = 0; j < 3072; ++j) s += static_cast<char>(pix((first_record + int64_t(r)) * 3072 + j));
    }
    return s;
}

// A hand-made dataset: n images 1 x 2 x 2, image i filled with i % 256 (pixel 0 = i / 256), labels given.
inline Dataset tagged(const std::vector<int32_t>& labels, int classes) {
    Dataset d;
    d.name = "tagged";
    const int64_t n = static_cast<int64_t>(labels.size());
    std::vector<uint8_t> px(static_cast<size_t>(n * 4));
    for (int64_t i = 0; i < n; ++i) {
        px[i * 4] = static_cast<uint8_t>(i / 256);
        for (int j = 1; j < 4; ++j) px[i * 4 + j] = static_cast<uint8_t>(i % 256);
    }
    d.images = Tensor::from_vector(px, Shape{n, 1, 2, 2});
    d.labels = Tensor::from_vector(labels, Shape{n});
    d.num_classes = classes;
    d.mean = {0.5f};
    d.std = {0.25f};
    return d;
}
inline int64_t tag_of(const Dataset& d, int64_t i) {
    const uint8_t* p = d.images.data<uint8_t>() + i * 4;
    return int64_t(p[0]) * 256 + p[1];
}

}  // namespace dstest

using namespace dstest;

class DatasetsCpu : public lrp::test::TempDirTest {
protected:
    DatasetsCpu() : TempDirTest("lrp_datasets") {}
    std::string write_gz(const std::string& rel, const std::string& bytes) const {
        fs::create_directories(fs::path(path(rel)).parent_path());
        gzFile g = gzopen(path(rel).c_str(), "wb");
        EXPECT_NE(g, nullptr);
        EXPECT_EQ(gzwrite(g, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
        gzclose(g);
        return path(rel);
    }
    // A PNG of w x h x c bytes (interleaved).
    std::string write_png(const std::string& rel, int w, int h, int c, const std::vector<uint8_t>& px) const {
        fs::create_directories(fs::path(path(rel)).parent_path());
        EXPECT_NE(stbi_write_png(path(rel).c_str(), w, h, c, px.data(), w * c), 0);
        return path(rel);
    }
    std::string write_png_fill(const std::string& rel, int w, int h, uint8_t v) const {
        return write_png(rel, w, h, 3, std::vector<uint8_t>(static_cast<size_t>(w * h * 3), v));
    }
    // The standard idx pair of a split in `sub`: n images of rows x cols, labels i % 10.
    void write_idx_split(const std::string& sub, const std::string& prefix, uint32_t n, uint32_t rows,
                         uint32_t cols, bool gz) {
        std::vector<uint8_t> lab;
        for (uint32_t i = 0; i < n; ++i) lab.push_back(static_cast<uint8_t>(i % 10));
        const std::string im = idx3(n, rows, cols, pixels(int64_t(n) * rows * cols)), lb = idx1(lab);
        if (gz) {
            write_gz(sub + "/" + prefix + "-images-idx3-ubyte.gz", im);
            write_gz(sub + "/" + prefix + "-labels-idx1-ubyte.gz", lb);
        } else {
            write(sub + "/" + prefix + "-images-idx3-ubyte", im);
            write(sub + "/" + prefix + "-labels-idx1-ubyte", lb);
        }
    }
    std::string dir_;
};

// ---------------------------------------------------------------------------------------------- idx

