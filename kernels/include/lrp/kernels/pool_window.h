// Pooling window arithmetic shared by the CPU and CUDA kernels (host + device inline, via LRP_HD), so
// both backends apply PyTorch's rules identically: the first-maximum / NaN routing of max-pool, the
// avg-pool divisor (divisor_override, count_include_pad), and the outputs whose window covers a pixel.
#pragma once
#include <cstdint>

#include "lrp/kernels/descs.h"
#include "lrp/philox.h"  // LRP_HD (and <cmath> for INFINITY)

namespace lrp::kernels {

LRP_HD int pool_min(int a, int b) { return a < b ? a : b; }
LRP_HD int pool_max(int a, int b) { return a > b ? a : b; }

// Outputs [first, last) whose window (start o*s - pad, taps at dil spacing, k taps) can contain `pos`.
LRP_HD void pool_covering(int pos, int k, int s, int pad, int dil, int out, int& first, int& last) {
    const int lo = pos + pad - (k - 1) * dil;  // o*s >= lo
    first = lo <= 0 ? 0 : (lo + s - 1) / s;
    last = pool_min((pos + pad) / s + 1, out);
}

// PyTorch's avg-pool divisor of window (p, q).
LRP_HD int avg_divisor(const Pool2dDesc& d, int p, int q) {
    if (d.divisor_override > 0) return d.divisor_override;
    int h0 = p * d.sh - d.ph, w0 = q * d.sw - d.pw;
    int h1 = pool_min(h0 + d.kh, d.H + d.ph), w1 = pool_min(w0 + d.kw, d.W + d.pw);
    if (d.count_include_pad) return (h1 - h0) * (w1 - w0);
    h0 = pool_max(h0, 0), w0 = pool_max(w0, 0), h1 = pool_min(h1, d.H), w1 = pool_min(w1, d.W);
    return (h1 - h0) * (w1 - w0);
}

// Max over window (p, q) of one plane xp (H x W): strict '>' keeps the first maximum in row-major window
// order; the first NaN wins and stays. idx = h * W + w of the winner, -1 (value -inf) if the window
// holds no input element.
LRP_HD void max_window(const Pool2dDesc& d, const float* xp, int p, int q, float& best, int32_t& idx) {
    best = -INFINITY;
    idx = -1;
    for (int a = 0; a < d.kh; ++a) {
        const int h = p * d.sh - d.ph + a * d.dil_h;
        if (h < 0 || h >= d.H) continue;
        for (int b = 0; b < d.kw; ++b) {
            const int w = q * d.sw - d.pw + b * d.dil_w;
            if (w < 0 || w >= d.W) continue;
            const float v = xp[h * d.W + w];
            if (idx < 0 || v > best || (v != v && best == best)) best = v, idx = h * d.W + w;
        }
    }
}

}  // namespace lrp::kernels
