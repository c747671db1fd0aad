// parse_finite_float: std::strtof over the whole text, finite results only (a value too small for a float, such
// as 1e-50, reads as what strtof gives: 0 or a subnormal, as PyTorch's float32 would hold it).
#include "lrp/parse.h"

#include <cmath>
#include <cstdlib>

namespace lrp {

std::optional<float> parse_finite_float(const std::string& text) {
    char* end = nullptr;
    const float v = std::strtof(text.c_str(), &end);
    const size_t used = static_cast<size_t>(end - text.c_str());
    if (used == 0 || used != text.size() || !std::isfinite(v)) return std::nullopt;  // overflow gives Inf
    return v;
}

}  // namespace lrp
