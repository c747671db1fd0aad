// zennit's colour-map language (its built-in sources only: "[index:]colour,..." with 3- or 6-digit hex colours and
// 1- or 2-digit hex indices) compiled to palettes as zennit.cmap.ColorMap does, and palette heatmaps.
#include "lrp/train/colormap.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "lrp/error.h"

namespace lrp::train {

namespace {

// zennit.image.CMAPS.
const std::map<std::string, std::string>& sources() {
    static const std::map<std::string, std::string> s = {
        {"gray", "000,fff"},
        {"wred", "fff,f00"},
        {"wblue", "fff,00f"},
        {"hot", "000,f00,ff0,fff"},
        {"cold", "000,00f,0ff"},
        {"coldnhot", "0ff,00f,80:000,f00,ff0,fff"},
        {"bwr", "00f,80:fff,f00"},
        {"france", "0055a4,80:fff,ef4135"},
        {"seismic", "0000d0,80:d0d0d0,d00000"},
        {"coolio", "00d0d0,80:d0d0d0,d000d0"},
        {"coleus", "00d000,80:d0d0d0,d000d0"},
    };
    return s;
}

struct Node {
    int index;  // -1: none given
    double rgb[3];
};

int hex(const std::string& s) { return std::stoi(s, nullptr, 16); }

std::vector<Node> parse(const std::string& src) {
    std::vector<Node> nodes;
    size_t at = 0;
    while (at <= src.size()) {
        const size_t comma = std::min(src.find(',', at), src.size());
        std::string tok = src.substr(at, comma - at);
        Node n{-1, {0, 0, 0}};
        if (const size_t colon = tok.find(':'); colon != std::string::npos) {
            std::string ix = tok.substr(0, colon);
            if (ix.size() == 1) ix += ix;  // "8" means 0x88, as zennit reads a one-digit index
            n.index = hex(ix);
            tok = tok.substr(colon + 1);
        }
        for (int k = 0; k < 3; ++k)
            n.rgb[k] = tok.size() == 3 ? hex(std::string(2, tok[k])) : hex(tok.substr(2 * k, 2));
        nodes.push_back(n);
        at = comma + 1;
    }
    return nodes;
}

// zennit's ColorMap._make_palette: node 0 at index 0; nodes without an index spread evenly (truncated) between
// their neighbours; the last at 255 unless given; a copy of the last at 256.
std::vector<Node> place(std::vector<Node> nodes) {
    std::vector<Node> out, pending;
    Node start = nodes.front();
    nodes.erase(nodes.begin());
    out.push_back(Node{0, {start.rgb[0], start.rgb[1], start.rgb[2]}});
    if (start.index > 0) out.push_back(start);
    for (size_t n = 0; n < nodes.size(); ++n) {
        Node node = nodes[n];
        if (node.index < 0) {
            if (n + 1 < nodes.size()) {
                pending.push_back(node);
                continue;
            }
            node.index = 255;
        }
        const int from = out.back().index;
        for (size_t j = 0; j < pending.size(); ++j) {
            // numpy.linspace(0, 1, n + 2)[1:-1] is (j + 1) * (1 / (n + 1)): the same bits as this for the built-in
            // maps (at most 2 nodes in a row without an index), perhaps not in the last bit for 3 or more
            const double alpha = static_cast<double>(j + 1) * (1.0 / static_cast<double>(pending.size() + 1));
            Node p = pending[j];
            p.index = static_cast<int>(from * (1.0 - alpha) + node.index * alpha);
            out.push_back(p);
        }
        pending.clear();
        out.push_back(node);
    }
    Node end = out.back();
    end.index = 256;
    out.push_back(end);
    return out;
}

}  // namespace

std::vector<std::string> zennit_cmap_names() {
    return {"gray", "wred", "wblue", "hot", "cold", "coldnhot", "bwr", "france", "seismic", "coolio", "coleus"};
}

Palette zennit_palette(const std::string& name, double level) {
    const auto it = sources().find(name);
    if (it == sources().end()) {
        std::string known;
        for (const std::string& n : zennit_cmap_names()) known += (known.empty() ? "" : ", ") + n;
        LRP_THROW("--cmap: unknown colour map '", name, "' (zennit's: ", known, ")");
    }
    LRP_CHECK(std::isfinite(level) && level > 0, "--cmap-level must be a finite number > 0 (got ", level, ")");
    const std::vector<Node> nodes = place(parse(it->second));
    Palette p{};
    const double step = 2.0 / 255.0;  // numpy.linspace(-1, 1, 256): i * step + start, the last exactly 1
    for (int i = 0; i < 256; ++i) {
        const double lin = i == 255 ? 1.0 : static_cast<double>(i) * step + -1.0;
        const double x = std::clamp((lin * level + 1.0) / 2.0, 0.0, 1.0) * 255.0;
        // searchsorted(indices[:-1], x, side='right'): the first node whose index exceeds x
        size_t k = 1;
        while (k + 1 < nodes.size() && nodes[k].index <= x) ++k;
        const Node &a = nodes[k - 1], &b = nodes[k];
        const double alpha = (x - a.index) / (b.index - a.index);
        for (int c = 0; c < 3; ++c) {
            double v = (a.rgb[c] * (1 - alpha) + b.rgb[c] * alpha) / 255.0 * 255.0;
            v = std::nearbyint(v * 1e12) / 1e12;  // numpy's round(12), then astype(uint8) truncates
            p[i][c] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
        }
    }
    return p;
}

std::vector<uint8_t> palette_heatmap_rgb(const float* r, int64_t C, int64_t H, int64_t W, int scale,
                                         const Palette& p) {
    std::vector<float> s(static_cast<size_t>(H * W), 0.f);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < H * W; ++i) s[i] += r[c * H * W + i];
    float m = 0.f;
    for (float v : s)
        if (std::isfinite(v)) m = std::max(m, std::fabs(v));
    const int64_t h2 = H * scale, w2 = W * scale;
    std::vector<uint8_t> px(static_cast<size_t>(h2 * w2 * 3));
    for (int64_t y = 0; y < h2; ++y)
        for (int64_t x = 0; x < w2; ++x) {
            const float v = s[(y / scale) * W + x / scale];
            uint8_t* out = &px[(y * w2 + x) * 3];
            if (!std::isfinite(v)) {
                out[0] = out[1] = out[2] = 0;
                continue;
            }
            int index = 127;
            if (m > 0.f) {
                const float t = (v + m) / (m + m) * 255.f;  // float32 throughout, as numpy on a float32 map
                // m + m overflows beyond FLT_MAX / 2: Inf / Inf is NaN at v = m (index 0, as numpy's cast gives)
                index = std::isnan(t) ? 0 : static_cast<int>(std::clamp(t, 0.f, 255.f));
            }
            for (int c = 0; c < 3; ++c) out[c] = p[index][c];
        }
    return px;
}

}  // namespace lrp::train
