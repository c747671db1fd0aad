// lrpcu's own image resize: separable bilinear with antialiasing on downscale (the filter of PIL /
// torchvision's antialiased bilinear, in float throughout: PIL rounds between its two passes, so a pixel
// may differ from PIL's by 1), on interleaved H x W x C uint8 images. Replaces stb_image_resize, whose
// assertion (nothings/stb#1449) aborted the process on some downscale sizes.
#include <algorithm>
#include <cmath>
#include <limits>

#include "lrp/data/dataset.h"
#include "lrp/error.h"

namespace lrp::data {

namespace {

// Per output index: the first contributing input index and the normalised weights.
struct Taps {
    std::vector<int> first;
    std::vector<int> count;
    std::vector<float> weights;  // `stride` per output index
    int stride = 0;
};

// Triangle filter of support `scale` = max(1, in/out) around (i + 0.5) * in/out - 0.5, restricted to the
// input (the taps that fall outside are dropped and the rest renormalised, as PIL does).
Taps make_taps(int in, int out) {
    const double ratio = double(in) / out;
    const double scale = std::max(1.0, ratio);
    const double support = scale;  // bilinear filter support 1, stretched by the downscale factor
    Taps t;
    t.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
    t.first.resize(out);
    t.count.resize(out);
    t.weights.assign(static_cast<size_t>(out) * t.stride, 0.0f);
    std::vector<double> w(t.stride);
    for (int i = 0; i < out; ++i) {
        const double centre = (i + 0.5) * ratio - 0.5;
        // Taps with |j - centre| < support: at most 2 * ceil(support) + 1 of them.
        int lo = std::max(0, static_cast<int>(std::floor(centre - support)) + 1);
        const int hi = std::min(in - 1, static_cast<int>(std::ceil(centre + support)) - 1);
        double sum = 0;
        int n = 0;
        for (int j = lo; j <= hi && n < t.stride; ++j, ++n) {
            w[n] = std::max(0.0, 1.0 - std::abs(j - centre) / scale);
            sum += w[n];
        }
        if (sum <= 0) {  // cannot happen (the nearest tap is within 0.5 of the centre); nearest pixel
            lo = std::min(in - 1, std::max(0, static_cast<int>(std::lround(centre))));
            n = 1;
            w[0] = sum = 1;
        }
        t.first[i] = lo;
        t.count[i] = n;
        for (int k = 0; k < n; ++k) t.weights[static_cast<size_t>(i) * t.stride + k] = static_cast<float>(w[k] / sum);
    }
    return t;
}

uint8_t to_u8(float v) {
    const float r = std::nearbyint(v);  // round to nearest (ties to even)
    return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, r)));
}

}  // namespace

std::vector<uint8_t> resize_image(const uint8_t* src, int w, int h, int c, int out_w, int out_h) {
    LRP_CHECK(w > 0 && h > 0 && c > 0 && out_w > 0 && out_h > 0, "resize_image: sizes must be positive (", w, "x",
              h, "x", c, " to ", out_w, "x", out_h, ")");
    LRP_CHECK(src != nullptr, "resize_image: null source image");
    const int64_t limit = int64_t(1) << 31;
    LRP_CHECK(int64_t(out_w) * out_h * c <= limit && int64_t(w) * h * c <= limit, "resize_image: ", w, "x", h, " to ",
              out_w, "x", out_h, " with ", c, " channels is too large (over 2 GiB)");
    const size_t C = static_cast<size_t>(c);
    if (w == out_w && h == out_h) return std::vector<uint8_t>(src, src + size_t(w) * h * C);

    // Horizontal pass: h x out_w x C floats.
    const Taps tx = make_taps(w, out_w);
    std::vector<float> mid(static_cast<size_t>(h) * out_w * C);
    for (int y = 0; y < h; ++y) {
        const uint8_t* row = src + static_cast<size_t>(y) * w * C;
        float* mrow = mid.data() + static_cast<size_t>(y) * out_w * C;
        for (int x = 0; x < out_w; ++x) {
            const float* wt = tx.weights.data() + static_cast<size_t>(x) * tx.stride;
            const uint8_t* p = row + static_cast<size_t>(tx.first[x]) * C;
            float* o = mrow + static_cast<size_t>(x) * C;
            for (size_t ch = 0; ch < C; ++ch) o[ch] = 0;
            for (int k = 0; k < tx.count[x]; ++k)
                for (size_t ch = 0; ch < C; ++ch) o[ch] += wt[k] * p[k * C + ch];
        }
    }

    // Vertical pass: out_h x out_w x C bytes.
    const Taps ty = make_taps(h, out_h);
    const size_t rowlen = static_cast<size_t>(out_w) * C;
    std::vector<uint8_t> out(static_cast<size_t>(out_h) * rowlen);
    std::vector<float> acc(rowlen);
    for (int y = 0; y < out_h; ++y) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        const float* wt = ty.weights.data() + static_cast<size_t>(y) * ty.stride;
        for (int k = 0; k < ty.count[y]; ++k) {
            const float* m = mid.data() + static_cast<size_t>(ty.first[y] + k) * rowlen;
            for (size_t i = 0; i < rowlen; ++i) acc[i] += wt[k] * m[i];
        }
        uint8_t* o = out.data() + static_cast<size_t>(y) * rowlen;
        for (size_t i = 0; i < rowlen; ++i) o[i] = to_u8(acc[i]);
    }
    return out;
}

}  // namespace lrp::data
