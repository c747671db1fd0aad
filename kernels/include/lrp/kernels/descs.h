// Shape descriptors shared by the CPU and CUDA kernels (plain structs, no CUDA types). Output sizes
// follow PyTorch's formulas exactly (including ceil_mode for pooling).
#pragma once
#include <cstdint>

namespace lrp::kernels {

// Conv2d over NCHW input; weight K x (C/groups) x R x S (PyTorch layout); output N x K x P x Q.
struct Conv2dDesc {
    int N = 1, C = 1, H = 1, W = 1;  // input
    int K = 1;                        // output channels
    int R = 1, S = 1;                 // kernel height, width
    int stride_h = 1, stride_w = 1;
    int pad_h = 0, pad_w = 0;
    int dil_h = 1, dil_w = 1;
    int groups = 1;
    int P() const { return (H + 2 * pad_h - dil_h * (R - 1) - 1) / stride_h + 1; }
    int Q() const { return (W + 2 * pad_w - dil_w * (S - 1) - 1) / stride_w + 1; }
};

// Batch norm over N x C x HW (HW = H*W); statistics per channel.
struct BatchNormDesc {
    int N = 1, C = 1;
    int64_t HW = 1;
    float eps = 1e-5f;
    float momentum = 0.1f;  // PyTorch convention: running = (1 - momentum) * running + momentum * batch
};

// 2-D pooling over NCHW. Output size per PyTorch (floor or ceil mode; in ceil mode the last window
// must start inside the input or left padding). Average pooling uses dil = 1.
struct Pool2dDesc {
    int N = 1, C = 1, H = 1, W = 1;
    int kh = 1, kw = 1;
    int sh = 1, sw = 1;
    int ph = 0, pw = 0;
    int dil_h = 1, dil_w = 1;   // max-pool only
    bool ceil_mode = false;
    bool count_include_pad = true;  // avg-pool: padded zeros count in the divisor
    int divisor_override = 0;       // avg-pool: > 0 replaces the divisor
    // Adaptive avg-pool (PyTorch AdaptiveAvgPool2d): > 0 = output size; window p spans input rows
    // [floor(p*H/P), ceil((p+1)*H/P)) and the kernel/stride/padding fields are unused.
    int adapt_h = 0, adapt_w = 0;
    int P() const { return adapt_h > 0 ? adapt_h : out_size(H, kh, sh, ph, dil_h); }
    int Q() const { return adapt_w > 0 ? adapt_w : out_size(W, kw, sw, pw, dil_w); }
    // PyTorch's pooling_output_shape in 64 bits, rounding down (div_rtn): a window larger than the padded input gives
    // <= 0 (refused by the front ends), not 1 as a division truncated toward zero would; clamped to the int range.
    int out_size(int in, int k, int s, int p, int d) const {
        const int64_t num = int64_t{in} + 2 * int64_t{p} - int64_t{d} * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
        int64_t o = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
        if (ceil_mode && (o - 1) * s >= int64_t{in} + p) --o;
        return o < -1 ? -1 : o > INT32_MAX ? INT32_MAX : static_cast<int>(o);
    }
};

enum class ReduceOp { Sum, Mean, Max, Min, SumSq };

struct SgdParams {
    float lr = 0.1f;
    float momentum = 0.f;
    float dampening = 0.f;
    float weight_decay = 0.f;
    bool nesterov = false;
};

struct AdamWParams {
    float lr = 1e-3f;
    float beta1 = 0.9f, beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 1e-2f;
    int64_t step = 1;  // 1-based step count, for bias correction
};

// On-device input pipeline: uint8 images (a resident dataset, N_total x C x H x W) -> a normalised fp32
// batch, with per-sample random crop (zero padding `pad`, PyTorch RandomCrop(padding=pad) semantics),
// horizontal flip (p = 0.5) and per-channel normalisation (x/255 - mean) / std.
struct AugmentDesc {
    int N = 1;              // batch size (rows of `indices`)
    int64_t rows = 0;       // images in the resident dataset; an index outside [0, rows) is an error (CPU)
                            // or a NaN image (CUDA: no host sync)
    int C = 1, H = 1, W = 1;
    int pad = 0;            // 0: no random crop
    bool flip = false;
    // RandomResizedCrop of the stored image, resampled to its own H x W (replaces the padded crop: pad is 0):
    // crop area / image area in [scale_lo, scale_hi], width / height log-uniform in [ratio_lo, ratio_hi];
    // bilinear, or nearest for masks (augment_sampler.h)
    bool resized_crop = false, nearest = false;
    double scale_lo = 0.08, scale_hi = 1.0, ratio_lo = 0.75, ratio_hi = 4.0 / 3.0;
    double log_ratio_lo = 0, log_ratio_hi = 0;  // ln of ratio_lo / ratio_hi (set by the front end)
    float mean[4] = {0, 0, 0, 0};
    float std[4] = {1, 1, 1, 1};
};

// Random Erasing (Zhong et al.; RelDrop's box sampler, reldrop.md 4.1/4.6) applied in place to a
// normalised batch: per sample, with probability p, a box of area U(sl, sh)*H*W and log-uniform aspect
// in [r1, 1/r1] (sides rounded half-to-even, accepted only if 0 < h < H and 0 < w < W, at most
// max_attempts tries) at a uniform position is filled with value[c].
struct EraseDesc {
    int N = 1, C = 1, H = 1, W = 1;
    float p = 0.5f;
    float sl = 0.02f, sh = 0.4f, r1 = 0.3f;
    int max_attempts = 100;
    float value[4] = {0, 0, 0, 0};
};

// RelDrop (reldrop.md 4.2-4.4, 10) in place on a normalised batch x (N x C x H x W, C <= 4), driven by
// the channel-summed relevance map (N x H x W). Counter layout and draw order: reldrop_sampler.h.
enum class RelDropVariant : int32_t { Pixel = 0, Block = 1, Patch = 2 };

// Per-sample outcome the RelDrop ops write to their (nullable) status array.
enum RelDropStatus : int32_t {
    kRelDropNotSelected = 0,  // the coin (per sample or per batch) said no: x untouched
    kRelDropApplied = 1,      // pixel: the mask was applied (possibly to no pixel); boxes: one box filled
    kRelDropNoBox = 2,        // boxes: every size attempt was rejected: x untouched (reference: silent no-op)
    kRelDropNonFinite = 3,    // the sample's map holds NaN or +-Inf: skipped, x untouched (lrpcu choice)
    kRelDropAppliedFlat = 4,  // applied as kRelDropApplied, but the map ranked nothing: boxes: every value equal
                              // (the top-k ties fall to the lowest flat indices: the top-left corner); pixel: rn = 0
                              // everywhere (range <= 1e-6 under pixel_norm), so the noise alone decided
};

// How the pixel variant scales a sample's map to rn in [0, 1] (reldrop.md Q3; reldrop_sampler.h).
enum class RelDropPixelNorm { SignedMinMax, PositiveMax, AbsMax };

struct RelDropDesc {
    int N = 1, C = 1, H = 1, W = 1;
    RelDropVariant variant = RelDropVariant::Block;
    bool per_sample = false;          // one coin per sample (true) or one for the whole batch (false)
    float p = 0.5f;                   // a coin selects iff u < p (u uniform in [0, 1), 32 bits)
    float alpha = 0.3f, beta = 0.5f;  // pixel: drop iff alpha*u + (1 - alpha)*rn >= 1 - beta
    RelDropPixelNorm pixel_norm = RelDropPixelNorm::SignedMinMax;
    int k = 1;                        // block/patch: candidate centres (columns of the top-k indices)
    float sl = 0.02f, sh = 0.4f, r1 = 0.3f;
    int max_attempts = 100;           // size attempts per round (block: 1 round, patch: k rounds)
    bool box_shift = false;           // block/patch: a box crossing the border is moved inside (else truncated)
    bool patch_each = false;          // patch: a box of area / k on each of the k centres (else one on a random one)
    float fill[4] = {0, 0, 0, 0};     // written into every channel c of an occluded pixel
};

// Patch occlusion (lrpcu eval --occlusion) in place on a normalised batch x (N x C x H x W, C <= 4). The
// image is tiled row-major by patch x patch squares: ph = ceil(H / patch) rows, pw = ceil(W / patch)
// columns, P = ph * pw patches (the last row / column may be partial); pixel (h, w) lies in patch
// (h / patch) * pw + w / patch. The patches order[n, 0..m) of sample n get fill[c] in every channel c.
struct OcclusionDesc {
    int N = 1, C = 1, H = 1, W = 1;
    int patch = 1;
    int m = 0;                     // patches occluded per sample, 0 <= m <= P
    float fill[4] = {0, 0, 0, 0};
    int ph() const { return (H + patch - 1) / patch; }
    int pw() const { return (W + patch - 1) / patch; }
    int P() const { return ph() * pw(); }
};

// EDDA's window choice (docs/edda.md) from a relevance map R (N x C x H x W, any C >= 1): the pixel score is
// v[n, y, x] = sum over c of f(R[n, c, y, x]) (f = identity, |.| or max(., 0); double, channel order), the
// window score of the patch x patch window with top-left (y0, x0) is sum_dy sum_dx v (double: first down each
// column, dy in order, then across, dx in order: the same bits on every backend). Windows: (H - patch + 1) x
// (W - patch + 1), flat index y0 * (W - patch + 1) + x0.
enum class EddaReduce : int32_t { Sum = 0, Abs = 1, Relu = 2 };
struct EddaSelectDesc {
    int N = 1, C = 1, H = 1, W = 1;
    int patch = 1;  // 1 <= patch <= min(H, W)
    EddaReduce reduce = EddaReduce::Sum;
    int wh() const { return H - patch + 1; }
    int ww() const { return W - patch + 1; }
};

// Square windows filled in place on x (N x C x H x W, C <= 4): sample n's window (top-left flat index pos[n]
// in the (H - patch + 1) x (W - patch + 1) grid of EddaSelectDesc) gets fill[c] in every channel c; pos[n] < 0
// leaves the sample untouched.
struct WindowFillDesc {
    int N = 1, C = 1, H = 1, W = 1;
    int patch = 1;
    float fill[4] = {0, 0, 0, 0};
    int ww() const { return W - patch + 1; }
};

// ISNet's heatmap loss (isnet-edda.md A.1; normalisation absRoIMean, foreground terms L2) over maps
// H (N x K x C x H x W: K maps per image, C channels) and masks M (N x H x W; m = 1[M != 0] is foreground).
// Per sample n and map k, with a = |H|:
//   mu = sum_{c,y,x} a m / (C sum_{y,x} m + 1e-10);  v = a (1 - m) / (mu + 1e-10)
//   g[c] = GWRP_decay(v over the H W pixels of channel c) = sum_i decay^i v_(i) / sum_i decay^i, v_(i) sorted
//          descending (ties: lower pixel index first), so decay 0 is the maximum and 1 the mean
//   L_bg = mean_{k,c} -log(1 - min(g / (g + E), 1 - 1e-7))
//   F = sum_{c,y,x} a m;  L_fg = mean_k [(min(F/C1, 1) - 1)^2 + high(F)], by foreground mode (the authors'
//   alternativeForeground): L2 (the original) high = (max(F/C1, C2/C1) - C2/C1)^2; L1 high = max(F, C2) - C2;
//   hybrid (Faster ISNet) high = the L2 term up to F = C1 + C2, then (F - C1 - C2) + 1
//   L[n] = A L_bg + B L_fg
struct IsnetLossDesc {
    int N = 1, K = 1, C = 1, H = 1, W = 1;
    float decay = 0.9f;   // GWRP decay d in [0, 1]
    float E = 1.f;        // > 0
    float A = 1.f, B = 3.f;
    float C1 = 1.f, C2 = 25.f;  // 0 < C1 <= C2
    int foreground = 0;         // kIsnetForegroundL2 | L1 | Hybrid
};
constexpr int kIsnetForegroundL2 = 0, kIsnetForegroundL1 = 1, kIsnetForegroundHybrid = 2;
// Selective ISNet's seed: LRP-Flex's log-odds of the lowest logit's probability (isnet_selective_row) or the LRP
// Block's softmin redistribution over the logit differences (isnet_softmin_row).
constexpr int kIsnetSelectiveLogOdds = 0, kIsnetSelectiveSoftmin = 1;

}  // namespace lrp::kernels
