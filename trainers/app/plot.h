// A small hand-rasterised line plot written as PNG (used for `lrpcu eval --occlusion`): white background,
// axes box, light grid at 0.25 steps over [0, 1] x [0, 1], 2-px polylines with point markers, a legend and
// tick labels in a built-in 5x7 bitmap font (digits, . , : - % ( ) / = _ and A-Z; lower case is
// drawn as upper case, anything else as a space).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lrp::cli {

struct PlotSeries {
    std::string label;        // legend text
    std::vector<double> x, y;  // points in [0, 1] x [0, 1] (clamped), drawn in order
    uint8_t rgb[3] = {0, 0, 0};
};

// Writes a 640 x 480 RGB PNG; throws naming the path when it cannot be written.
void write_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<PlotSeries>& series);

}  // namespace lrp::cli
