// CPU reference max and average pooling over NCHW (PyTorch semantics: first-maximum tie rule with NaN
// as maximum, ceil_mode, padding, count_include_pad / divisor_override). Both backward passes gather
// (each dx element sums the windows that contain it, in output order), so they match the CUDA order.
#include <algorithm>
#include <cmath>
#include <limits>

#include "families.h"

namespace lrp::kernels::cpu {
namespace {

// Outputs [first, last) whose window (start o*s - pad, taps at dil spacing, k taps) can contain `pos`.
inline void covering(int pos, int k, int s, int pad, int dil, int out, int& first, int& last) {
    const int lo = pos + pad - (k - 1) * dil;  // o*s >= lo
    first = lo <= 0 ? 0 : (lo + s - 1) / s;
    last = std::min((pos + pad) / s + 1, out);
}

// PyTorch's avg-pool divisor of window (p, q).
inline int avg_divisor(const Pool2dDesc& d, int p, int q) {
    if (d.divisor_override > 0) return d.divisor_override;
    int h0 = p * d.sh - d.ph, w0 = q * d.sw - d.pw;
    int h1 = std::min(h0 + d.kh, d.H + d.ph), w1 = std::min(w0 + d.kw, d.W + d.pw);
    if (d.count_include_pad) return (h1 - h0) * (w1 - w0);
    h0 = std::max(h0, 0), w0 = std::max(w0, 0), h1 = std::min(h1, d.H), w1 = std::min(w1, d.W);
    return (h1 - h0) * (w1 - w0);
}

void maxpool_fwd(const Ctx&, const Pool2dDesc& d, const float* x, float* y, int32_t* idx) {
    const int P = d.P(), Q = d.Q();
    const int64_t planes = static_cast<int64_t>(d.N) * d.C;
    for (int64_t pl = 0; pl < planes; ++pl) {
        const float* xp = x + pl * d.H * d.W;
        float* yp = y + pl * P * Q;
        int32_t* ip = idx + pl * P * Q;
        for (int p = 0; p < P; ++p) {
            for (int q = 0; q < Q; ++q) {
                float best = -std::numeric_limits<float>::infinity();
                int32_t bi = -1;  // stays -1 only if the window holds no input element
                for (int r = 0; r < d.kh; ++r) {
                    const int h = p * d.sh - d.ph + r * d.dil_h;
                    if (h < 0 || h >= d.H) continue;
                    for (int s = 0; s < d.kw; ++s) {
                        const int w = q * d.sw - d.pw + s * d.dil_w;
                        if (w < 0 || w >= d.W) continue;
                        const float v = xp[h * d.W + w];
                        // strict '>' keeps the first maximum; the first NaN wins and stays
                        if (bi < 0 || v > best || (std::isnan(v) && !std::isnan(best))) best = v, bi = h * d.W + w;
                    }
                }
                yp[p * Q + q] = best;
                ip[p * Q + q] = bi;
            }
        }
    }
}

void maxpool_bwd(const Ctx&, const Pool2dDesc& d, const float* dy, const int32_t* idx, float* dx) {
    const int P = d.P(), Q = d.Q();
    const int64_t planes = static_cast<int64_t>(d.N) * d.C;
    for (int64_t pl = 0; pl < planes; ++pl) {
        const float* gp = dy + pl * P * Q;
        const int32_t* ip = idx + pl * P * Q;
        float* dp = dx + pl * d.H * d.W;
        for (int h = 0; h < d.H; ++h) {
            int p0, p1;
            covering(h, d.kh, d.sh, d.ph, d.dil_h, P, p0, p1);
            for (int w = 0; w < d.W; ++w) {
                int q0, q1;
                covering(w, d.kw, d.sw, d.pw, d.dil_w, Q, q0, q1);
                const int32_t me = h * d.W + w;
                float acc = 0.f;
                for (int p = p0; p < p1; ++p)
                    for (int q = q0; q < q1; ++q)
                        if (ip[p * Q + q] == me) acc += gp[p * Q + q];
                dp[me] = acc;
            }
        }
    }
}

void avgpool_fwd(const Ctx&, const Pool2dDesc& d, const float* x, float* y) {
    const int P = d.P(), Q = d.Q();
    const int64_t planes = static_cast<int64_t>(d.N) * d.C;
    for (int64_t pl = 0; pl < planes; ++pl) {
        const float* xp = x + pl * d.H * d.W;
        float* yp = y + pl * P * Q;
        for (int p = 0; p < P; ++p) {
            const int h0 = std::max(p * d.sh - d.ph, 0), h1 = std::min(p * d.sh - d.ph + d.kh, d.H);
            for (int q = 0; q < Q; ++q) {
                const int w0 = std::max(q * d.sw - d.pw, 0), w1 = std::min(q * d.sw - d.pw + d.kw, d.W);
                double sum = 0;
                for (int h = h0; h < h1; ++h)
                    for (int w = w0; w < w1; ++w) sum += xp[h * d.W + w];
                yp[p * Q + q] = static_cast<float>(sum / avg_divisor(d, p, q));
            }
        }
    }
}

void avgpool_bwd(const Ctx&, const Pool2dDesc& d, const float* dy, float* dx) {
    const int P = d.P(), Q = d.Q();
    const int64_t planes = static_cast<int64_t>(d.N) * d.C;
    for (int64_t pl = 0; pl < planes; ++pl) {
        const float* gp = dy + pl * P * Q;
        float* dp = dx + pl * d.H * d.W;
        for (int h = 0; h < d.H; ++h) {
            int p0, p1;
            covering(h, d.kh, d.sh, d.ph, 1, P, p0, p1);
            for (int w = 0; w < d.W; ++w) {
                int q0, q1;
                covering(w, d.kw, d.sw, d.pw, 1, Q, q0, q1);
                double acc = 0;
                for (int p = p0; p < p1; ++p)
                    for (int q = q0; q < q1; ++q) acc += static_cast<double>(gp[p * Q + q]) / avg_divisor(d, p, q);
                dp[h * d.W + w] = static_cast<float>(acc);
            }
        }
    }
}

}  // namespace

void register_pool(OpTable& t) {
    t.maxpool_fwd = maxpool_fwd;
    t.maxpool_bwd = maxpool_bwd;
    t.avgpool_fwd = avgpool_fwd;
    t.avgpool_bwd = avgpool_bwd;
}

}  // namespace lrp::kernels::cpu
