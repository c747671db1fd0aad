// CPU reference max and average pooling over NCHW (PyTorch semantics: first-maximum tie rule with NaN
// as maximum, ceil_mode, padding, count_include_pad / divisor_override). Both backward passes gather
// (each dx element sums the windows that contain it, in output order), so they match the CUDA order. Planes run
// in parallel (parallel.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "families.h"
#include "parallel.h"
#include "lrp/kernels/pool_window.h"

namespace lrp::kernels::cpu {
namespace {

void maxpool_fwd(const Ctx&, const Pool2dDesc& d, const float* x, float* y, int32_t* idx) {
    const int P = d.P(), Q = d.Q();
    const int64_t planes = static_cast<int64_t>(d.N) * d.C;
    parallel_for(planes, grain_for(int64_t{d.H} * d.W), [&](int64_t pl0, int64_t pl1) {
        for (int64_t pl = pl0; pl < pl1; ++pl) {
            const float* xp = x + pl * d.H * d.W;
            float* yp = y + pl * P * Q;
            int32_t* ip = idx + pl * P * Q;
            for (int p = 0; p < P; ++p) {
                for (int q = 0; q < Q; ++q) {
                    float best;
                    int32_t bi;
                    max_window(d, xp, p, q, best, bi);
                    yp[p * Q + q] = best;
                    ip[p * Q + q] = bi;
                }
            }
        }
    });
}

void maxpool_bwd(const Ctx&, const Pool2dDesc& d, const float* dy, const int32_t* idx, float* dx) {
    const int P = d.P(), Q = d.Q();
    const int64_t planes = static_cast<int64_t>(d.N) * d.C;
    parallel_for(planes, grain_for(int64_t{d.H} * d.W), [&](int64_t pl0, int64_t pl1) {
        for (int64_t pl = pl0; pl < pl1; ++pl) {
            const float* gp = dy + pl * P * Q;
            const int32_t* ip = idx + pl * P * Q;
            float* dp = dx + pl * d.H * d.W;
            for (int h = 0; h < d.H; ++h)
                for (int w = 0; w < d.W; ++w) dp[h * d.W + w] = maxpool_grad_at(d, gp, ip, P, Q, h, w);
        }
    });
}

void avgpool_fwd(const Ctx&, const Pool2dDesc& d, const float* x, float* y) {
    const int P = d.P(), Q = d.Q();
    const int64_t planes = static_cast<int64_t>(d.N) * d.C;
    parallel_for(planes, grain_for(int64_t{d.H} * d.W), [&](int64_t pl0, int64_t pl1) {
        for (int64_t pl = pl0; pl < pl1; ++pl) {
            const float* xp = x + pl * d.H * d.W;
            float* yp = y + pl * P * Q;
            for (int p = 0; p < P; ++p) {
                for (int q = 0; q < Q; ++q) {
                    int h0, h1, w0, w1;
                    avg_window(d, p, q, h0, h1, w0, w1);
                    double sum = 0;
                    for (int h = h0; h < h1; ++h)
                        for (int w = w0; w < w1; ++w) sum += xp[h * d.W + w];
                    yp[p * Q + q] = static_cast<float>(sum / avg_divisor(d, p, q));
                }
            }
        }
    });
}

void avgpool_bwd(const Ctx&, const Pool2dDesc& d, const float* dy, float* dx) {
    const int P = d.P(), Q = d.Q();
    const int64_t planes = static_cast<int64_t>(d.N) * d.C;
    parallel_for(planes, grain_for(int64_t{d.H} * d.W), [&](int64_t pl0, int64_t pl1) {
        for (int64_t pl = pl0; pl < pl1; ++pl) {
            const float* gp = dy + pl * P * Q;
            float* dp = dx + pl * d.H * d.W;
            for (int h = 0; h < d.H; ++h) {
                for (int w = 0; w < d.W; ++w) {
                    int p0, p1, q0, q1;
                    avg_covering(d, P, Q, h, w, p0, p1, q0, q1);
                    double acc = 0;
                    for (int p = p0; p < p1; ++p)
                        for (int q = q0; q < q1; ++q) acc += static_cast<double>(gp[p * Q + q]) / avg_divisor(d, p, q);
                    dp[h * d.W + w] = static_cast<float>(acc);
                }
            }
        }
    });
}

void maxpool_gather(const Ctx&, const Pool2dDesc& d, const float* x, const int32_t* idx, float* y) {
    const int64_t PQ = static_cast<int64_t>(d.P()) * d.Q(), planes = static_cast<int64_t>(d.N) * d.C;
    parallel_for(planes, grain_for(PQ), [&](int64_t pl0, int64_t pl1) {
        for (int64_t pl = pl0; pl < pl1; ++pl)
            for (int64_t t = 0; t < PQ; ++t) y[pl * PQ + t] = x[pl * d.H * d.W + idx[pl * PQ + t]];
    });
}

}  // namespace

void register_pool(OpTable& t) {
    t.maxpool_fwd = maxpool_fwd;
    t.maxpool_bwd = maxpool_bwd;
    t.maxpool_gather = maxpool_gather;
    t.avgpool_fwd = avgpool_fwd;
    t.avgpool_bwd = avgpool_bwd;
}

}  // namespace lrp::kernels::cpu
