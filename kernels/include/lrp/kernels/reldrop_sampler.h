// RelDrop's per-sample decisions, host+device inline so the CPU and CUDA ops agree bit for bit: the top-k
// ordering key, the Philox counter layout, the coins, the pixel threshold and the relevance-centred box
// (size from augment_sampler.h's Random-Erasing sampler; reldrop.md 4.1-4.4).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "lrp/kernels/augment_sampler.h"
#include "lrp/kernels/descs.h"
#include "lrp/philox.h"

namespace lrp::kernels {

// ---- top-k order: value descending, NaN above +Inf, -0 == +0, ties -> lower index ------------------
// Monotone map of a float to uint32 under that order (all NaNs equal, the largest).
LRP_HD uint32_t float_order_key(float v) {
    if (v != v) return 0xFFFFFFFFu;
    if (v == 0.f) v = 0.f;  // -0 ties +0
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
// A unique 64-bit key per (value, index): larger key = earlier in the top-k list.
LRP_HD uint64_t topk_key(float v, uint32_t index) {
    return (static_cast<uint64_t>(float_order_key(v)) << 32) | static_cast<uint64_t>(~index);
}
LRP_HD int32_t topk_key_index(uint64_t key) { return static_cast<int32_t>(~static_cast<uint32_t>(key)); }

// ---- counter layout of one RelDrop call (offset = the first counter reserved) ----------------------
//   offset + 0                    the batch coin (word 0), used when !per_sample
//   offset + 1 + n*S .. + S - 1   sample n's stream (S = reldrop_counters_per_sample): word 0 = its coin
//                                 (used when per_sample), then the box draws (block/patch; patch_each: one
//                                 stream per box from the next counter on)
//   offset + 1 + N*S ..           pixel only: the noise u of pixel i of sample n is
//                                 philox_uniform(seed, that base, n*H*W + i)
// Size attempts of one box: max_attempts per round, k rounds for patch (reldrop.md 4.4), capped here
// (so a sample's work and stream stay bounded; the reference's block 100 and patch 100*k <= 2048 fit).
constexpr int kRelDropMaxAttempts = 2048;

LRP_HD bool reldrop_is_boxes(const RelDropDesc& d) { return d.variant != RelDropVariant::Pixel; }

LRP_HD int reldrop_attempts(const RelDropDesc& d) {
    const int64_t rounds = d.variant == RelDropVariant::Patch ? d.k : 1;
    const int64_t a = static_cast<int64_t>(d.max_attempts) * rounds;
    return static_cast<int>(a < kRelDropMaxAttempts ? a : kRelDropMaxAttempts);
}

// patch_each: the size attempts of each of the k boxes (max_attempts, capped like one box's).
LRP_HD int reldrop_each_attempts(const RelDropDesc& d) {
    return d.max_attempts < kRelDropMaxAttempts ? d.max_attempts : kRelDropMaxAttempts;
}
// Counters of one of patch_each's box streams: 2 words per attempt.
LRP_HD uint64_t reldrop_each_counters(const RelDropDesc& d) {
    return (2 * static_cast<uint64_t>(reldrop_each_attempts(d)) + 3) / 4;
}

// Words of a box stream: 1 coin + 2 per attempt + 1 centre draw, rounded up to whole counters. patch_each:
// the coin's counter, then box j's own stream of reldrop_each_counters at 1 + j * reldrop_each_counters.
LRP_HD uint64_t reldrop_counters_per_sample(const RelDropDesc& d) {
    if (!reldrop_is_boxes(d)) return 1;
    if (d.patch_each) return 1 + static_cast<uint64_t>(d.k) * reldrop_each_counters(d);
    return (2 * static_cast<uint64_t>(reldrop_attempts(d)) + 2 + 3) / 4;
}
LRP_HD uint64_t reldrop_sample_base(const RelDropDesc& d, uint64_t offset, int64_t n) {
    return offset + 1 + static_cast<uint64_t>(n) * reldrop_counters_per_sample(d);
}
LRP_HD uint64_t reldrop_noise_base(const RelDropDesc& d, uint64_t offset) {
    return reldrop_sample_base(d, offset, d.N);
}
// Counters one call consumes (what the front end reserves from the Generator).
LRP_HD uint64_t reldrop_total_counters(const RelDropDesc& d) {
    uint64_t c = 1 + static_cast<uint64_t>(d.N) * reldrop_counters_per_sample(d);
    if (!reldrop_is_boxes(d)) c += philox_uniform_counters(static_cast<uint64_t>(d.N) * d.H * d.W);
    return c;
}

// ---- coins ------------------------------------------------------------------------------------------
// The batch coin: u = word 0 of counter `offset` (32 bits, in [0, 1)); selected iff u < p (reference:
// `if uniform(0, 1) >= p: return x`), so p = 0 never and p = 1 always selects.
LRP_HD bool reldrop_batch_coin(const RelDropDesc& d, uint64_t seed, uint64_t offset) {
    EraseStream st(seed, offset, 4);
    return st.uniform() < static_cast<double>(d.p);
}
// Whether sample n is occluded at all: its own coin (per_sample) or the batch coin.
LRP_HD bool reldrop_selected(const RelDropDesc& d, uint64_t seed, uint64_t offset, int64_t n) {
    if (!d.per_sample) return reldrop_batch_coin(d, seed, offset);
    EraseStream st(seed, reldrop_sample_base(d, offset, n), 4);
    return st.uniform() < static_cast<double>(d.p);
}

// ---- pixel variant (reldrop.md 4.2) ------------------------------------------------------------------
// rn of a map value v from the sample's finite extremes mn <= mx (each +0 rather than -0), by pixel_norm:
//   SignedMinMax (reference): (v - mn) / (mx - mn); every rn 0 unless |mx - mn| > 1e-6 (the reference's guard).
//     Where the map has negative relevance, a pixel of zero relevance sits mid-range and can be dropped.
//   PositiveMax: max(v, 0) / mx; every rn 0 unless mx > 1e-6 (negative or zero relevance never adds to a drop).
//   AbsMax: |v| / max(|mn|, |mx|); every rn 0 unless that is > 1e-6 (evidence against the class counts as well).
struct RnScale {
    float lo, range;
    bool ok;
};
LRP_HD RnScale reldrop_rn_scale(RelDropPixelNorm norm, float mn, float mx) {
    if (norm == RelDropPixelNorm::PositiveMax) return {0.f, mx, mx > 1e-6f};
    if (norm == RelDropPixelNorm::AbsMax) {
        const float a = fmaxf(fabsf(mn), fabsf(mx));
        return {0.f, a, a > 1e-6f};
    }
    return {mn, mx - mn, fabsf(mx - mn) > 1e-6f};
}
LRP_HD float reldrop_rn(RelDropPixelNorm norm, float v, const RnScale& s) {
    if (!s.ok) return 0.f;
    const float t = norm == RelDropPixelNorm::SignedMinMax  ? v - s.lo
                    : norm == RelDropPixelNorm::PositiveMax ? fmaxf(v, 0.f)
                                                            : fabsf(v);
    return t / s.range;
}
// drop iff alpha*u + (1 - alpha)*rn >= 1 - beta, evaluated as fmaf(alpha, u, (1 - alpha)*rn): explicit
// fma and no other product feeding an addition, so no compiler contraction can change a decision.
LRP_HD bool reldrop_pixel_drops(float alpha, float beta, float rn, float u) {
    return fmaf(alpha, u, (1.f - alpha) * rn) >= 1.f - beta;
}
LRP_HD float reldrop_pixel_noise(const RelDropDesc& d, uint64_t seed, uint64_t offset, int64_t n, int64_t i) {
    const uint64_t HW = static_cast<uint64_t>(d.H) * static_cast<uint64_t>(d.W);
    const uint64_t e = static_cast<uint64_t>(n) * HW + static_cast<uint64_t>(i);
    return philox_uniform(seed, reldrop_noise_base(d, offset), e);
}

// ---- block / patch (reldrop.md 4.3, 4.4) -------------------------------------------------------------
// The h x w box centred on flat pixel c: centre (row, col) = (c / W, c % W), r0 = rint(row - h/2),
// c0 = rint(col - w/2) (half-to-even); the box [max(0, r0), min(H, r0 + h)) x [max(0, c0), min(W, c0 + w))
// is truncated at the border (the reference), or with d.box_shift moved inside whole: [r, r + h) x [c, c + w)
// with r = min(max(r0, 0), H - h), c likewise (h < H, w < W, so it fits and still holds the centre;
// reldrop.md Q9). Returned clipped; !valid if empty or c is not a pixel of the map.
// Note (reference geometry): with h == 1 (or w == 1) the half-to-even start can put the box beside the
// centre (row 3, h 1: r0 = rint(2.5) = 2); for h, w >= 2 the box always contains the centre.
LRP_HD Box reldrop_place_box(const RelDropDesc& d, int h, int w, int32_t c) {
    Box box{0, 0, 0, 0, false};
    if (c < 0 || c / d.W >= d.H) return box;  // not a pixel of the map (invalid input): no box there
    const double row = static_cast<double>(c / d.W), col = static_cast<double>(c % d.W);
    const int r0 = static_cast<int>(round_half_even(row - 0.5 * h));
    const int c0 = static_cast<int>(round_half_even(col - 0.5 * w));
    int rs = r0 > 0 ? r0 : 0, re = r0 + h < d.H ? r0 + h : d.H;
    int cs = c0 > 0 ? c0 : 0, ce = c0 + w < d.W ? c0 + w : d.W;
    if (d.box_shift) {
        rs = r0 < 0 ? 0 : r0 > d.H - h ? d.H - h : r0;
        cs = c0 < 0 ? 0 : c0 > d.W - w ? d.W - w : c0;
        re = rs + h;
        ce = cs + w;
    }
    if (re > rs && ce > cs) {
        box.top = rs;
        box.left = cs;
        box.h = re - rs;
        box.w = ce - cs;
        box.valid = true;
    }
    return box;
}

// Sample n's box given its top-k flat indices `centres` (k entries, sorted by descending relevance), the
// coin already passed. Per attempt, in order: the size (sample_box_size; area / k for patch), then
// j = uniform_below(word, k) and reldrop_place_box on centres[j]; the first valid box is returned.
LRP_HD Box reldrop_box(const RelDropDesc& d, uint64_t seed, uint64_t offset, int64_t n, const int32_t* centres) {
    const int words = static_cast<int>(4 * reldrop_counters_per_sample(d));
    EraseStream st(seed, reldrop_sample_base(d, offset, n), words);
    (void)st.bits();  // word 0: the sample's coin (reldrop_selected)
    const double area_div = d.variant == RelDropVariant::Patch ? static_cast<double>(d.k) : 1.0;
    const BoxSizeParams sp = box_size_params(d.H, d.W, d.sl, d.sh, d.r1, area_div);
    const int attempts = reldrop_attempts(d);
    for (int a = 0; a < attempts && st.left() >= 3; ++a) {
        int h = 0, w = 0;
        if (!sample_box_size(st, sp, h, w)) continue;
        const uint32_t j = uniform_below(st.bits(), static_cast<uint32_t>(d.k));
        const Box box = reldrop_place_box(d, h, w, centres[j]);
        if (box.valid) return box;
    }
    return Box{0, 0, 0, 0, false};
}

// patch_each (reldrop.md Q8): box j of sample n, on centres[j], sized from its own stream (counters
// sample base + 1 + j * reldrop_each_counters; attempts as the size draw of reldrop_box, area / k).
LRP_HD Box reldrop_each_box(const RelDropDesc& d, uint64_t seed, uint64_t offset, int64_t n, int j,
                            const int32_t* centres) {
    const uint64_t base = reldrop_sample_base(d, offset, n) + 1 + static_cast<uint64_t>(j) * reldrop_each_counters(d);
    EraseStream st(seed, base, static_cast<int>(4 * reldrop_each_counters(d)));
    const BoxSizeParams sp = box_size_params(d.H, d.W, d.sl, d.sh, d.r1, static_cast<double>(d.k));
    for (int a = 0; a < reldrop_each_attempts(d) && st.left() >= 2; ++a) {
        int h = 0, w = 0;
        if (sample_box_size(st, sp, h, w)) return reldrop_place_box(d, h, w, centres[j]);
    }
    return Box{0, 0, 0, 0, false};
}

}  // namespace lrp::kernels
