// Pooling window arithmetic shared by the CPU and CUDA kernels (host + device inline, via LRP_HD), so
// both backends apply PyTorch's rules identically: the first-maximum / NaN routing of max-pool, the
// avg-pool windows (fixed or adaptive) and divisor rules, and the outputs whose window covers a pixel.
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

// Adaptive window o of `out` over `in` positions: [floor(o*in/out), ceil((o+1)*in/out)).
LRP_HD void adaptive_window(int o, int in, int out, int& lo, int& hi) {
    lo = static_cast<int>(static_cast<int64_t>(o) * in / out);
    hi = static_cast<int>((static_cast<int64_t>(o + 1) * in + out - 1) / out);
}

// Adaptive outputs [first, last) whose window contains `pos`: first = floor(pos*out/in),
// last = ceil((pos+1)*out/in) (windows overlap when out does not divide in, and repeat when out > in).
LRP_HD void adaptive_covering(int pos, int in, int out, int& first, int& last) {
    first = static_cast<int>(static_cast<int64_t>(pos) * out / in);
    last = pool_min(static_cast<int>((static_cast<int64_t>(pos + 1) * out + in - 1) / in), out);
}

// The input rows [h0, h1) and columns [w0, w1) that avg-pool window (p, q) sums (padding clipped).
LRP_HD void avg_window(const Pool2dDesc& d, int p, int q, int& h0, int& h1, int& w0, int& w1) {
    if (d.adapt_h > 0) {
        adaptive_window(p, d.H, d.adapt_h, h0, h1);
        adaptive_window(q, d.W, d.adapt_w, w0, w1);
        return;
    }
    h0 = pool_max(p * d.sh - d.ph, 0), h1 = pool_min(p * d.sh - d.ph + d.kh, d.H);
    w0 = pool_max(q * d.sw - d.pw, 0), w1 = pool_min(q * d.sw - d.pw + d.kw, d.W);
}

// The avg-pool outputs [p0, p1) x [q0, q1) whose windows contain input pixel (h, w); P x Q = d.P() x d.Q().
LRP_HD void avg_covering(const Pool2dDesc& d, int P, int Q, int h, int w, int& p0, int& p1, int& q0, int& q1) {
    if (d.adapt_h > 0) {
        adaptive_covering(h, d.H, d.adapt_h, p0, p1);
        adaptive_covering(w, d.W, d.adapt_w, q0, q1);
        return;
    }
    pool_covering(h, d.kh, d.sh, d.ph, 1, P, p0, p1);
    pool_covering(w, d.kw, d.sw, d.pw, 1, Q, q0, q1);
}

// PyTorch's avg-pool divisor of window (p, q): the window's size for adaptive pooling.
LRP_HD int avg_divisor(const Pool2dDesc& d, int p, int q) {
    if (d.adapt_h > 0) {
        int h0, h1, w0, w1;
        avg_window(d, p, q, h0, h1, w0, w1);
        return (h1 - h0) * (w1 - w0);
    }
    if (d.divisor_override > 0) return d.divisor_override;
    int h0 = p * d.sh - d.ph, w0 = q * d.sw - d.pw;
    int h1 = pool_min(h0 + d.kh, d.H + d.ph), w1 = pool_min(w0 + d.kw, d.W + d.pw);
    if (d.count_include_pad) return (h1 - h0) * (w1 - w0);
    h0 = pool_max(h0, 0), w0 = pool_max(w0, 0), h1 = pool_min(h1, d.H), w1 = pool_min(w1, d.W);
    return (h1 - h0) * (w1 - w0);
}

// Max over window (p, q) of one plane xp (H x W): strict '>' keeps the first maximum in row-major window
// order; a NaN always takes over, so the last NaN wins (PyTorch's max-pool kernels). idx = h * W + w of the winner, -1 (value -inf) if the window
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
            if (idx < 0 || v > best || v != v) best = v, idx = h * d.W + w;  // PyTorch: `val > max || isnan(val)`
        }
    }
}

// Max-pool gradient at input pixel (h, w) of one plane: the sum of dy (gp, P x Q) over the windows covering it whose
// recorded maximum (ip, from max_window) is that pixel, in output order.
LRP_HD float maxpool_grad_at(const Pool2dDesc& d, const float* gp, const int32_t* ip, int P, int Q, int h, int w) {
    int p0, p1, q0, q1;
    pool_covering(h, d.kh, d.sh, d.ph, d.dil_h, P, p0, p1);
    pool_covering(w, d.kw, d.sw, d.pw, d.dil_w, Q, q0, q1);
    const int32_t me = h * d.W + w;
    float acc = 0.f;
    for (int p = p0; p < p1; ++p)
        for (int q = q0; q < q1; ++q)
            if (ip[p * Q + q] == me) acc += gp[p * Q + q];
    return acc;
}

}  // namespace lrp::kernels
