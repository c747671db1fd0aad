// PNG/JPEG files as stb_image gets them: read whole, the format checked by its signature and, for PNG, each
// critical chunk's CRC verified. Private to lrp_datasets.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lrp::data::detail {

// Why a file cannot be handed to the decoder: open_failed (errno's text in why) or a format problem in why.
struct ImageProblem {
    bool open_failed = false;
    std::string why;  // empty: no problem
    explicit operator bool() const { return open_failed || !why.empty(); }
};

// Reads `path` whole into `bytes` and checks it before stb_image sees it:
// - it must start with the PNG or the JPEG signature. stb_image guesses the format from the content and also
//   decodes PNM, HDR, PSD, PIC, GIF, TGA and BMP, whose decoders in Debian's libstb crash or spin forever on a
//   few crafted bytes (CVE-2021-42715, CVE-2021-42716); lrpcu reads PNG and JPEG only;
// - a PNG's chunks must lie inside the file, and each critical chunk's CRC must match (stb_image checks none,
//   so a bit flipped on disk would decode to wrong pixels; libpng refuses such a file too).
// A file larger than kMaxImageFileBytes (1 GiB; stb_image's length is an int) is refused before it is read.
ImageProblem read_png_or_jpeg(const std::string& path, std::vector<uint8_t>& bytes);
constexpr size_t kMaxImageFileBytes = size_t{1} << 30;

// The signature check alone on a file's first n bytes (n >= 8 to tell PNG): "" or the problem.
std::string png_or_jpeg_signature_problem(const uint8_t* head, size_t n);

}  // namespace lrp::data::detail
