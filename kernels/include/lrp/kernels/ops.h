// The op table: one function pointer per op, filled by each backend (cpu_ops(), cuda_ops()). A null
// entry means "not implemented on this backend" and the front end throws naming the op; nothing ever
// falls back silently to another backend. All pointers are device pointers of the table's backend;
// all shapes are given explicitly (sizes in elements); outputs are fully overwritten unless noted.
// Shape/dtype/device checks happen once in the front ends (lrp/ops/*.h); kernels assume valid input.
#pragma once
#include <cstdint>

#include "lrp/context.h"
#include "lrp/kernels/descs.h"
#include "lrp/op_profile.h"

namespace lrp::kernels {

using Ctx = ::lrp::KernelCtx;

struct OpTable {
    const char* backend = "?";

    // ---- elementwise (kernels/*/elementwise*) ------------------------------------------------
    void (*fill)(const Ctx&, float* y /*n*/, float value, int64_t n) = nullptr;
    void (*add)(const Ctx&, const float* a, const float* b, float* y, int64_t n) = nullptr;   // y = a + b
    void (*mul)(const Ctx&, const float* a, const float* b, float* y, int64_t n) = nullptr;   // y = a * b
    void (*scale)(const Ctx&, const float* x, float alpha, float* y, int64_t n) = nullptr;    // y = alpha x
    void (*axpy)(const Ctx&, float alpha, const float* x, float* y, int64_t n) = nullptr;     // y += alpha x
    void (*relu_fwd)(const Ctx&, const float* x, float* y, int64_t n) = nullptr;
    // dx = dy * (x > 0); x is the forward input (or output: same sign pattern)
    void (*relu_bwd)(const Ctx&, const float* x, const float* dy, float* dx, int64_t n) = nullptr;
    void (*clamp)(const Ctx&, const float* x, float lo, float hi, float* y, int64_t n) = nullptr;
    // y = r * sigmoid(beta x) = r / (1 + exp(-beta x))   (zennit's ReLUBetaSmooth; y may alias r)
    void (*sigmoid_mul)(const Ctx&, const float* x, float beta, const float* r, float* y, int64_t n) = nullptr;
    // y = z + eps * sgn0(z), sgn0(z) = +1 for z >= 0 (incl. -0), -1 for z < 0; NaN stays NaN
    void (*lrp_stabilize)(const Ctx&, const float* z, float eps, float* y, int64_t n) = nullptr;
    // s = r / (z + eps * sgn0(z))
    void (*lrp_eps_div)(const Ctx&, const float* r, const float* z, float eps, float* s, int64_t n) = nullptr;
    // y[n, c, i] += b[c]   (in place; y is N x C x HW)
    void (*bias_add)(const Ctx&, float* y, const float* b, int N, int C, int64_t HW) = nullptr;
    // y[r, c] = alpha * x[r]   (y is rows x cols; e.g. global-average-pool backward)
    void (*expand_rows)(const Ctx&, const float* x, float alpha, float* y, int64_t rows, int64_t cols) = nullptr;
    // counter-based random fills (lrp/philox.h streams): identical values on every backend
    void (*rng_uniform)(const Ctx&, uint64_t seed, uint64_t offset, float lo, float hi, float* y, int64_t n) = nullptr;
    void (*rng_normal)(const Ctx&, uint64_t seed, uint64_t offset, float mean, float std, float* y, int64_t n) = nullptr;

    // ---- per-channel affine maps (kernels/*/channel*) ---------------------------------------------
    // y[n, c, i] = x[n, c, i] * scale[c] + shift[c]   (shift nullable: 0); y may alias x
    void (*channel_affine)(const Ctx&, const float* x, const float* scale, const float* shift, float* y, int N,
                           int C, int64_t HW) = nullptr;
    // y[n, c, i] = x[n, c, i] * m[n, i]: a per-pixel factor shared by every channel (e.g. a background mask); y may
    // alias x
    void (*pixel_scale)(const Ctx&, const float* x, const float* m, float* y, int N, int C, int64_t HW) = nullptr;
    // Eval-mode batch norm as an affine map: scale = gamma / sqrt(var + eps), shift = beta - mean * scale
    // (gamma, beta nullable: 1 and 0), each of length C.
    void (*bn_eval_affine)(const Ctx&, int C, float eps, const float* gamma, const float* beta, const float* mean,
                           const float* var, float* scale, float* shift) = nullptr;
    // Inverted dropout mask: mask[i] = (u_i >= p) / (1 - p), u_i = philox_uniform(seed, offset, i); p < 1.
    void (*dropout_mask)(const Ctx&, uint64_t seed, uint64_t offset, float p, float* mask, int64_t n) = nullptr;

    // ---- input pipeline (kernels/*/augment*) ---------------------------------------------------
    // out[n] = normalise(flip(crop(images[indices[n]]))); sample n's randomness comes from the Philox
    // counters offset + n (lanes: crop dy, crop dx, flip), identical on every backend.
    void (*augment_batch)(const Ctx&, const AugmentDesc& d, const uint8_t* images, const int32_t* indices,
                          uint64_t seed, uint64_t offset, float* out) = nullptr;
    // In place on x (N x C x H x W); sample n uses the Philox counters offset + n * 64 .. + 63.
    void (*random_erasing)(const Ctx&, const EraseDesc& d, uint64_t seed, uint64_t offset, float* x) = nullptr;

    // ---- RelDrop masking (kernels/*/reldrop*) ---------------------------------------------------
    // map[n, i] = x[n, 0, i] + x[n, 1, i] + ... + x[n, C-1, i], summed in channel order in fp32 (the same
    // bits on every backend). x is N x C x HW, map N x HW; C >= 1.
    void (*channel_sum)(const Ctx&, const float* x, int N, int C, int64_t HW, float* map) = nullptr;
    // Per row r of x (rows x cols): idx[r, 0..k) = the indices of the k largest values in the total order
    // "value descending, NaN above +Inf (all NaNs equal), -0 == +0, equal values by lower index first"
    // (reldrop_sampler.h topk_key; deterministic). vals (nullable): vals[r, j] = x[r, idx[r, j]].
    // 1 <= k <= cols <= INT32_MAX.
    void (*topk_rows)(const Ctx&, const float* x, int64_t rows, int64_t cols, int k, int32_t* idx,
                      float* vals) = nullptr;
    // RelDrop pixel variant (reldrop.md 4.2), in place on x (N x C x H x W), from map (N x H x W). Sample n is
    // occluded iff reldrop_selected(d, seed, offset, n); a map with any non-finite value skips the sample.
    // Otherwise mn/mx = min/max of its map, rn = reldrop_rn(d.pixel_norm, v, reldrop_rn_scale(d.pixel_norm, mn,
    // mx)), u = reldrop_pixel_noise (one per pixel, shared by the channels), and pixel i gets x[n, c, i] =
    // d.fill[c] for all c iff reldrop_pixel_drops(alpha, beta, rn, u). status (nullable, N) = RelDropStatus.
    // Counters: reldrop_total_counters(d) from offset.
    void (*reldrop_pixel)(const Ctx&, const RelDropDesc& d, const float* map, uint64_t seed, uint64_t offset,
                          float* x, int32_t* status) = nullptr;
    // RelDrop block / patch (reldrop.md 4.3, 4.4; d.variant), in place on x: per sample, if selected and its
    // map (N x H x W, read only for the finiteness check) is finite, the box reldrop_box(d, ..., centres + n*k)
    // (centres: N x k flat top-k indices, e.g. from topk_rows) gets d.fill[c] in every channel c; with
    // d.patch_each the boxes reldrop_each_box(d, ..., j, centres + n*k), j = 0..k-1, in that order.
    // status (nullable, N) = RelDropStatus. Counters: reldrop_total_counters(d) from offset.
    void (*reldrop_boxes)(const Ctx&, const RelDropDesc& d, const float* map, const int32_t* centres,
                          uint64_t seed, uint64_t offset, float* x, int32_t* status) = nullptr;

    // ---- patch occlusion (kernels/*/occlusion*) -------------------------------------------------
    // In place on x (N x C x H x W; patch grid of OcclusionDesc): for every sample n and j < d.m, every pixel
    // of patch order[n * P + j] (order: N x P, P = d.P()) gets d.fill[c] in every channel c. An entry outside
    // [0, P) is skipped (the CPU front end rejects it; on CUDA entries are trusted: no host sync).
    void (*occlude_patches)(const Ctx&, const OcclusionDesc& d, const int32_t* order, float* x) = nullptr;

    // ---- EDDA windows (kernels/*/edda*) ------------------------------------------------------------
    // pos[n] = the window (EddaSelectDesc) with the largest score, pos[N + n] = the one with the smallest |score|,
    // ties to the lower flat index; both -1 when R[n] holds NaN or +-Inf. pos is 2 x N. valid (nullable, N) = 1 for
    // a finite R[n], else 0.
    void (*edda_select)(const Ctx&, const EddaSelectDesc& d, const float* relevance, int32_t* pos,
                        float* valid) = nullptr;
    // In place on x (WindowFillDesc): window pos[n] of sample n gets d.fill[c] in every channel c; pos[n] < 0 or
    // outside the window grid: untouched (entries are trusted on CUDA: no host sync).
    void (*fill_windows)(const Ctx&, const WindowFillDesc& d, const int32_t* pos, float* x) = nullptr;

    // ---- ISNet heatmap loss (kernels/*/isnet_loss*) ----------------------------------------------------------
    // loss[n] = L[n] of IsnetLossDesc, dmaps = d(sum_n loss[n] / N)/dH (N x K x C x H x W; sign(0) = 0 for |.|).
    // A sample whose maps hold NaN or +-Inf gets loss 0, gradient 0 and bad[n] = 1 (else 0).
    void (*isnet_heat_loss)(const Ctx&, const IsnetLossDesc& d, const float* maps, const float* mask, float* loss,
                            float* dmaps, int32_t* bad) = nullptr;
    // Stochastic ISNet's explained class per row n < N of K classes: top[n] when u0 < 1/2, else a uniformly drawn
    // other class floor(u1 (K - 1)) (skipping top[n]); u0, u1 = philox_uniform(seed, offset, 2n and 2n + 1).
    void (*isnet_pick_class)(const Ctx&, int64_t N, int K, const int32_t* top, uint64_t seed, uint64_t offset,
                             int32_t* cls) = nullptr;
    // Selective ISNet per row n < N of K logits z, by form (kIsnetSelectiveLogOdds: isnet_selective_row;
    // kIsnetSelectiveSoftmin: isnet_softmin_row): u == nullptr: out = the seed; else out = J^T u, J the seed's
    // Jacobian in z (for the log-odds form d^2 eta/dz^2, symmetric), N x K.
    void (*isnet_selective)(const Ctx&, int64_t N, int K, int form, const float* z, float eps, const float* u,
                            float* out) = nullptr;
    // GWRP per row m < M of L values (gwrp_row): total[m] and the weights w (M x L), the gradient of total.
    void (*gwrp_rows)(const Ctx&, int64_t M, int L, const float* v, float decay, float* total, float* w) = nullptr;

    // ---- Saliency Guided Training (kernels/*/sgt*; sgt_math.h) ---------------------------------------------------
    // Per row n < N of HW saliencies: key = -map (or -|map|), valid[n] = 1 when the row is finite, else 0.
    void (*sgt_keys)(const Ctx&, int64_t N, int64_t HW, const float* map, bool abs_value, float* key,
                     float* valid) = nullptr;
    // In place on x (N x C x HW): for sample n with valid[n] != 0 and j < k, pixel idx[n k + j] (skipped outside
    // [0, HW)) of every channel c gets sgt_fill_value(lo[n C + c], hi[n C + c], seed, offset, (n k + j) C + c).
    void (*sgt_fill)(const Ctx&, int64_t N, int C, int64_t HW, int k, const int32_t* idx, const float* valid,
                     const float* lo, const float* hi, uint64_t seed, uint64_t offset, float* x) = nullptr;
    // Per row n < N of K logits: loss[n] = valid[n] != 0 ? KL(softmax(zc) || softmax(zm)) : 0 and its gradients
    // times scale (sgt_kl_row; 0 for an invalid row); dzc may be nullptr (the clean logits detached).
    void (*sgt_kl)(const Ctx&, int64_t N, int K, const float* zc, const float* zm, const float* valid, float scale,
                   float* loss, float* dzc, float* dzm) = nullptr;

    // ---- reductions (kernels/*/reduce*) --------------------------------------------------------
    // y[r] = op over x[r, 0..cols)  (rows = 1 reduces everything); accumulation in double on the CPU
    void (*reduce_rows)(const Ctx&, ReduceOp op, const float* x, int64_t rows, int64_t cols, float* y) = nullptr;
    // idx[r] = first index of the maximum of row r (NaN counts as maximum, as in PyTorch)
    void (*argmax_rows)(const Ctx&, const float* x, int64_t rows, int64_t cols, int32_t* idx) = nullptr;
    // y[c] = sum over n, i of x[n, c, i]   (bias gradients, channel statistics)
    void (*reduce_channels)(const Ctx&, const float* x, int N, int C, int64_t HW, float* y) = nullptr;

    // out[0] = number of i with a[i] == b[i], as a float (accuracy counters stay on the device)
    void (*count_equal)(const Ctx&, const int32_t* a, const int32_t* b, int64_t n, float* out) = nullptr;

    // ---- loss (kernels/*/softmax_xent*) ------------------------------------------------------------
    // loss[i] = cross-entropy of softmax(logits[i]) against label[i] smoothed by `smoothing`
    // (PyTorch: target = (1 - s) one_hot + s / K). dlogits (nullable) = grad_scale * (softmax - target).
    // A label outside [0, K) yields NaN loss and NaN gradients for that row.
    void (*softmax_xent)(const Ctx&, const float* logits, const int32_t* labels, int N, int K, float smoothing,
                         float grad_scale, float* loss, float* dlogits) = nullptr;

    // ---- optimisers (kernels/*/optim*) -------------------------------------------------------------
    // PyTorch SGD; buf may be null when momentum == 0; first_step initialises buf with the gradient.
    void (*sgd_update)(const Ctx&, const SgdParams& p, float* w, const float* g, float* buf, int64_t n,
                       bool first_step) = nullptr;
    void (*adamw_update)(const Ctx&, const AdamWParams& p, float* w, const float* g, float* m, float* v,
                         int64_t n) = nullptr;
    // Gradient clipping factor from the summed squares, in fp32 as PyTorch's clip_grad_norm_:
    // norm[0] = sqrt(sumsq[0]), coef[0] = min(max_norm / (norm[0] + 1e-6), 1) with NaN kept (one thread).
    void (*clip_coef)(const Ctx&, const float* sumsq, float max_norm, float* norm, float* coef) = nullptr;

    // ---- GEMM (kernels/*/gemm*) --------------------------------------------------------------------
    // Row-major C[M x N] = alpha * op(A) op(B) + beta * C, op(A) M x K, op(B) K x N; lda/ldb/ldc are
    // row strides of A, B, C as stored. beta == 0 never reads C (NaN in C does not propagate).
    void (*gemm)(const Ctx&, bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                 int lda, const float* B, int ldb, float beta, float* C, int ldc) = nullptr;

    // ---- conv2d (kernels/*/conv2d*) ----------------------------------------------------------------
    // y = conv(x, w) + b (b nullable); x N x C x H x W, w K x C/g x R x S, y N x K x P x Q
    void (*conv2d_fwd)(const Ctx&, const Conv2dDesc& d, const float* x, const float* w, const float* b,
                       float* y) = nullptr;
    void (*conv2d_dgrad)(const Ctx&, const Conv2dDesc& d, const float* dy, const float* w, float* dx) = nullptr;
    void (*conv2d_wgrad)(const Ctx&, const Conv2dDesc& d, const float* x, const float* dy, float* dw) = nullptr;

    // ---- batch norm (kernels/*/batchnorm*) ---------------------------------------------------------
    // Train: batch statistics; save_mean/save_invstd (C) for backward; running stats updated in place
    // with the unbiased variance (PyTorch). Eval: running statistics.
    void (*bn_fwd_train)(const Ctx&, const BatchNormDesc& d, const float* x, const float* gamma, const float* beta,
                         float* y, float* save_mean, float* save_invstd, float* running_mean,
                         float* running_var) = nullptr;
    void (*bn_fwd_eval)(const Ctx&, const BatchNormDesc& d, const float* x, const float* gamma, const float* beta,
                        const float* running_mean, const float* running_var, float* y) = nullptr;
    void (*bn_bwd)(const Ctx&, const BatchNormDesc& d, const float* x, const float* dy, const float* gamma,
                   const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                   float* dbeta) = nullptr;

    // ---- pooling (kernels/*/pool*) -----------------------------------------------------------------
    // idx[n, c, p, q] = h * W + w of the first maximum in the window (PyTorch's index convention)
    void (*maxpool_fwd)(const Ctx&, const Pool2dDesc& d, const float* x, float* y, int32_t* idx) = nullptr;
    void (*maxpool_bwd)(const Ctx&, const Pool2dDesc& d, const float* dy, const int32_t* idx, float* dx) = nullptr;
    // y[n, c, p, q] = x[n, c, idx[n, c, p, q]]: the max-pool's linearisation at a stored routing (the
    // adjoint of maxpool_bwd; differentiable LRP runs it forward on adjoints)
    void (*maxpool_gather)(const Ctx&, const Pool2dDesc& d, const float* x, const int32_t* idx, float* y) = nullptr;
    void (*avgpool_fwd)(const Ctx&, const Pool2dDesc& d, const float* x, float* y) = nullptr;
    void (*avgpool_bwd)(const Ctx&, const Pool2dDesc& d, const float* dy, float* dx) = nullptr;
};

const OpTable& cpu_ops();
const OpTable& cuda_ops();          // throws in CPU-only builds
const OpTable& ops_for(Device d);   // throws if the device cannot be used

[[noreturn]] void throw_missing_op(const char* name, const char* backend);

// Returns f, or throws "<name>: not implemented for the <backend> backend".
template <class F>
F require_op(F f, const char* name, const OpTable& t) {
    if (!f) throw_missing_op(name, t.backend);
    return f;
}

// An op-table entry that times itself under its name while the op profile is on (lrp/op_profile.h).
template <class... A>
struct ProfiledOp {
    void (*f)(const Ctx&, A...);
    const char* name;
    void operator()(const Ctx& c, A... a) const {
        if (!profile::enabled()) return f(c, a...);
        profile::Scope timed(name, c.device);
        f(c, a...);
    }
};
template <class... A>
ProfiledOp<A...> profiled(void (*f)(const Ctx&, A...), const char* name) {
    return {f, name};
}

}  // namespace lrp::kernels

// LRP_OP(device, conv2d_fwd)(ctx, ...): the entry for `device`, or a clear error when it is missing; timed
// under its name when the op profile is on.
#define LRP_OP(device, name)                                                                                 \
    ::lrp::kernels::profiled(                                                                                \
        ::lrp::kernels::require_op(::lrp::kernels::ops_for(device).name, #name, ::lrp::kernels::ops_for(device)), \
        #name)
