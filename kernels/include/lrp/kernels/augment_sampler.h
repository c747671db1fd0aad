// Per-sample random decisions of the input pipeline (crop + flip or a resized crop; the Random-Erasing box, reused by
// RelDrop), host+device inline so CPU and CUDA agree bit for bit: correctly rounded operations only (explicit fma,
// sqrt, rint, own exp/log), and no rounded product feeds an addition, so FMA contraction cannot change a result.
#pragma once
#include <cmath>
#include <cstdint>

#include "lrp/kernels/descs.h"
#include "lrp/philox.h"

namespace lrp::kernels {

// ---- augment_batch: RandomCrop(padding = pad) offsets and the flip coin --------------------------
struct CropFlip {
    int dy, dx;  // crop origin in the zero-padded image, each in [0, 2*pad]
    bool flip;
};

// Uniform integer in [0, n) from 32 random bits by multiply-shift (bias < n / 2^32; no rejection, so
// the number of draws is fixed). n >= 1.
LRP_HD uint32_t uniform_below(uint32_t bits, uint32_t n) {
    return static_cast<uint32_t>((static_cast<uint64_t>(bits) * n) >> 32);
}

// Sample n of a batch uses the single Philox counter offset + n: lane 0 -> dy, lane 1 -> dx
// (both in [0, 2*pad]), lane 2 -> flip iff uniform01 < 0.5 (only when `flip` is enabled).
LRP_HD CropFlip sample_crop_flip(uint64_t seed, uint64_t offset, int64_t n, int pad, bool flip) {
    const Philox4 r = philox(seed, offset + static_cast<uint64_t>(n));
    const uint32_t span = static_cast<uint32_t>(2 * pad + 1);
    CropFlip c{0, 0, false};
    c.dy = static_cast<int>(uniform_below(r.v[0], span));
    c.dx = static_cast<int>(uniform_below(r.v[1], span));
    c.flip = flip && uniform01(r.v[2]) < 0.5f;
    return c;
}

// ---- exactly reproducible double exp/log ---------------------------------------------------------
// Library exp/log may differ by an ulp between glibc and CUDA's libdevice; these use only correctly
// rounded operations with explicit fma (no compiler contraction can change them), so host and device
// return identical bits. Accuracy: a few ulp, ample for sampling.
namespace detail {
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // high bits of ln 2 (exact times small ints)
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi
constexpr double kLog2e = 1.44269504088896338700e+00;
}  // namespace detail

// exp(x) for finite |x| < 700.
LRP_HD double portable_exp(double x) {
    const double k = rint(x * detail::kLog2e);
    double r = fma(-k, detail::kLn2Hi, x);
    r = fma(-k, detail::kLn2Lo, r);  // |r| <= ~0.347
    // Taylor series to degree 14 (remainder < 1e-18 relative), Horner with fma; coefficients 1/k!.
    double p = 1.0 / 87178291200.0;
    p = fma(p, r, 1.0 / 6227020800.0);
    p = fma(p, r, 1.0 / 479001600.0);
    p = fma(p, r, 1.0 / 39916800.0);
    p = fma(p, r, 1.0 / 3628800.0);
    p = fma(p, r, 1.0 / 362880.0);
    p = fma(p, r, 1.0 / 40320.0);
    p = fma(p, r, 1.0 / 5040.0);
    p = fma(p, r, 1.0 / 720.0);
    p = fma(p, r, 1.0 / 120.0);
    p = fma(p, r, 1.0 / 24.0);
    p = fma(p, r, 1.0 / 6.0);
    p = fma(p, r, 0.5);
    p = fma(p, r, 1.0);
    p = fma(p, r, 1.0);
    return scalbn(p, static_cast<int>(k));
}

// ln(x) for finite x > 0 (normal or subnormal).
LRP_HD double portable_log(double x) {
    int e = 0;
    double m = frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
    if (m < 0.70710678118654752440) {
        m *= 2.0;  // exact
        --e;
    }
    // ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: 2 s (1 + s^2/3 + s^4/5 + ... + s^24/25).
    const double s = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    double q = 1.0 / 25.0;
    q = fma(q, s2, 1.0 / 23.0);
    q = fma(q, s2, 1.0 / 21.0);
    q = fma(q, s2, 1.0 / 19.0);
    q = fma(q, s2, 1.0 / 17.0);
    q = fma(q, s2, 1.0 / 15.0);
    q = fma(q, s2, 1.0 / 13.0);
    q = fma(q, s2, 1.0 / 11.0);
    q = fma(q, s2, 1.0 / 9.0);
    q = fma(q, s2, 1.0 / 7.0);
    q = fma(q, s2, 1.0 / 5.0);
    q = fma(q, s2, 1.0 / 3.0);
    q = fma(q, s2, 1.0);
    const double lnm = 2.0 * (s * q);
    const double de = static_cast<double>(e);
    return fma(de, detail::kLn2Hi, fma(de, detail::kLn2Lo, lnm));
}

// Python's round() on a double: nearest integer, ties to even (rint under the default rounding mode);
// std::round would send 2.5 to 3 where Python gives 2.
LRP_HD double round_half_even(double v) { return rint(v); }

// ---- random_erasing: the box sampler (reldrop.md 4.1 / 4.6) --------------------------------------
// A plain aggregate (no member initialisers) so it may live in __shared__ memory.
struct Box {
    int top, left, h, w;
    bool valid;  // false: the sample is left untouched
};

// Counters per sample and the uniforms they hold (4 per counter).
constexpr int kEraseCountersPerSample = 64;
constexpr int kEraseUniformsPerSample = 4 * kEraseCountersPerSample;
// The stream holds 1 coin + 2 per attempt + 2 for the position: at most (256 - 1 - 2) / 2 = 126
// attempts fit. A larger max_attempts is effectively capped at 126 (then "no box", as after
// max_attempts rejections); the reference's 100 always fits.
constexpr int kEraseMaxAttemptsInStream = (kEraseUniformsPerSample - 3) / 2;

// The 32-bit words of sample n's stream, in order: word j is lane j % 4 of counter base + j / 4;
// `words` (a multiple of 4) is the stream's length (RelDrop's box streams are longer, reldrop_sampler.h).
struct EraseStream {
    uint64_t seed, base;
    int words;
    int next = 0;
    Philox4 block{};
    LRP_HD EraseStream(uint64_t s, uint64_t b, int n_words = kEraseUniformsPerSample)
        : seed(s), base(b), words(n_words) {}
    LRP_HD int left() const { return words - next; }
    LRP_HD uint32_t bits() {
        const int lane = next & 3;
        if (lane == 0) block = philox(seed, base + static_cast<uint64_t>(next >> 2));
        ++next;
        // Constant indices keep the block in registers on the device (no local-memory array).
        return lane == 0 ? block.v[0] : lane == 1 ? block.v[1] : lane == 2 ? block.v[2] : block.v[3];
    }
    // [0, 1) with 32 random bits, exact in double.
    LRP_HD double uniform() { return static_cast<double>(bits()) * 2.3283064365386963e-10; }
};

// ---- augment_batch with a resized crop: torchvision's RandomResizedCrop ----------------------------
// Sample n uses the 8 counters offset + 8n .. + 7 (32 words): the attempts' two words each (at most 10 attempts:
// 20 words), the position's two, and the flip coin in the last word (fixed, whatever the attempts used).
constexpr int kResizedCropCountersPerSample = 8;
constexpr int kResizedCropAttempts = 10;

// The crop window in the stored image, and whether the output is mirrored. A plain aggregate (__shared__).
struct CropBox {
    int top, left, h, w;
    bool flip;
};

// torchvision's RandomResizedCrop.get_params: up to 10 attempts of area = U(scale_lo, scale_hi)*H*W and aspect
// (width / height) = exp(U(ln ratio_lo, ln ratio_hi)); w = rint(sqrt(area*aspect)), h = rint(sqrt(area/aspect))
// (half to even, as Python's round), accepted iff 0 < w <= W and 0 < h <= H, then top in [0, H-h] and left in
// [0, W-w]; after 10 rejections the central crop of the whole image clamped to the ratio range.
LRP_HD CropBox sample_resized_crop(const AugmentDesc& d, uint64_t seed, uint64_t offset, int64_t n) {
    const uint64_t base = offset + static_cast<uint64_t>(n) * kResizedCropCountersPerSample;
    EraseStream st(seed, base, 4 * kResizedCropCountersPerSample);
    const double H = d.H, W = d.W, area = H * W;
    CropBox b{0, 0, d.H, d.W, false};
    bool found = false;
    for (int a = 0; a < kResizedCropAttempts && !found; ++a) {
        const double target = fma(st.uniform(), d.scale_hi - d.scale_lo, d.scale_lo) * area;
        const double aspect = portable_exp(fma(st.uniform(), d.log_ratio_hi - d.log_ratio_lo, d.log_ratio_lo));
        const double w = round_half_even(sqrt(target * aspect)), h = round_half_even(sqrt(target / aspect));
        if (!(w > 0.0 && w <= W && h > 0.0 && h <= H)) continue;
        b.h = static_cast<int>(h);
        b.w = static_cast<int>(w);
        b.top = static_cast<int>(uniform_below(st.bits(), static_cast<uint32_t>(d.H - b.h + 1)));
        b.left = static_cast<int>(uniform_below(st.bits(), static_cast<uint32_t>(d.W - b.w + 1)));
        found = true;
    }
    if (!found) {
        const double in_ratio = W / H;
        if (in_ratio < d.ratio_lo) {
            const double h = round_half_even(W / d.ratio_lo);
            b.h = h < 1.0 ? 1 : static_cast<int>(h);
        } else if (in_ratio > d.ratio_hi) {
            const double w = round_half_even(H * d.ratio_hi);
            b.w = w < 1.0 ? 1 : static_cast<int>(w);
        }
        b.top = (d.H - b.h) / 2;
        b.left = (d.W - b.w) / 2;
    }
    b.flip = d.flip && uniform01(philox(seed, base + kResizedCropCountersPerSample - 1).v[3]) < 0.5f;
    return b;
}

// The crop b of one stored channel plane (row stride W) resampled to the output grid, at output row y and column
// x (x already mirrored for a flip); sy = b.h / H_out and sx = b.w / W_out as floats. Bilinear: half-pixel centres
// as torch.nn.functional.interpolate(mode="bilinear", align_corners=False), the crop's edge pixels repeated past
// its edge (nothing outside the crop is read). Nearest: PyTorch's mode="nearest", floor(y * sy). Explicit fmaf
// only, so the CPU and CUDA give the same bits; a crop of the whole image gives its pixels exactly.
LRP_HD float resized_crop_value(const uint8_t* plane, int W, const CropBox& b, float sy, float sx, int y, int x,
                                bool nearest) {
    if (nearest) {
        int yy = static_cast<int>(floorf(static_cast<float>(y) * sy));
        int xx = static_cast<int>(floorf(static_cast<float>(x) * sx));
        yy = yy < b.h - 1 ? yy : b.h - 1;
        xx = xx < b.w - 1 ? xx : b.w - 1;
        return static_cast<float>(plane[static_cast<int64_t>(b.top + yy) * W + b.left + xx]);
    }
    const float fy = fmaxf(fmaf(static_cast<float>(y) + 0.5f, sy, -0.5f), 0.f);
    const float fx = fmaxf(fmaf(static_cast<float>(x) + 0.5f, sx, -0.5f), 0.f);
    int y0 = static_cast<int>(fy), x0 = static_cast<int>(fx);
    y0 = y0 < b.h - 1 ? y0 : b.h - 1;
    x0 = x0 < b.w - 1 ? x0 : b.w - 1;
    const int y1 = y0 + 1 < b.h ? y0 + 1 : y0, x1 = x0 + 1 < b.w ? x0 + 1 : x0;
    const float ly = fy - static_cast<float>(y0), lx = fx - static_cast<float>(x0);
    const uint8_t* r0 = plane + static_cast<int64_t>(b.top + y0) * W + b.left;
    const uint8_t* r1 = plane + static_cast<int64_t>(b.top + y1) * W + b.left;
    const float a = r0[x0], c = r0[x1], e = r1[x0], f = r1[x1];
    const float top = fmaf(lx, c - a, a), bottom = fmaf(lx, f - e, e);
    return fmaf(ly, bottom - top, top);
}

// ---- one attempt of the Random-Erasing size draw (reldrop.md 4.1), shared with RelDrop's boxes ----
struct BoxSizeParams {
    double sl, sh, log_lo, hw, H, W, area_div;
};
// area_div divides the target area (1 for Random Erasing and RelDrop block; k for RelDrop patch).
LRP_HD BoxSizeParams box_size_params(int H, int W, float sl, float sh, float r1, double area_div) {
    BoxSizeParams p;
    p.sl = sl;
    p.sh = sh;
    p.log_lo = portable_log(static_cast<double>(r1));  // <= 0; log(1/r1) taken as -log(r1)
    p.hw = static_cast<double>(H) * static_cast<double>(W);
    p.H = H;
    p.W = W;
    p.area_div = area_div;
    return p;
}

// Draws two words: area = U(sl, sh)*H*W / area_div, aspect = exp(U(ln r1, -ln r1)); h = rint(sqrt(area *
// aspect)), w = rint(sqrt(area / aspect)). True (and h, w set) iff 0 < h < H and 0 < w < W.
LRP_HD bool sample_box_size(EraseStream& st, const BoxSizeParams& p, int& h_out, int& w_out) {
    const double area = fma(st.uniform(), p.sh - p.sl, p.sl) * p.hw / p.area_div;  // / 1.0 is exact
    const double aspect = portable_exp(fma(st.uniform(), -2.0 * p.log_lo, p.log_lo));
    const double h = round_half_even(sqrt(area * aspect));
    const double w = round_half_even(sqrt(area / aspect));
    if (!(h > 0.0 && h < p.H && w > 0.0 && w < p.W)) return false;  // compared as doubles: no int overflow
    h_out = static_cast<int>(h);
    w_out = static_cast<int>(w);
    return true;
}

// Sample n's box, from the counters offset + n*64 .. + 63. Draw order: coin u (u >= p: no box); per
// attempt area = U(sl, sh)*H*W, aspect = exp(U(ln r1, -ln r1)), h = rint(sqrt(area*aspect)),
// w = rint(sqrt(area/aspect)), accepted iff 0 < h < H and 0 < w < W; then top in [0, H-h] and left in
// [0, W-w] (uniform_below). U(a, b) = fma(u, b - a, a) in double, as Python's a + (b - a) * random().
LRP_HD Box sample_erase_box(const EraseDesc& d, uint64_t seed, uint64_t offset, int64_t n) {
    Box box{0, 0, 0, 0, false};
    EraseStream st(seed, offset + static_cast<uint64_t>(n) * kEraseCountersPerSample);
    if (st.uniform() >= static_cast<double>(d.p)) return box;
    const BoxSizeParams sp = box_size_params(d.H, d.W, d.sl, d.sh, d.r1, 1.0);
    for (int a = 0; a < d.max_attempts && st.left() >= 4; ++a) {
        if (!sample_box_size(st, sp, box.h, box.w)) continue;
        box.top = static_cast<int>(uniform_below(st.bits(), static_cast<uint32_t>(d.H - box.h + 1)));
        box.left = static_cast<int>(uniform_below(st.bits(), static_cast<uint32_t>(d.W - box.w + 1)));
        box.valid = true;
        return box;
    }
    return box;
}

}  // namespace lrp::kernels
