// CPU reference softmax cross-entropy with label smoothing (PyTorch semantics), forward loss and
// gradient in one pass, everything in double, rows in parallel. An out-of-range label gives a NaN row.
#include <cmath>
#include <limits>

#include "families.h"
#include "parallel.h"

namespace lrp::kernels::cpu {
namespace {

void softmax_xent(const Ctx&, const float* logits, const int32_t* labels, int N, int K, float smoothing,
                  float grad_scale, float* loss, float* dlogits) {
    const double s = smoothing, off = s / K, on = 1.0 - s + off;
    parallel_for(N, grain_for(int64_t{K} * 8), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            const float* x = logits + n * K;
            float* dx = dlogits ? dlogits + n * K : nullptr;
            const int32_t label = labels[n];
            if (label < 0 || label >= K) {
                loss[n] = std::numeric_limits<float>::quiet_NaN();
                if (dx)
                    for (int k = 0; k < K; ++k) dx[k] = std::numeric_limits<float>::quiet_NaN();
                continue;
            }
            double m = x[0];
            for (int k = 1; k < K; ++k) m = std::fmax(m, static_cast<double>(x[k]));
            double se = 0, sx = 0;
            for (int k = 0; k < K; ++k) {
                se += std::exp(x[k] - m);
                sx += x[k];
            }
            const double lse = m + std::log(se);
            // -sum_k t_k (x_k - lse) with t = (1 - s) onehot + s/K
            // (without smoothing the second term is skipped: a -inf logit would make it 0 * inf = NaN)
            loss[n] = static_cast<float>((1.0 - s) * (lse - x[label]) + (off == 0 ? 0.0 : off * (K * lse - sx)));
            if (dx) {
                for (int k = 0; k < K; ++k) {
                    double p = std::exp(x[k] - lse);
                    double t = k == label ? on : off;
                    dx[k] = static_cast<float>(grad_scale * (p - t));
                }
            }
        }
    });
}

}  // namespace

void register_softmax_xent(OpTable& t) { t.softmax_xent = softmax_xent; }

}  // namespace lrp::kernels::cpu
