// Strict number parsing for flags, specs and configs: the whole text must be one finite number
// ("1e-3", "-0.5"); "", "1.5x", "nan" and "inf" are not.
#pragma once
#include <optional>
#include <string>

namespace lrp {

std::optional<float> parse_finite_float(const std::string& text);

}  // namespace lrp
