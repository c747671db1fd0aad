// Image-folder reader (torchvision ImageFolder layout): one subfolder per class, PNG/JPEG decoded with
// stb_image, optional Resize(shorter side) + CenterCrop, optional segmentation masks from a mirrored folder.
// index_image_folder lists the files (for streaming); decode_image turns one file into C x H x W bytes.
#include <stb/stb_image.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "encoded_image.h"
#include "io.h"
#include "lrp/log.h"

namespace lrp::data {

using namespace detail;
namespace fs = std::filesystem;

namespace {

struct StbFree {
    void operator()(unsigned char* p) const { stbi_image_free(p); }
};
struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// One decoded image, interleaved H x W x C.
struct Image {
    std::vector<uint8_t> px;
    int w = 0, h = 0;
};

// A warning about a folder's files, said once per process: a folder without split subfolders is indexed for both
// splits, and said the same twice.
template <class... A>
void warn_once(const A&... a) {
    static std::mutex m;
    static std::set<std::string> said;
    const std::string msg = str(a...);
    {
        const std::lock_guard<std::mutex> lock(m);
        if (!said.insert(msg).second) return;
    }
    log_warn(msg);
}

std::string lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

// Image files lrpcu does not read by default (compared lower-cased); skipping one is warned about.
const std::set<std::string> kOtherImages{".bmp", ".gif", ".webp", ".tif",  ".tiff", ".ppm",
                                         ".pgm", ".pbm", ".jfif", ".jpe",  ".jif"};

std::string ext_list(const std::vector<std::string>& exts) {
    std::string r;
    for (const auto& e : exts) r += (r.empty() ? "" : " ") + e;
    return r;
}

// PIL's decompression-bomb limit: a few hundred bytes of PNG can declare 20000 x 20000 pixels (gigabytes decoded).
constexpr int64_t kMaxImagePixels = 178956970;

// Refuses a file whose header declares more than kMaxImagePixels pixels, before anything is decoded.
void check_declared_size(const std::string& path, const std::vector<uint8_t>& bytes) {
    int w = 0, h = 0, n = 0;
    if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n))
        return;  // the decoder names what is wrong
    LRP_CHECK(int64_t{w} * h <= kMaxImagePixels, path, ": the image declares ", w, " x ", h, " = ", int64_t{w} * h,
              " pixels, more than lrpcu decodes (", kMaxImagePixels, ", PIL's decompression-bomb limit): a damaged ",
              "or hostile file? (scale it down first)");
}

constexpr const char* kNeither = "lrpcu reads PNG and JPEG images, and this file is neither or is damaged";

// A PNG's or JPEG's size from its header, one open: "" or the problem (a file stb_image would take for another
// format is not handed to it).
std::string header_size(const std::string& path, int& w, int& h) {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) return std::string("cannot open: ") + std::strerror(errno);
    uint8_t head[8];
    const size_t n = std::fread(head, 1, sizeof head, f.get());
    std::string why = png_or_jpeg_signature_problem(head, n);
    if (!why.empty()) return why;
    int c = 0;
    if (std::fseek(f.get(), 0, SEEK_SET) != 0 || !stbi_info_from_file(f.get(), &w, &h, &c)) {
        const char* r = stbi_failure_reason();
        return std::string("stb_image: ") + (r ? r : "unknown failure");
    }
    return "";
}

// The file's bytes, checked (encoded_image.h: signature, PNG chunks, at most kMaxImageFileBytes).
std::vector<uint8_t> image_bytes(const std::string& path) {
    std::vector<uint8_t> bytes;
    const ImageProblem e = read_png_or_jpeg(path, bytes);
    LRP_CHECK(!e.open_failed, path, ": cannot open the image (", e.why, "; moved or deleted while lrpcu ran?)");
    LRP_CHECK(!e, path, ": cannot decode image (", e.why, "); ", kNeither);
    check_declared_size(path, bytes);
    return bytes;
}

Image decode(const std::string& path, int channels) {
    const std::vector<uint8_t> bytes = image_bytes(path);
    int w = 0, h = 0, in_channels = 0;
    std::unique_ptr<unsigned char, StbFree> p(
        stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &in_channels, channels));
    if (!p) {
        const char* why = stbi_failure_reason();
        LRP_THROW(path, ": cannot decode image (stb_image: ", why ? why : "unknown failure", "); ", kNeither);
    }
    Image im;
    im.w = w;
    im.h = h;
    im.px.assign(p.get(), p.get() + static_cast<size_t>(w) * h * channels);
    return im;
}

// torchvision Resize(int): the shorter side becomes `target`, the longer int(target * long / short).
void resize_shorter(Image& im, int channels, int target, const std::string& path) {
    const int64_t longer = im.w <= im.h ? int64_t(target) * im.h / im.w : int64_t(target) * im.w / im.h;
    LRP_CHECK(longer <= (int64_t(1) << 20) && longer * target * channels <= (int64_t(1) << 31), path,
              ": resizing ", im.w, "x", im.h, " so the shorter side is ", target, " gives ", target,
              "x", longer, " (too large)");
    const int nw = im.w <= im.h ? target : static_cast<int>(longer);
    const int nh = im.w <= im.h ? static_cast<int>(longer) : target;
    if (nw == im.w && nh == im.h) return;
    std::vector<uint8_t> out = resize_image(im.px.data(), im.w, im.h, channels, nw, nh);
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
    LRP_CHECK(im.w >= crop && im.h >= crop, path, ": image is ", im.w, "x", im.h, resized ? " after resize" : "",
              ", smaller than the ", crop, "x", crop, " crop (use a larger resize, or crop <= resize)");
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

// a == b, or a lies below b (real paths, component by component).
bool within(const fs::path& a, const fs::path& b) {
    return std::mismatch(b.begin(), b.end(), a.begin(), a.end()).first == b.end();
}

// Files of one class folder `dir` (recursively, following directory links) whose lower-cased extension is
// in `exts`, sorted. A linked directory is skipped when its target can be reached without the link (it
// lies inside the class folder), when it is the split folder `split` or one of its parents, or another
// class's folder (`others`) or inside one: a link loop neither repeats images nor labels other classes'
// images as this one. Every real directory is read once. A linked image file whose target lies in another class's
// folder is an error (it would count under two labels). Files of other image types (BMP, GIF, WebP, TIFF, PNM, which
// torchvision's ImageFolder would read, and JPEGs named .jfif, .jpe or .jif) are counted into `skipped` by extension.
std::vector<std::string> image_files(const std::string& dir, const std::vector<std::string>& exts,
                                     const fs::path& split, const std::vector<fs::path>& others,
                                     std::map<std::string, int64_t>& skipped) {
    std::vector<std::string> r;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
    LRP_DATA_CHECK(!ec, dir, kFolderHint, "cannot list the folder (", ec.message(), ")");
    const fs::path root = fs::canonical(dir, ec);
    std::set<fs::path> seen{root};
    for (; it != end; it.increment(ec)) {
        LRP_DATA_CHECK(!ec, dir, kFolderHint, "cannot list the folder (", ec.message(), ")");
        std::error_code ec2;
        // Hidden entries (".*": macOS's ._ files, .ipynb_checkpoints copies, .DS_Store) are no dataset images.
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
            if (it->is_directory(ec2)) it.disable_recursion_pending();
            continue;
        }
        if (it->is_directory(ec2)) {
            const fs::path real = fs::canonical(it->path(), ec2);
            bool skip = ec2 || within(root, real) || within(split, real);
            if (!skip && it->is_symlink(ec2)) {
                skip = within(real, root);
                for (const fs::path& o : others) skip = skip || within(real, o);
            }
            if (skip || !seen.insert(real).second) it.disable_recursion_pending();
            continue;
        }
        const std::string e = lower(it->path().extension().string());
        const bool image = std::find(exts.begin(), exts.end(), e) != exts.end();
        // An image that is a link to nothing would silently shrink the dataset (a corrupt image is an error too).
        LRP_DATA_CHECK(!image || !it->is_symlink(ec2) || fs::exists(it->path(), ec2), it->path().string(), kFolderHint,
                       "a link that points to nothing (an image that was moved or deleted?)");
        if (!it->is_regular_file(ec2)) continue;
        if (image && it->is_symlink(ec2)) {
            const fs::path target = fs::canonical(it->path(), ec2);
            for (const fs::path& o : others)
                LRP_DATA_CHECK(ec2 || !within(target, o), it->path().string(), kFolderHint, "a link to ", target.string(),
                               ", an image in the class folder ", o.string(), ": it would count under two labels");
        }
        if (image) r.push_back(it->path().string());
        else if (kOtherImages.count(e)) ++skipped[e];
    }
    std::sort(r.begin(), r.end());
    return r;
}

constexpr const char* kMaskHint =
    "Masks (--masks): a folder that mirrors the image folder, one PNG per image at the image's path relative to "
    "its image folder with the extension .png, of the image's size; foreground where a colour channel is nonzero";

// The mask of <dir>/<rel>.<ext>: <mask_dir>/<rel>.png.
std::string mask_path_for(const std::string& image, const std::string& dir, const std::string& mask_dir) {
    fs::path m = fs::path(mask_dir) / fs::path(image).lexically_relative(dir);
    m.replace_extension(".png");
    return m.string();
}

// The masks of every file of the index, checked before any is decoded (a streamed run would meet a bad one
// mid-epoch): each exists (the error names the first missing ones and their count), belongs to one image
// only, and its header is readable and gives its image's size (an image whose own header cannot be read is
// left to decoding, which names it).
std::vector<std::string> find_masks(const std::vector<std::string>& files, const std::string& dir,
                                    const std::string& mask_dir) {
    LRP_DATA_CHECK(is_dir(mask_dir), mask_dir, kMaskHint, "mask folder not found (the masks of ", dir, ")");
    std::vector<std::string> masks, missing;
    std::map<std::string, std::string> owner;  // mask -> its image
    for (const std::string& f : files) {
        masks.push_back(mask_path_for(f, dir, mask_dir));
        const auto [it, fresh] = owner.emplace(masks.back(), f);
        LRP_DATA_CHECK(fresh, masks.back(), kMaskHint, "the images ", it->second, " and ", f, " would share this mask ",
                       "(the same name with another extension): rename one of them");
        std::error_code ec;
        if (!fs::is_regular_file(masks.back(), ec)) missing.push_back(masks.back() + " (of " + f + ")");
    }
    if (!missing.empty()) {
        std::string some;
        for (size_t k = 0; k < std::min<size_t>(3, missing.size()); ++k) some += (k ? ", " : "") + missing[k];
        LRP_DATA_THROW(mask_dir, kMaskHint, missing.size(), " of the ", files.size(), " images have no mask: ", some,
                       missing.size() > 3 ? ", ..." : "");
    }
    for (size_t i = 0; i < files.size(); ++i) {
        int mw = 0, mh = 0, iw = 0, ih = 0;
        std::string why = header_size(masks[i], mw, mh);
        if (!why.empty()) LRP_DATA_THROW(masks[i], kMaskHint, "cannot decode the mask (", why, ")");
        if (!header_size(files[i], iw, ih).empty()) continue;  // the image's own error comes when it is decoded
        LRP_DATA_CHECK(mw == iw && mh == ih, masks[i], kMaskHint, "the mask is ", mw, "x", mh, " but its image ",
                       files[i], " is ", iw, "x", ih, " (the mask must cover the image pixel for pixel)");
    }
    return masks;
}

// A mask file as one byte per pixel: 255 where some colour channel is nonzero (alpha is ignored), else 0; at
// its own bit depth (a 16-bit label map of 0 and 1 keeps its ones) and channel count (a dark colour counts).
Image read_mask(const std::string& path) {
    std::vector<uint8_t> bytes;
    const ImageProblem e = read_png_or_jpeg(path, bytes);
    if (e) LRP_DATA_THROW(path, kMaskHint, "cannot ", e.open_failed ? "open" : "decode", " the mask (", e.why, ")");
    check_declared_size(path, bytes);
    int w = 0, h = 0, n = 0;
    const int len = static_cast<int>(bytes.size());
    const bool wide = stbi_is_16_bit_from_memory(bytes.data(), len) != 0;
    std::unique_ptr<unsigned char, StbFree> p(
        wide ? reinterpret_cast<unsigned char*>(stbi_load_16_from_memory(bytes.data(), len, &w, &h, &n, 0))
             : stbi_load_from_memory(bytes.data(), len, &w, &h, &n, 0));
    if (!p) {
        const char* why = stbi_failure_reason();
        LRP_DATA_THROW(path, kMaskHint, "cannot decode the mask (stb_image: ", why ? why : "unknown failure", ")");
    }
    const int colour = (n == 2 || n == 4) ? n - 1 : n;
    Image m;
    m.w = w;
    m.h = h;
    m.px.resize(static_cast<size_t>(w) * h);
    const auto* p16 = reinterpret_cast<const uint16_t*>(p.get());
    for (size_t i = 0; i < m.px.size(); ++i) {
        bool fg = false;
        for (int c = 0; c < colour; ++c) fg = fg || (wide ? p16[i * n + c] : p.get()[i * n + c]) != 0;
        m.px[i] = fg ? 255 : 0;
    }
    return m;
}

// The mask `mpath` of the image `ipath` (w x h before resize/crop), resized and cropped as the image is:
// H x W bytes, 255 where the image is foreground, else 0.
std::vector<uint8_t> decode_mask(const std::string& mpath, const std::string& ipath, int w, int h,
                                 const FolderOptions& o) {
    Image m = read_mask(mpath);
    LRP_DATA_CHECK(m.w == w && m.h == h, mpath, kMaskHint, "the mask is ", m.w, "x", m.h, " but its image ", ipath,
                   " is ", w, "x", h, " (the mask must cover the image pixel for pixel)");
    if (o.resize > 0) {
        resize_shorter(m, 1, o.resize, mpath);
        for (uint8_t& v : m.px) v = v >= 128 ? 255 : 0;  // foreground where it held at least half the weight
    }
    if (o.crop > 0) center_crop(m, 1, o.crop, mpath, o.resize > 0);
    return std::move(m.px);
}

// An image decoded at its file's size, resized and cropped as `o` says, made planar.
DecodedImage finish(Image im, const FolderOptions& o, const std::string& path) {
    const int C = o.channels;
    if (o.resize > 0) resize_shorter(im, C, o.resize, path);
    if (o.crop > 0) center_crop(im, C, o.crop, path, o.resize > 0);
    // Interleaved H x W x C -> planar C x H x W.
    DecodedImage r;
    r.channels = C;
    r.height = im.h;
    r.width = im.w;
    r.px.resize(static_cast<size_t>(C) * im.h * im.w);
    const int64_t hw = int64_t(im.h) * im.w;
    for (int c = 0; c < C; ++c)
        for (int64_t p = 0; p < hw; ++p) r.px[c * hw + p] = im.px[p * C + c];
    return r;
}

}  // namespace

DecodedImage decode_image(const std::string& path, const FolderOptions& o) {
    return finish(decode(path, o.channels), o, path);
}

FolderIndex index_image_folder(const std::string& dir, const FolderOptions& o) {
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
    int64_t loose = 0;  // image files beside the class folders: in no class
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code ec2;
        const std::string n = it->path().filename().string();
        if (n.empty() || n[0] == '.') continue;
        if (it->is_directory(ec2)) {
            classes.push_back(n);
            continue;
        }
        LRP_DATA_CHECK(!it->is_symlink(ec2) || fs::exists(it->path(), ec2), it->path().string(), kFolderHint,
                       "a link that points to nothing (a class folder that was moved?)");
        const std::string e = lower(it->path().extension().string());
        if (std::find(exts.begin(), exts.end(), e) != exts.end() || kOtherImages.count(e)) ++loose;
    }
    LRP_DATA_CHECK(!ec, dir, kFolderHint, "cannot list the folder (", ec.message(), ")");
    LRP_DATA_CHECK(!classes.empty(), dir, kFolderHint, "no class subfolders (empty image folder)");
    std::sort(classes.begin(), classes.end());
    if (loose > 0)
        warn_once(dir, ": ", loose, " image file(s) lie beside the class folders, in none of them, and are not used ",
                  "(each class's images go into its own subfolder)");

    FolderIndex ix;
    ix.name = "folder:" + dir;
    ix.class_names = classes;
    ix.options = o;
    ix.options.extensions = exts;
    std::vector<fs::path> real;  // the split folder and each class folder, links resolved
    for (const std::string& c : classes) real.push_back(fs::canonical(join(dir, c), ec));
    const fs::path split = fs::canonical(dir, ec);
    // A class folder linked to the split folder (or a parent), to another class, or into one would count
    // images twice under different labels.
    for (size_t c = 0; c < classes.size(); ++c)
        LRP_DATA_CHECK(!within(split, real[c]), join(dir, classes[c]), kFolderHint, "class folder '", classes[c],
                       "' is a link to the image folder itself or a folder above it");
    for (size_t c = 0; c < classes.size(); ++c)
        for (size_t o = 0; o < classes.size(); ++o) {
            if (o == c || !within(real[c], real[o])) continue;
            const bool c_link = fs::is_symlink(join(dir, classes[c]), ec);  // name the link, where one is
            const std::string& l = c_link ? classes[c] : classes[o];
            const std::string& r = c_link ? classes[o] : classes[c];
            LRP_DATA_THROW(join(dir, l), kFolderHint, "class folders '", l, "' and '", r, "' are the same folder, ",
                           "or one lies inside the other: their images would count twice");
        }
    std::map<std::string, int64_t> skipped;  // image files of other types, by extension
    for (size_t c = 0; c < classes.size(); ++c) {
        const std::string cdir = join(dir, classes[c]);
        std::vector<fs::path> others = real;
        others.erase(others.begin() + static_cast<std::ptrdiff_t>(c));
        std::vector<std::string> f = image_files(cdir, exts, split, others, skipped);
        LRP_DATA_CHECK(!f.empty(), cdir, kFolderHint, "class folder '", classes[c], "' holds no image files (",
                       ext_list(exts), ")");
        ix.files.insert(ix.files.end(), f.begin(), f.end());
        ix.labels.insert(ix.labels.end(), f.size(), static_cast<int32_t>(c));
    }
    if (!skipped.empty()) {
        std::string what;
        for (const auto& [e, n] : skipped) what += (what.empty() ? "" : ", ") + std::to_string(n) + " " + e;
        const bool jpeg = skipped.count(".jfif") || skipped.count(".jpe") || skipped.count(".jif");
        warn_once(dir, ": skipped ", what, " file(s); lrpcu reads ", ext_list(exts), " (convert them to PNG to use them",
                  jpeg ? "; .jfif, .jpe and .jif files are JPEGs: rename them to .jpg" : "", ")");
    }
    if (!o.mask_dir.empty()) ix.mask_files = find_masks(ix.files, dir, o.mask_dir);
    // The output size: what the first image comes out at (every other image must match it).
    const DecodedImage first = decode_image(ix.files[0], o);
    ix.channels = first.channels;
    ix.height = first.height;
    ix.width = first.width;
    ix.size_reference = ix.files[0];
    return ix;
}

void decode_indexed(const FolderIndex& ix, int64_t i, uint8_t* dst, uint8_t* mask_dst) {
    LRP_CHECK(i >= 0 && i < ix.size(), "decode_indexed: image ", i, " out of range for '", ix.name, "' of ",
              ix.size(), " images");
    LRP_CHECK(!mask_dst || ix.mask_files.size() == ix.files.size(), "decode_indexed: a mask asked of '", ix.name,
              "', which has ", ix.mask_files.size(), " masks for ", ix.files.size(), " images");
    const std::string& path = ix.files[static_cast<size_t>(i)];
    const FolderOptions& o = ix.options;
    Image raw = decode(path, o.channels);
    const int raw_w = raw.w, raw_h = raw.h;
    DecodedImage im = finish(std::move(raw), o, path);
    LRP_DATA_CHECK(im.width == ix.width && im.height == ix.height, path, kFolderHint, "image is ", im.width, "x",
                   im.height, (o.resize > 0 || o.crop > 0) ? " after resize/crop" : "", ", but ", ix.size_reference,
                   " is ", ix.width, "x", ix.height,
                   "; all images must end up the same size (use the resize and crop options)");
    std::memcpy(dst, im.px.data(), im.px.size());
    if (mask_dst) {
        const std::vector<uint8_t> m = decode_mask(ix.mask_files[static_cast<size_t>(i)], path, raw_w, raw_h, o);
        std::memcpy(mask_dst, m.data(), m.size());  // the image's size was checked, and the mask's against it
    }
}

Dataset load_folder_index(const FolderIndex& ix) {
    LRP_CHECK(ix.size() > 0 && ix.labels.size() == ix.files.size(), "load_folder_index: index '", ix.name,
              "' is empty or inconsistent");
    Dataset d;
    d.name = ix.name;
    d.num_classes = ix.num_classes();
    d.class_names = ix.class_names;
    const int64_t n = ix.size();
    d.images = Tensor::empty(Shape{n, ix.channels, ix.height, ix.width}, DType::U8);
    uint8_t* dst = d.images.data<uint8_t>();
    const bool masks = !ix.mask_files.empty();
    const int64_t hw = int64_t(ix.height) * ix.width;
    if (masks) d.masks = Tensor::empty(Shape{n, 1, ix.height, ix.width}, DType::U8);
    uint8_t* mdst = masks ? d.masks.data<uint8_t>() : nullptr;
    for (int64_t i = 0; i < n; ++i)
        decode_indexed(ix, i, dst + i * ix.image_bytes(), masks ? mdst + i * hw : nullptr);
    d.labels = Tensor::from_vector(ix.labels, Shape{n});
    compute_mean_std(d.images, d.mean, d.std);
    return d;
}

Dataset load_image_folder(const std::string& dir, const FolderOptions& o) {
    return load_folder_index(index_image_folder(dir, o));
}

}  // namespace lrp::data
