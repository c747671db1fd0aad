// Image-folder reader (torchvision ImageFolder layout): one subfolder per class, PNG/JPEG decoded with
// stb_image, optional Resize(shorter side) + CenterCrop, into U8 N x C x H x W.
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <memory>

#include "io.h"

namespace lrp::data {

using namespace detail;
namespace fs = std::filesystem;

namespace {

struct StbFree {
    void operator()(unsigned char* p) const { stbi_image_free(p); }
};

// One decoded image, interleaved H x W x C.
struct Image {
    std::vector<uint8_t> px;
    int w = 0, h = 0;
};

std::string lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

std::string ext_list(const std::vector<std::string>& exts) {
    std::string r;
    for (const auto& e : exts) r += (r.empty() ? "" : " ") + e;
    return r;
}

Image decode(const std::string& path, int channels) {
    int w = 0, h = 0, in_channels = 0;
    std::unique_ptr<unsigned char, StbFree> p(stbi_load(path.c_str(), &w, &h, &in_channels, channels));
    if (!p) {
        const char* why = stbi_failure_reason();
        LRP_DATA_THROW(path, kFolderHint, "cannot decode image (stb_image: ", why ? why : "unknown failure", ")");
    }
    Image im;
    im.w = w;
    im.h = h;
    im.px.assign(p.get(), p.get() + static_cast<size_t>(w) * h * channels);
    return im;
}

// torchvision Resize(int): the shorter side becomes `target`, the longer int(target * long / short).
void resize_shorter(Image& im, int channels, int target, const std::string& path) {
    int nw, nh;
    if (im.w <= im.h) {
        nw = target;
        nh = static_cast<int>(int64_t(target) * im.h / im.w);
    } else {
        nh = target;
        nw = static_cast<int>(int64_t(target) * im.w / im.h);
    }
    if (nw == im.w && nh == im.h) return;
    std::vector<uint8_t> out(static_cast<size_t>(nw) * nh * channels);
    const int alpha = channels == 4 ? 3 : channels == 2 ? 1 : STBIR_ALPHA_CHANNEL_NONE;
    const int ok = stbir_resize_uint8_generic(im.px.data(), im.w, im.h, 0, out.data(), nw, nh, 0, channels, alpha, 0,
                                              STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR,
                                              nullptr);
    LRP_DATA_CHECK(ok == 1, path, kFolderHint, "stb_image_resize failed to resize ", im.w, "x", im.h, " to ", nw,
                   "x", nh);
    im.px.swap(out);
    im.w = nw;
    im.h = nh;
}

// Python's round() of k/2 (half to even), as torchvision CenterCrop computes its offsets.
int half_round_even(int k) {
    const int q = k / 2;
    return (k % 2 == 0 || q % 2 == 0) ? q : q + 1;
}

void center_crop(Image& im, int channels, int crop, const std::string& path, bool resized) {
    LRP_DATA_CHECK(im.w >= crop && im.h >= crop, path, kFolderHint, "image is ", im.w, "x", im.h,
                   resized ? " after resize" : "", ", smaller than the ", crop, "x", crop,
                   " crop (use a larger resize, or crop <= resize)");
    if (im.w == crop && im.h == crop) return;
    const int top = half_round_even(im.h - crop), left = half_round_even(im.w - crop);
    std::vector<uint8_t> out(static_cast<size_t>(crop) * crop * channels);
    for (int y = 0; y < crop; ++y)
        std::memcpy(out.data() + static_cast<size_t>(y) * crop * channels,
                    im.px.data() + (static_cast<size_t>(top + y) * im.w + left) * channels,
                    static_cast<size_t>(crop) * channels);
    im.px.swap(out);
    im.w = im.h = crop;
}

// Files under `dir` (recursively) whose lower-cased extension is in `exts`, sorted.
std::vector<std::string> image_files(const std::string& dir, const std::vector<std::string>& exts) {
    std::vector<std::string> r;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
    LRP_DATA_CHECK(!ec, dir, kFolderHint, "cannot list the folder (", ec.message(), ")");
    for (; it != end; it.increment(ec)) {
        LRP_DATA_CHECK(!ec, dir, kFolderHint, "cannot list the folder (", ec.message(), ")");
        std::error_code ec2;
        if (!it->is_regular_file(ec2)) continue;
        const std::string e = lower(it->path().extension().string());
        if (std::find(exts.begin(), exts.end(), e) != exts.end()) r.push_back(it->path().string());
    }
    std::sort(r.begin(), r.end());
    return r;
}

}  // namespace

Dataset load_image_folder(const std::string& dir, const FolderOptions& o) {
    LRP_CHECK(o.resize >= 0 && o.crop >= 0, "load_image_folder: resize ", o.resize, " and crop ", o.crop,
              " must be >= 0 (0 = off)");
    LRP_CHECK(o.channels >= 1 && o.channels <= 4, "load_image_folder: channels ", o.channels,
              " must be 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA)");
    LRP_CHECK(!o.extensions.empty(), "load_image_folder: no file extensions given");
    std::vector<std::string> exts;
    for (const auto& e : o.extensions) exts.push_back(lower(e.empty() || e[0] == '.' ? e : "." + e));

    LRP_DATA_CHECK(is_dir(dir), dir, kFolderHint, "image folder not found");
    // Class folders: the sorted names of the subdirectories (hidden ones, ".*", are skipped).
    std::vector<std::string> classes;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code ec2;
        const std::string n = it->path().filename().string();
        if (it->is_directory(ec2) && !n.empty() && n[0] != '.') classes.push_back(n);
    }
    LRP_DATA_CHECK(!ec, dir, kFolderHint, "cannot list the folder (", ec.message(), ")");
    LRP_DATA_CHECK(!classes.empty(), dir, kFolderHint, "no class subfolders (empty image folder)");
    std::sort(classes.begin(), classes.end());

    std::vector<std::string> files;
    std::vector<int32_t> labels;
    for (size_t c = 0; c < classes.size(); ++c) {
        const std::string cdir = join(dir, classes[c]);
        std::vector<std::string> f = image_files(cdir, exts);
        LRP_DATA_CHECK(!f.empty(), cdir, kFolderHint, "class folder '", classes[c], "' holds no image files (",
                       ext_list(exts), ")");
        files.insert(files.end(), f.begin(), f.end());
        labels.insert(labels.end(), f.size(), static_cast<int32_t>(c));
    }

    Dataset d;
    d.name = "folder:" + dir;
    d.num_classes = static_cast<int>(classes.size());
    d.class_names = classes;
    const int C = o.channels;
    const int64_t n = static_cast<int64_t>(files.size());
    int H = 0, W = 0;
    uint8_t* dst = nullptr;
    for (int64_t i = 0; i < n; ++i) {
        const std::string& path = files[i];
        Image im = decode(path, C);
        if (o.resize > 0) resize_shorter(im, C, o.resize, path);
        if (o.crop > 0) center_crop(im, C, o.crop, path, o.resize > 0);
        if (i == 0) {
            H = im.h;
            W = im.w;
            d.images = Tensor::empty(Shape{n, C, H, W}, DType::U8);
            dst = d.images.data<uint8_t>();
        }
        LRP_DATA_CHECK(im.w == W && im.h == H, path, kFolderHint, "image is ", im.w, "x", im.h,
                       (o.resize > 0 || o.crop > 0) ? " after resize/crop" : "", ", but ", files[0], " is ", W,
                       "x", H, "; all images must end up the same size (use the resize and crop options)");
        // Interleaved H x W x C -> planar C x H x W.
        uint8_t* out = dst + i * int64_t(C) * H * W;
        for (int c = 0; c < C; ++c)
            for (int64_t p = 0; p < int64_t(H) * W; ++p) out[c * int64_t(H) * W + p] = im.px[p * C + c];
    }
    d.labels = Tensor::from_vector(labels, Shape{n});
    compute_mean_std(d.images, d.mean, d.std);
    return d;
}

}  // namespace lrp::data
