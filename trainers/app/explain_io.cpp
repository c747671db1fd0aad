// `lrpcu explain` I/O: image-file inputs (decode, size check, normalise), the heatmap / overlay PNG writers and
// --flex-layers' hidden maps (with the list a later --force replaces).
#include "explain_io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>

#include "lrp/data/npy.h"
#include "lrp/durable_file.h"
#include "lrp/log.h"
#include "lrp/train/heatmap.h"
#include "lrp/train/preview.h"

namespace lrp::cli {

namespace {
void write_png(const std::string& path, const std::vector<unsigned char>& px, int64_t w, int64_t h) {
    train::write_png_rgb(path, px, w, h);  // every write checked
}
}  // namespace

Tensor normalise_images(const Tensor& u8, const std::vector<float>& mean, const std::vector<float>& std) {
    LRP_CHECK(u8.dtype() == DType::U8 && u8.ndim() == 4, "normalise_images: need U8 N x C x H x W, got ",
              dtype_name(u8.dtype()), " ", u8.shape().str());
    const int64_t n = u8.dim(0), c = u8.dim(1), plane = u8.dim(2) * u8.dim(3);
    LRP_CHECK(mean.size() == static_cast<size_t>(c) && std.size() == static_cast<size_t>(c),
              "normalise_images: ", mean.size(), " mean / ", std.size(), " std values for ", c, " channels");
    std::vector<uint8_t> src = u8.to_vector<uint8_t>();
    std::vector<float> dst(src.size());
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < c; ++k)
            for (int64_t j = 0; j < plane; ++j) {
                const size_t at = static_cast<size_t>((i * c + k) * plane + j);
                dst[at] = (src[at] / 255.f - mean[k]) / std[k];
            }
    return Tensor::from_vector(dst, u8.shape());
}

ExplainBatch load_image_inputs(const std::vector<std::string>& files, const ImageSpec& spec, data::FolderOptions o) {
    LRP_CHECK(!files.empty(), "--input: no image files");
    o.channels = spec.channels;
    const int c = spec.channels;
    int h = spec.height, w = spec.width;
    std::string wants = "the model takes " + std::to_string(w) + "x" + std::to_string(h) + " images of " +
                        std::to_string(c) + " channel(s) (" + spec.source + ")";
    const int64_t n = static_cast<int64_t>(files.size());
    Tensor u8;
    for (int64_t i = 0; i < n; ++i) {
        const data::DecodedImage im = data::decode_image(files[i], o);
        if (i == 0 && h == 0) {  // the first image sets the size
            h = im.height;
            w = im.width;
            wants = "the first --input '" + files[0] + "' is " + std::to_string(w) + "x" + std::to_string(h);
        }
        if (i == 0) u8 = Tensor::empty(Shape({n, c, h, w}), DType::U8);
        LRP_CHECK(im.channels == c && im.height == h && im.width == w, "--input: '", files[i], "' is ", im.width,
                  "x", im.height, " (", im.channels, " channel(s) after decoding) but ", wants,
                  "; pass --resize/--crop or an image of that size");
        std::memcpy(u8.data<uint8_t>() + i * c * h * w, im.px.data(), im.px.size());
    }
    ExplainBatch b;
    b.mean = spec.mean;
    b.std = spec.std;
    b.x = normalise_images(u8, b.mean, b.std);
    return b;
}

void write_heatmap(const std::string& path, const float* r, int64_t C, int64_t H, int64_t W, int scale,
                   const train::Palette* palette) {
    write_png(path,
              palette ? train::palette_heatmap_rgb(r, C, H, W, scale, *palette) : train::heatmap_rgb(r, C, H, W, scale),
              W * scale, H * scale);
}

void write_overlay(const std::string& path, const float* r, const float* x, int64_t C, int64_t H, int64_t W,
                   int scale, const std::vector<float>& mean, const std::vector<float>& std,
                   const train::Palette* palette) {
    write_png(path, train::overlay_rgb(r, x, C, H, W, scale, mean, std, palette), W * scale, H * scale);
}

namespace {
constexpr const char* kHiddenList = "hidden_maps.txt";
}  // namespace

std::string write_hidden_maps(const std::string& out, const std::vector<std::pair<std::string, Tensor>>& hidden,
                              int64_t H, int64_t W, int scale, const train::Palette* palette) {
    const std::filesystem::path dir(out);
    auto file_of = [](const std::string& name) {
        std::string file = "hidden_" + name;
        for (char& ch : file)
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-')) ch = '_';
        return file;
    };
    auto png_of = [](int64_t i) {
        char png[32];
        std::snprintf(png, sizeof png, "_%04lld.png", static_cast<long long>(i));
        return std::string(png);
    };
    // The list first (atomically), so a later --force finds every map even when this run is killed while
    // writing them.
    std::string list;
    for (const auto& [name, map] : hidden) {
        list += file_of(name) + ".npy\n";
        for (int64_t i = 0; i < map.dim(0); ++i) list += file_of(name) + png_of(i) + "\n";
    }
    write_file_atomic((dir / kHiddenList).string(), [&](FileSink& f) { f.write(list); }, "explain", false);
    std::string listed;
    for (const auto& [name, map] : hidden) {
        const Tensor m = map.to(Device::cpu());
        const std::string file = file_of(name);
        data::write_npy((dir / (file + ".npy")).string(), m);
        const int64_t n = m.dim(0), c = m.dim(1), h = m.dim(2), w = m.dim(3);
        const int up = static_cast<int>(std::min<int64_t>(std::clamp<int64_t>(std::max(H / h, W / w), 1, 64) * scale, 256));
        const std::vector<float> v = m.to_vector<float>();
        int64_t bad = 0;
        for (int64_t i = 0; i < n; ++i) {
            const float* r = v.data() + i * c * h * w;
            bad += std::all_of(r, r + c * h * w, [](float x) { return std::isfinite(x); }) ? 0 : 1;
            write_heatmap((dir / (file + png_of(i))).string(), r, c, h, w, up, palette);
        }
        if (bad > 0)
            log_warn("the map at hidden layer '", name, "' holds NaN or Inf for ", bad, " of ", n, " samples; their ",
                     "heatmaps show those pixels black");
        listed += str(listed.empty() ? "" : ", ", name, " ", m.shape().str());
    }
    return "wrote the maps at hidden layers (hidden_<layer>.npy and .png, listed in " + std::string(kHiddenList) +
           "): " + listed;
}

std::vector<std::filesystem::path> earlier_hidden_maps(const std::string& dir) {
    std::vector<std::filesystem::path> found;
    const std::filesystem::path list = std::filesystem::path(dir) / kHiddenList;
    if (!std::filesystem::is_regular_file(list)) return found;
    std::ifstream in(list);
    for (std::string f; std::getline(in, f);) {
        const bool plain = f.rfind("hidden_", 0) == 0 && f.find('/') == std::string::npos && f != kHiddenList;
        if (plain && std::filesystem::is_regular_file(std::filesystem::path(dir) / f))
            found.push_back(std::filesystem::path(dir) / f);
    }
    found.push_back(list);
    return found;
}

namespace {
// The number of maps (rows) an earlier explain's relevance.npy in `dir` holds, from its header; -1 when there is no
// readable one.
int64_t earlier_rows(const std::string& dir) {
    std::ifstream in(std::filesystem::path(dir) / "relevance.npy", std::ios::binary);
    std::string head(512, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    std::smatch m;
    static const std::regex shape(R"('shape': \(([0-9]{1,18})[,)])");
    return std::regex_search(head, m, shape) ? std::stoll(m[1].str()) : -1;
}
}  // namespace

// The heatmap_NNNN.png / overlay_NNNN.png files in `dir` as explain names them (four digits, more without a leading
// zero; below the row count of an earlier relevance.npy there), and the hidden-layer maps an earlier --flex-layers
// listed: an earlier explain's maps, none when it is absent. A user's heatmap_20240101.png beside 8 maps is not one
// (such names go to `kept`).
std::vector<std::filesystem::path> earlier_maps(const std::string& dir, std::vector<std::filesystem::path>* kept) {
    static const std::regex ours(R"((heatmap|overlay)_([0-9]{4}|[1-9][0-9]{4,17})\.png)");
    std::vector<std::filesystem::path> found = earlier_hidden_maps(dir);
    if (!std::filesystem::is_directory(dir)) return found;
    const int64_t rows = earlier_rows(dir);
    std::smatch m;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file() || !std::regex_match(name, m, ours)) continue;
        if (rows < 0 || std::stoll(m[2].str()) < rows) found.push_back(e.path());
        else if (kept) kept->push_back(e.path());
    }
    return found;
}

// The temporary files an explain killed while writing left in `dir` (<output>.tmp.<pid>.<n>, of explain's own
// output names only); --force removes them with the earlier maps.
std::vector<std::filesystem::path> leftover_temps(const std::string& dir) {
    static const std::regex temp(
        R"((relevance\.npy|(heatmap|overlay)_[0-9]{4,}\.png|hidden_[A-Za-z0-9._-]+)\.tmp\.[0-9]+\.[0-9]+)");
    std::vector<std::filesystem::path> found;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return found;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.is_regular_file() && std::regex_match(e.path().filename().string(), temp)) found.push_back(e.path());
    return found;
}

}  // namespace lrp::cli
