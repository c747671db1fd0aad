// write_line_plot: a 640 x 480 canvas, a 5x7 bitmap font drawn at 2x, Bresenham lines stamped 2 px wide,
// written through train::write_png_rgb (stb_image_write).
#include "plot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "lrp/train/preview.h"

namespace lrp::cli {

namespace {
struct Glyph {
    char c;
    uint8_t rows[7];  // top to bottom; bit 4 is the leftmost column
};
constexpr Glyph kFont[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}}, {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
    {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}}, {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}},
    {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}}, {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
    {'A', {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
};
constexpr int kScale = 2;               // font pixels per glyph pixel
constexpr int kAdvance = 6 * kScale;    // 5 columns + 1 of spacing
constexpr int kTextH = 7 * kScale;

const Glyph* glyph(char c) {
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const Glyph& g : kFont)
        if (g.c == u) return &g;
    return nullptr;  // a space
}

class Canvas {
public:
    Canvas(int w, int h) : w_(w), h_(h), px_(static_cast<size_t>(w) * h * 3, 255) {}
    void set(int x, int y, const uint8_t* c) {
        if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
        std::copy(c, c + 3, px_.begin() + (static_cast<size_t>(y) * w_ + x) * 3);
    }
    void rect(int x0, int y0, int x1, int y1, const uint8_t* c) {  // filled, inclusive
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x) set(x, y, c);
    }
    // A line `width` px wide: every Bresenham point stamps a width x width square.
    void line(int x0, int y0, int x1, int y1, const uint8_t* c, int width) {
        const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        const int lo = -(width - 1) / 2, hi = width / 2;
        for (int err = dx + dy;;) {
            rect(x0 + lo, y0 + lo, x0 + hi, y0 + hi, c);
            if (x0 == x1 && y0 == y1) break;
            const int e2 = 2 * err;
            if (e2 >= dy) err += dy, x0 += sx;
            if (e2 <= dx) err += dx, y0 += sy;
        }
    }
    void text(int x, int y, const std::string& s, const uint8_t* c) {  // (x, y): top left
        for (char ch : s) {
            if (const Glyph* g = glyph(ch))
                for (int r = 0; r < 7; ++r)
                    for (int col = 0; col < 5; ++col)
                        if (g->rows[r] & (0x10 >> col))
                            rect(x + col * kScale, y + r * kScale, x + col * kScale + kScale - 1,
                                 y + r * kScale + kScale - 1, c);
            x += kAdvance;
        }
    }
    static int text_width(const std::string& s) { return static_cast<int>(s.size()) * kAdvance - kScale; }
    const std::vector<uint8_t>& pixels() const { return px_; }

private:
    int w_, h_;
    std::vector<uint8_t> px_;
};

std::string tick(double v) {
    char b[16];
    std::snprintf(b, sizeof b, "%g", v);
    return b;
}
}  // namespace

void write_line_plot(const std::string& path, const std::string& title, const std::string& x_label,
                     const std::string& y_label, const std::vector<PlotSeries>& series) {
    constexpr int kW = 640, kH = 480, L = 90, R = 610, T = 76, B = 404;  // the plot box
    const uint8_t black[3] = {0, 0, 0}, grid[3] = {222, 222, 222}, grey[3] = {90, 90, 90};
    Canvas cv(kW, kH);
    auto px = [&](double x) { return L + static_cast<int>(std::lround(std::clamp(x, 0.0, 1.0) * (R - L))); };
    auto py = [&](double y) { return B - static_cast<int>(std::lround(std::clamp(y, 0.0, 1.0) * (B - T))); };

    for (int i = 1; i < 4; ++i) {  // grid at 0.25, 0.5, 0.75
        cv.line(px(i / 4.0), T, px(i / 4.0), B, grid, 1);
        cv.line(L, py(i / 4.0), R, py(i / 4.0), grid, 1);
    }
    for (int i = 0; i <= 4; ++i) {  // ticks and their labels
        const double v = i / 4.0;
        cv.line(px(v), B, px(v), B + 5, black, 1);
        cv.text(px(v) - Canvas::text_width(tick(v)) / 2, B + 10, tick(v), black);
        cv.line(L - 5, py(v), L, py(v), black, 1);
        cv.text(L - 10 - Canvas::text_width(tick(v)), py(v) - kTextH / 2, tick(v), black);
    }
    cv.text((L + R - Canvas::text_width(x_label)) / 2, B + 34, x_label, black);
    const int ylen = static_cast<int>(y_label.size()) * (kTextH + 4);  // the y label, one letter per line
    for (size_t i = 0; i < y_label.size(); ++i)
        cv.text(14, (T + B - ylen) / 2 + static_cast<int>(i) * (kTextH + 4), std::string(1, y_label[i]), black);
    cv.text((kW - Canvas::text_width(title)) / 2, 12, title, black);

    int lx = L;  // the legend, one row above the plot box
    for (const PlotSeries& s : series) {
        cv.line(lx, 52, lx + 28, 52, s.rgb, 3);
        cv.text(lx + 36, 52 - kTextH / 2, s.label, grey);
        lx += 36 + Canvas::text_width(s.label) + 32;
    }
    for (const PlotSeries& s : series) {
        const size_t n = std::min(s.x.size(), s.y.size());
        for (size_t i = 0; i + 1 < n; ++i) cv.line(px(s.x[i]), py(s.y[i]), px(s.x[i + 1]), py(s.y[i + 1]), s.rgb, 2);
        if (n <= 40)
            for (size_t i = 0; i < n; ++i) {
                const int x = px(s.x[i]), y = py(s.y[i]);
                cv.rect(x - 2, y - 2, x + 2, y + 2, s.rgb);
            }
    }
    cv.line(L, T, R, T, black, 1);  // the box last, over the curves' ends
    cv.line(L, B, R, B, black, 1);
    cv.line(L, T, L, B, black, 1);
    cv.line(R, T, R, B, black, 1);
    train::write_png_rgb(path, cv.pixels(), kW, kH);
}

}  // namespace lrp::cli
