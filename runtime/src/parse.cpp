// parse_finite_float: std::strtof over the whole text, decimal notation and finite results only (a value too small
// for a float, such as 1e-50, reads as what strtof gives: 0 or a subnormal, as PyTorch's float32 would hold it).
#include "lrp/parse.h"

#include <cmath>
#include <cstdlib>

namespace lrp {

std::optional<float> parse_finite_float(const std::string& text) {
    // Decimal notation only: strtof also skips leading white space and reads hex ("0x10" as 16, "0x1p3" as 8).
    if (text.find_first_not_of("0123456789+-.eE") != std::string::npos) return std::nullopt;
    char* end = nullptr;
    const float v = std::strtof(text.c_str(), &end);
    const size_t used = static_cast<size_t>(end - text.c_str());
    if (used == 0 || used != text.size() || !std::isfinite(v)) return std::nullopt;  // overflow gives Inf
    return v;
}

}  // namespace lrp
