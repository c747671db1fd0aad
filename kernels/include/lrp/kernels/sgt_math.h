// Scalar pieces of Saliency Guided Training (isnet-edda.md Part C) shared by the CPU and CUDA kernels (LRP_HD):
// the bottom-k keys of a saliency map row, the fill of one masked element, and the KL term with its gradients.
#pragma once
#include "lrp/philox.h"  // LRP_HD (and <cmath>)

namespace lrp::kernels {

// One row of HW saliencies s: key[j] = -s[j] (or -|s[j]| with abs), so the k largest keys are the k smallest
// saliencies; returns 1 when every s[j] is finite, else 0.
LRP_HD float sgt_keys_row(int64_t HW, const float* s, bool abs_value, float* key) {
    bool finite = true;
    for (int64_t j = 0; j < HW; ++j) {
        const float v = s[j];
        finite = finite && fabsf(v) <= 3.402823466e38f;  // false for NaN and +-Inf
        key[j] = abs_value ? -fabsf(v) : -v;
    }
    return finite ? 1.f : 0.f;
}

// The value written at masked element (n, j-th index, channel c): fma(u, hi - lo, lo) with u = philox_uniform(seed,
// offset, (n k + j) C + c) in [0, 1) (one rounding, so every backend gives the same bits); lo == hi gives lo.
LRP_HD float sgt_fill_value(float lo, float hi, uint64_t seed, uint64_t offset, uint64_t counter) {
    if (lo == hi) return lo;
    return fmaf(philox_uniform(seed, offset, counter), hi - lo, lo);
}

// One row of K logits: zc of the clean input, zm of the masked one; p = softmax(zc), q = softmax(zm).
// Returns KL(p || q) = sum_k p_k (log p_k - log q_k) and writes its gradients times `scale`: dzm = scale (q - p),
// dzc = scale p (a - KL) with a = log p - log q (dzc == nullptr: the clean logits are a constant target). In double.
LRP_HD float sgt_kl_row(int K, const float* zc, const float* zm, double scale, float* dzc, float* dzm) {
    double mc = zc[0], mm = zm[0];
    for (int j = 1; j < K; ++j) {
        mc = zc[j] > mc ? zc[j] : mc;
        mm = zm[j] > mm ? zm[j] : mm;
    }
    double sc = 0, sm = 0;
    for (int j = 0; j < K; ++j) {
        sc += exp(zc[j] - mc);
        sm += exp(zm[j] - mm);
    }
    const double lsc = log(sc), lsm = log(sm);
    double kl = 0;
    for (int j = 0; j < K; ++j) {
        const double lp = zc[j] - mc - lsc, lq = zm[j] - mm - lsm;
        kl += exp(lp) * (lp - lq);
    }
    for (int j = 0; j < K; ++j) {
        const double lp = zc[j] - mc - lsc, lq = zm[j] - mm - lsm, p = exp(lp);
        dzm[j] = static_cast<float>(scale * (exp(lq) - p));
        if (dzc) dzc[j] = static_cast<float>(scale * p * (lp - lq - kl));
    }
    return static_cast<float>(kl);
}

// One row of OpTable::sgt_kl: sgt_kl_row for valid != 0; else loss 0 and zero gradients.
LRP_HD float sgt_kl_valid_row(int K, const float* zc, const float* zm, float valid, double scale, float* dzc,
                              float* dzm) {
    if (valid != 0.f) return sgt_kl_row(K, zc, zm, scale, dzc, dzm);
    for (int j = 0; j < K; ++j) {
        dzm[j] = 0.f;
        if (dzc) dzc[j] = 0.f;
    }
    return 0.f;
}

}  // namespace lrp::kernels
