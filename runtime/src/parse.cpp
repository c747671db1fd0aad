// parse_finite_float: std::stof over the whole text, finite results only.
#include "lrp/parse.h"

#include <cmath>
#include <stdexcept>

namespace lrp {

std::optional<float> parse_finite_float(const std::string& text) {
    size_t used = 0;
    float v = 0.f;
    try {
        v = std::stof(text, &used);
    } catch (const std::exception&) {  // invalid_argument, out_of_range
        return std::nullopt;
    }
    if (used == 0 || used != text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

}  // namespace lrp
