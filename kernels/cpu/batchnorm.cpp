// CPU reference batch norm (PyTorch semantics): train forward with batch statistics and running-stat
// update, eval forward with running statistics, and the backward of the train forward. Per-channel
// statistics accumulate in double (two-pass variance); x is N x C x HW. Channels run in parallel (parallel.h),
// each summed in the serial order.
#include <cmath>

#include "families.h"
#include "parallel.h"

namespace lrp::kernels::cpu {
namespace {

constexpr int64_t kPasses = 3;  // reads of x a channel takes, for the parallel grain

inline int64_t at(int64_t n, int64_t c, int64_t C, int64_t HW) { return (n * C + c) * HW; }

void bn_fwd_train(const Ctx&, const BatchNormDesc& d, const float* x, const float* gamma, const float* beta, float* y,
                  float* save_mean, float* save_invstd, float* running_mean, float* running_var) {
    const int64_t M = static_cast<int64_t>(d.N) * d.HW;
    const double mom = d.momentum;
    parallel_for(d.C, grain_for(int64_t{d.N} * d.HW * kPasses), [&](int64_t c0, int64_t c1) {
        for (int c = static_cast<int>(c0); c < c1; ++c) {
            double sum = 0;
            for (int n = 0; n < d.N; ++n) {
                const float* xc = x + at(n, c, d.C, d.HW);
                for (int64_t i = 0; i < d.HW; ++i) sum += xc[i];
            }
            const double mean = sum / static_cast<double>(M);
            double sq = 0;
            for (int n = 0; n < d.N; ++n) {
                const float* xc = x + at(n, c, d.C, d.HW);
                for (int64_t i = 0; i < d.HW; ++i) {
                    const double t = xc[i] - mean;
                    sq += t * t;
                }
            }
            const double var = sq / static_cast<double>(M);  // biased: used for normalisation
            const double invstd = 1.0 / std::sqrt(var + static_cast<double>(d.eps));
            const double scale = invstd * gamma[c];
            for (int n = 0; n < d.N; ++n) {
                const float* xc = x + at(n, c, d.C, d.HW);
                float* yc = y + at(n, c, d.C, d.HW);
                for (int64_t i = 0; i < d.HW; ++i) yc[i] = static_cast<float>((xc[i] - mean) * scale + beta[c]);
            }
            save_mean[c] = static_cast<float>(mean);
            save_invstd[c] = static_cast<float>(invstd);
            // Unbiased variance for the running estimate (the front end guarantees M > 1).
            const double unbiased = M > 1 ? sq / static_cast<double>(M - 1) : var;
            running_mean[c] = static_cast<float>((1.0 - mom) * running_mean[c] + mom * mean);
            running_var[c] = static_cast<float>((1.0 - mom) * running_var[c] + mom * unbiased);
        }
    });
}

void bn_fwd_eval(const Ctx&, const BatchNormDesc& d, const float* x, const float* gamma, const float* beta,
                 const float* running_mean, const float* running_var, float* y) {
    parallel_for(d.C, grain_for(int64_t{d.N} * d.HW * kPasses), [&](int64_t c0, int64_t c1) {
        for (int c = static_cast<int>(c0); c < c1; ++c) {
            const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + static_cast<double>(d.eps));
            const double scale = invstd * gamma[c];
            const double mean = running_mean[c];
            for (int n = 0; n < d.N; ++n) {
                const float* xc = x + at(n, c, d.C, d.HW);
                float* yc = y + at(n, c, d.C, d.HW);
                for (int64_t i = 0; i < d.HW; ++i) yc[i] = static_cast<float>((xc[i] - mean) * scale + beta[c]);
            }
        }
    });
}

// dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)), dgamma = sum(dy*xhat), dbeta = sum(dy).
void bn_bwd(const Ctx&, const BatchNormDesc& d, const float* x, const float* dy, const float* gamma,
            const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta) {
    const double M = static_cast<double>(static_cast<int64_t>(d.N) * d.HW);
    parallel_for(d.C, grain_for(int64_t{d.N} * d.HW * kPasses), [&](int64_t c0, int64_t c1) {
        for (int c = static_cast<int>(c0); c < c1; ++c) {
            const double mean = save_mean[c], invstd = save_invstd[c];
            double sdy = 0, sdyx = 0;
            for (int n = 0; n < d.N; ++n) {
                const int64_t o = at(n, c, d.C, d.HW);
                for (int64_t i = 0; i < d.HW; ++i) {
                    sdy += dy[o + i];
                    sdyx += dy[o + i] * ((x[o + i] - mean) * invstd);
                }
            }
            const double k = static_cast<double>(gamma[c]) * invstd / M;
            for (int n = 0; n < d.N; ++n) {
                const int64_t o = at(n, c, d.C, d.HW);
                for (int64_t i = 0; i < d.HW; ++i) {
                    const double xhat = (x[o + i] - mean) * invstd;
                    dx[o + i] = static_cast<float>(k * (M * dy[o + i] - sdy - xhat * sdyx));
                }
            }
            dgamma[c] = static_cast<float>(sdyx);
            dbeta[c] = static_cast<float>(sdy);
        }
    });
}

}  // namespace

void register_batchnorm(OpTable& t) {
    t.bn_fwd_train = bn_fwd_train;
    t.bn_fwd_eval = bn_fwd_eval;
    t.bn_bwd = bn_bwd;
}

}  // namespace lrp::kernels::cpu
