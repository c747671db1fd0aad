// UTF-8 validation and escaping for messages (utf8.h).
#include "lrp/utf8.h"

#include <cstdio>

namespace lrp {

namespace {
// Length of the well-formed UTF-8 sequence at s[i], 0 when none starts there.
size_t sequence_at(const std::string& s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) n = 3, lo = 0xA0;
    else if (c == 0xED) n = 3, hi = 0x9F;  // no surrogates
    else if (c >= 0xE1 && c <= 0xEF) n = 3;
    else if (c == 0xF0) n = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) n = 4, hi = 0x8F;  // nothing above U+10FFFF
    else return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    return n;
}
}  // namespace

bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const size_t n = sequence_at(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string escaped_bytes(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
        const size_t n = sequence_at(s, i);
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (n > 1 || (n == 1 && c >= 0x20 && c != 0x7F)) {
            out.append(s, i, n);
            i += n;
            continue;
        }
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02X", c);
        out += buf;
        ++i;
    }
    return out;
}

}  // namespace lrp
