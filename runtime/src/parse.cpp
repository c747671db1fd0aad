// parse_finite_float: std::strtof over the whole text, decimal notation and finite results only (a value too small
// for a float, such as 1e-50, reads as what strtof gives: 0 or a subnormal, as PyTorch's float32 would hold it).
#include "lrp/parse.h"

#include <cmath>
#include <cstdlib>

namespace lrp {

std::optional<float> parse_finite_float(const std::string& text) {
    // Blanks around the number are allowed, as Python's float() allows them ("0.5, 0.3" split at the commas).
    const char* blanks = " \t\n\r\f\v";
    const size_t first = text.find_first_not_of(blanks);
    if (first == std::string::npos) return std::nullopt;
    const std::string t = text.substr(first, text.find_last_not_of(blanks) - first + 1);
    // Decimal notation only: strtof also reads hex ("0x10" as 16, "0x1p3" as 8), "inf" and "nan".
    if (t.find_first_not_of("0123456789+-.eE") != std::string::npos) return std::nullopt;
    char* end = nullptr;
    const float v = std::strtof(t.c_str(), &end);
    const size_t used = static_cast<size_t>(end - t.c_str());
    if (used == 0 || used != t.size() || !std::isfinite(v)) return std::nullopt;  // overflow gives Inf
    return v;
}

}  // namespace lrp
