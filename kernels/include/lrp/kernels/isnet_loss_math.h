// Scalar pieces of ISNet's heatmap loss (IsnetLossDesc) shared by the CPU and CUDA kernels (LRP_HD): the GWRP
// weights and the background / foreground terms with their derivatives, in double.
#pragma once
#include "lrp/kernels/descs.h"
#include "lrp/philox.h"  // LRP_HD (and <cmath>)

namespace lrp::kernels {

// sum_{i < n} d^i (0^0 = 1: decay 0 weights the maximum only).
LRP_HD double gwrp_norm(double d, int64_t n) {
    if (d == 0.0) return 1.0;
    if (d == 1.0) return static_cast<double>(n);
    return (1.0 - pow(d, static_cast<double>(n))) / (1.0 - d);
}
LRP_HD double gwrp_weight(double d, int64_t i, double norm) {
    return (i == 0 ? 1.0 : pow(d, static_cast<double>(i))) / norm;
}

// GWRP over one row of L values (LRP deep supervision's reduction of the per-layer losses): ranked descending, ties by
// index (the CPU's stable order), w[i] = d^rank(i) / sum_{r < L} d^r, total = sum_i w[i] v[i]. w is the gradient.
LRP_HD void gwrp_row(int L, const float* v, double d, float* total, float* w) {
    const double norm = gwrp_norm(d, L);
    double t = 0;
    for (int i = 0; i < L; ++i) {
        int rank = 0;
        for (int j = 0; j < L; ++j) rank += (v[j] > v[i] || (v[j] == v[i] && j < i)) ? 1 : 0;
        const double wi = gwrp_weight(d, rank, norm);
        w[i] = static_cast<float>(wi);
        t += wi * static_cast<double>(v[i]);
    }
    *total = static_cast<float>(t);
}

// -log(1 - min(g / (g + E), 1 - 1e-7)) = log1p(g / E) below the clamp; d/dg = 1 / (g + E) there, 0 above.
LRP_HD void isnet_bg_term(double g, double E, double& value, double& dvalue_dg) {
    if (g / (g + E) < 1.0 - 1e-7) {
        value = log1p(g / E);
        dvalue_dg = 1.0 / (g + E);
    } else {
        value = -log(1e-7);
        dvalue_dg = 0.0;
    }
}

// The foreground terms (IsnetLossDesc, by `mode`) and their derivative in F: (min(F/C1, 1) - 1)^2 plus, above C2,
// ((F - C2)/C1)^2 (L2; hybrid up to C1 + C2, then F - C1 - C2 + 1, which meets it at 1) or F - C2 (L1).
LRP_HD void isnet_fg_term(double F, double C1, double C2, int mode, double& value, double& dvalue_dF) {
    const double lo = F < C1 ? F / C1 - 1.0 : 0.0;
    value = lo * lo;
    dvalue_dF = 2.0 * lo / C1;
    if (F <= C2) return;
    if (mode == kIsnetForegroundL1 || (mode == kIsnetForegroundHybrid && F > C1 + C2)) {
        value += mode == kIsnetForegroundL1 ? F - C2 : F - C1 - C2 + 1.0;
        dvalue_dF += 1.0;
        return;
    }
    const double hi = (F - C2) / C1;
    value += hi * hi;
    dvalue_dF += 2.0 * hi / C1;
}

// The adjoint's sign of |h|: +1, -1, and 0 at 0.
LRP_HD double abs_sign(float h) { return h > 0.f ? 1.0 : (h < 0.f ? -1.0 : 0.0); }

// Stochastic ISNet's class for one row (OpTable::isnet_pick_class).
LRP_HD int32_t isnet_pick(int K, int32_t top, uint64_t seed, uint64_t offset, int64_t n) {
    if (K < 2 || philox_uniform(seed, offset, 2 * n) < 0.5f) return top;
    int32_t k = static_cast<int32_t>(philox_uniform(seed, offset, 2 * n + 1) * static_cast<float>(K - 1));
    if (k > K - 2) k = K - 2;
    return k < top ? k : k + 1;
}

// Selective ISNet (isnet-edda.md A.4, LRP-Flex form) on one row z of K logits: c = the first arg-min of z, q = the
// softmax probability of c, eta(z) = log(q + eps) - log(1 - q + eps). u == nullptr: out = d eta / dz (the seed of
// the relevance pass); else out = H u, with H the Hessian of eta in z (the derivative of that seed, applied to u).
// With w = e_c - p, f1 = eta'(q), f2 = eta''(q): d eta/dz = f1 q w and H u = f2 q^2 (w.u) w + f1 q ((w.u) w - (p u -
// p (p.u))), all in double.
LRP_HD void isnet_selective_row(int K, const float* z, double eps, const float* u, float* out) {
    int c = 0;
    double m = z[0];
    for (int j = 1; j < K; ++j) {
        if (z[j] < z[c]) c = j;
        if (z[j] > m) m = z[j];
    }
    double S = 0;
    for (int j = 0; j < K; ++j) S += exp(static_cast<double>(z[j]) - m);
    const double q = exp(static_cast<double>(z[c]) - m) / S;
    const double a = q + eps, b = 1.0 - q + eps;
    const double f1 = 1.0 / a + 1.0 / b, f2 = 1.0 / (b * b) - 1.0 / (a * a);
    if (!u) {
        for (int j = 0; j < K; ++j) {
            const double p = exp(static_cast<double>(z[j]) - m) / S;
            out[j] = static_cast<float>(f1 * q * ((j == c ? 1.0 : 0.0) - p));
        }
        return;
    }
    double pu = 0;
    for (int j = 0; j < K; ++j) pu += exp(static_cast<double>(z[j]) - m) / S * u[j];
    const double wu = u[c] - pu;
    for (int j = 0; j < K; ++j) {
        const double p = exp(static_cast<double>(z[j]) - m) / S, w = (j == c ? 1.0 : 0.0) - p;
        out[j] = static_cast<float>(f2 * q * q * wu * w + f1 * q * (wu * w - (p * u[j] - p * pu)));
    }
}

// Selective ISNet as the authors' LRP Block computes it (isnet-edda.md A.4, LRPClassSelectiveOutputLayer, mode
// lowest) on one row z of K logits: c = the first arg-min of z; per other class k, Z_k = z_c - z_k (<= 0),
// q_k = e^{-Z_k} / (sum_{k' != c} e^{-Z_k'} + 1e-5) (their softmin denominator, e^0 of c' = c removed, stabilised by
// 1e-5), R_k = Z_k q_k, and the LRP-epsilon step through the difference layer w_c - w_k: s_k = R_k / (Z_k + eps
// sgn0(Z_k)), sgn0(0) = +1. The relevance that step gives the last layer's input a is a (W^T u) with u_k = -s_k,
// u_c = sum_{k != c} s_k: u is the seed of a gradient pass. g == nullptr: out = u; else out = J^T g, J = du/dz:
// with h_k = g_c - g_k and T = sum_k h_k s_k, dL/dZ_k = h_k q_k ((1 - Z_k)/(Z_k + eps sgn0) - Z_k/(Z_k + eps sgn0)^2)
// + q_k T; out_k = -dL/dZ_k, out_c = sum_k dL/dZ_k. In double, the exponentials shifted by their maximum.
LRP_HD void isnet_softmin_row(int K, const float* z, double eps, const float* g, float* out) {
    int c = 0;
    for (int j = 1; j < K; ++j)
        if (z[j] < z[c]) c = j;
    double m = 0;  // max_k -Z_k = max_k z_k - z_c >= 0
    for (int j = 0; j < K; ++j) m = fmax(m, static_cast<double>(z[j]) - z[c]);
    double D = 1e-5 * exp(-m);
    for (int j = 0; j < K; ++j)
        if (j != c) D += exp(static_cast<double>(z[j]) - z[c] - m);
    double T = 0, sc = 0;
    for (int j = 0; j < K; ++j) {
        if (j == c) continue;
        const double Z = static_cast<double>(z[c]) - z[j], q = exp(-Z - m) / D, den = Z + (Z >= 0.0 ? eps : -eps);
        const double s = q * Z / den;
        sc += s;
        if (g) T += (static_cast<double>(g[c]) - g[j]) * s;
        else out[j] = static_cast<float>(-s);
    }
    if (!g) {
        out[c] = static_cast<float>(sc);
        return;
    }
    double dc = 0;
    for (int j = 0; j < K; ++j) {
        if (j == c) continue;
        const double Z = static_cast<double>(z[c]) - z[j], q = exp(-Z - m) / D, den = Z + (Z >= 0.0 ? eps : -eps);
        const double dZ = (static_cast<double>(g[c]) - g[j]) * q * ((1.0 - Z) / den - Z / (den * den)) + q * T;
        out[j] = static_cast<float>(-dZ);
        dc += dZ;
    }
    out[c] = static_cast<float>(dc);
}

}  // namespace lrp::kernels
