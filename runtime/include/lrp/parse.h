// Strict number parsing for flags, specs and configs: the whole text must be one finite number
// in decimal notation, blanks around it allowed ("1e-3", "-0.5", "+2", " 3 "); "", "0x10", "1.5x", "3 4", "nan" and
// "inf" are not.
#pragma once
#include <optional>
#include <string>

namespace lrp {

std::optional<float> parse_finite_float(const std::string& text);

}  // namespace lrp
