// CPU reference of ISNet's heatmap loss (IsnetLossDesc): per sample and map the foreground statistics, a stable
// descending sort per channel for the GWRP weights, the loss and its gradient with respect to the maps, in double;
// Stochastic ISNet's class draw and Selective ISNet's seed and its derivative.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "families.h"
#include "parallel.h"
#include "lrp/kernels/isnet_loss_math.h"
#include "lrp/kernels/ops.h"

namespace lrp::kernels::cpu {
namespace {

void isnet_heat_loss(const Ctx&, const IsnetLossDesc& d, const float* maps, const float* mask, float* loss,
                     float* dmaps, int32_t* bad) {
    const int64_t HW = static_cast<int64_t>(d.H) * d.W, CHW = d.C * HW, KCHW = d.K * CHW;
    const double norm = gwrp_norm(d.decay, HW), s = 1.0 / d.N;
    std::vector<double> w(HW);
    for (int64_t i = 0; i < HW; ++i) w[i] = gwrp_weight(d.decay, i, norm);
    // Samples are independent: ranges of them on the CPU pool, each with its own scratch.
    parallel_for(d.N, grain_for(KCHW * 16), [&](int64_t n0, int64_t n1) {  // a sort per map: ~16 units a value
        std::vector<double> v(HW), wr(CHW), g(d.C), dg(d.C);
        std::vector<int32_t> order(HW);
        for (int64_t n = n0; n < n1; ++n) {
            const float* Hn = maps + n * KCHW;
            const float* Mn = mask + n * HW;
            float* dHn = dmaps + n * KCHW;
            bool finite = true;
            for (int64_t i = 0; i < KCHW && finite; ++i) finite = std::isfinite(Hn[i]);
            if (!finite) {
                loss[n] = 0.f, bad[n] = 1;
                std::fill(dHn, dHn + KCHW, 0.f);
                continue;
            }
            double msum = 0;
            for (int64_t j = 0; j < HW; ++j) msum += Mn[j] != 0.f ? 1.0 : 0.0;
            double l_bg = 0, l_fg = 0;
            for (int k = 0; k < d.K; ++k) {
                const float* h = Hn + k * CHW;
                double F = 0;
                for (int c = 0; c < d.C; ++c)
                    for (int64_t j = 0; j < HW; ++j)
                        if (Mn[j] != 0.f) F += std::fabs(static_cast<double>(h[c * HW + j]));
                const double mu = F / (d.C * msum + 1e-10), inv = 1.0 / (mu + 1e-10);
                for (int c = 0; c < d.C; ++c) {
                    for (int64_t j = 0; j < HW; ++j)
                        v[j] = Mn[j] != 0.f ? 0.0 : std::fabs(static_cast<double>(h[c * HW + j])) * inv;
                    std::iota(order.begin(), order.end(), 0);
                    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return v[a] > v[b]; });
                    double gc = 0;
                    for (int64_t i = 0; i < HW; ++i) {
                        gc += w[i] * v[order[i]];
                        wr[c * HW + order[i]] = w[i];
                    }
                    double value;
                    isnet_bg_term(gc, d.E, value, dg[c]);
                    g[c] = gc;
                    l_bg += value;
                }
                double fval, dF;
                isnet_fg_term(F, d.C1, d.C2, d.foreground, fval, dF);
                l_fg += fval;
                // dL/da = cb dg[c] w_rank (1 - m) inv + m (dL/dmu dmu/da + cf), a = |h|.
                const double cb = s * d.A / (d.K * d.C), cf = s * d.B / d.K * dF;
                double dmu = 0;
                for (int c = 0; c < d.C; ++c) dmu -= cb * dg[c] * g[c] * inv;
                const double fg_coef = dmu / (d.C * msum + 1e-10) + cf;
                float* dh = dHn + k * CHW;
                for (int c = 0; c < d.C; ++c)
                    for (int64_t j = 0; j < HW; ++j) {
                        const double da = Mn[j] != 0.f ? fg_coef : cb * dg[c] * wr[c * HW + j] * inv;
                        dh[c * HW + j] = static_cast<float>(da * abs_sign(h[c * HW + j]));
                    }
            }
            loss[n] = static_cast<float>(d.A * l_bg / (d.K * d.C) + d.B * l_fg / d.K);
            bad[n] = 0;
        }
    });
}

void isnet_pick_class(const Ctx&, int64_t N, int K, const int32_t* top, uint64_t seed, uint64_t offset, int32_t* cls) {
    for (int64_t n = 0; n < N; ++n) cls[n] = isnet_pick(K, top[n], seed, offset, n);
}

void isnet_selective(const Ctx&, int64_t N, int K, int form, const float* z, float eps, const float* u, float* out) {
    for (int64_t n = 0; n < N; ++n) {
        if (form == kIsnetSelectiveSoftmin) isnet_softmin_row(K, z + n * K, eps, u ? u + n * K : nullptr, out + n * K);
        else isnet_selective_row(K, z + n * K, eps, u ? u + n * K : nullptr, out + n * K);
    }
}

void gwrp_rows(const Ctx&, int64_t M, int L, const float* v, float decay, float* total, float* w) {
    for (int64_t m = 0; m < M; ++m) gwrp_row(L, v + m * L, decay, total + m, w + m * L);
}

}  // namespace

void register_isnet_loss(OpTable& t) {
    t.isnet_heat_loss = isnet_heat_loss;
    t.isnet_pick_class = isnet_pick_class;
    t.isnet_selective = isnet_selective;
    t.gwrp_rows = gwrp_rows;
}

}  // namespace lrp::kernels::cpu
