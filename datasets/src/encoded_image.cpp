// PNG/JPEG signature and PNG chunk checks on whole files, before stb_image decodes them (encoded_image.h).
#include "encoded_image.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <sstream>

namespace lrp::data::detail {

namespace {
constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

bool is_png(const uint8_t* p, size_t n) { return n >= 8 && std::memcmp(p, kPngSignature, 8) == 0; }
bool is_jpeg(const uint8_t* p, size_t n) { return n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff; }

// "" when the first bytes are a PNG or JPEG signature, else what they are not.
std::string signature_problem(const uint8_t* p, size_t n) {
    if (is_png(p, n) || is_jpeg(p, n)) return "";
    if (n == 0) return "the file is empty";
    std::ostringstream s;
    s << "not a PNG or JPEG file: it starts with";
    char hex[4];
    for (size_t i = 0; i < std::min<size_t>(n, 8); ++i) {
        std::snprintf(hex, sizeof hex, " %02x", p[i]);
        s << hex;
    }
    return s.str();
}

uint32_t be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

bool letter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// The PNG chunk walk: "" or the first problem. Ancillary chunks' CRCs are not checked (stb_image only reads
// tRNS of them, and libpng merely warns), nor is anything after IEND. A file without IEND is truncated (stb_image
// decodes nothing without it, and says nothing about why).
std::string png_problem(const std::vector<uint8_t>& b) {
    size_t at = 8;
    while (at < b.size()) {
        if (b.size() - at < 12) return "truncated PNG (the file ends inside a chunk header at byte " +
                                       std::to_string(at) + ")";
        const uint32_t len = be32(&b[at]);
        const uint8_t* type = &b[at + 4];
        const std::string name(reinterpret_cast<const char*>(type), 4);
        if (!letter(type[0]) || !letter(type[1]) || !letter(type[2]) || !letter(type[3]))
            return "damaged PNG (no chunk type at byte " + std::to_string(at + 4) + ")";
        if (len > 0x7fffffffu) return "damaged PNG (chunk " + name + " at byte " + std::to_string(at) +
                                      " declares " + std::to_string(len) + " bytes)";
        if (b.size() - at - 12 < len)
            return "truncated PNG (chunk " + name + " at byte " + std::to_string(at) + " declares " +
                   std::to_string(len) + " bytes, the file holds " + std::to_string(b.size() - at - 12) + " more)";
        const bool critical = (type[0] & 0x20) == 0;
        if (critical) {
            const uLong crc = crc32(crc32(0L, Z_NULL, 0), type, static_cast<uInt>(len + 4));
            if (crc != be32(&b[at + 8 + len]))
                return "damaged PNG (the CRC of chunk " + name + " at byte " + std::to_string(at) +
                       " does not match its data)";
        }
        if (name == "IEND") return "";
        at += size_t(len) + 12;
    }
    return "truncated PNG (no IEND chunk: the file ends after " + std::to_string(b.size()) + " bytes)";
}
}  // namespace

ImageProblem read_png_or_jpeg(const std::string& path, std::vector<uint8_t>& bytes) {
    ImageProblem r;
    bytes.clear();
    errno = 0;
    File f(std::fopen(path.c_str(), "rb"));
    if (!f) {
        r.open_failed = true;
        r.why = std::strerror(errno);
        return r;
    }
    // The size first: stb_image takes an int length, and a file of gigabytes (data after IEND) is not read whole.
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxImageFileBytes) {
        r.why = "the file is " + std::to_string(size) + " bytes, more than lrpcu reads as an image (" +
                std::to_string(kMaxImageFileBytes) + ")";
        return r;
    }
    try {
        if (!ec) bytes.reserve(static_cast<size_t>(size));
        uint8_t buf[1 << 16];
        size_t got = 0;
        while ((got = std::fread(buf, 1, sizeof buf, f.get())) > 0 && bytes.size() <= kMaxImageFileBytes)
            bytes.insert(bytes.end(), buf, buf + got);
    } catch (const std::bad_alloc&) {
        r.why = "not enough memory to read its " + std::to_string(size) + " bytes";
        return r;
    }
    if (bytes.size() > kMaxImageFileBytes) {  // (it grew while being read)
        r.why = "the file is more than " + std::to_string(kMaxImageFileBytes) + " bytes";
        return r;
    }
    if (std::ferror(f.get())) {
        r.open_failed = true;
        r.why = std::string("read error: ") + std::strerror(errno);
        return r;
    }
    r.why = signature_problem(bytes.data(), bytes.size());
    if (r.why.empty() && is_png(bytes.data(), bytes.size())) r.why = png_problem(bytes);
    return r;
}

std::string png_or_jpeg_signature_problem(const uint8_t* head, size_t n) { return signature_problem(head, n); }

}  // namespace lrp::data::detail
