// Front ends of lrp/ops/reldrop.h: argument checks (each error names the argument and the accepted
// values), the RelDrop descriptor, counter reservation from the Generator, temporaries, NVTX ranges and
// dispatch through the op table. Nothing here reads device memory.
#include "lrp/ops/reldrop.h"

#include <cmath>
#include <limits>
#include <optional>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/kernels/reldrop_sampler.h"
#include "lrp/nvtx.h"
#include "lrp/parse.h"

namespace lrp::ops {

namespace {
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// x is F32 [N, C, H, W] with int-sized dimensions; C <= max_c.
void check_batch(const char* op, const char* arg, const Tensor& x, int64_t max_c) {
    check_defined(op, arg, x);
    check_dtype(op, arg, x, DType::F32);
    check_ndim(op, arg, x, 4);
    LRP_CHECK(x.dim(1) >= 1 && x.dim(1) <= max_c, op, ": ", arg, " has ", x.dim(1), " channels (shape ",
              x.shape().str(), "), expected 1 to ", max_c);
    LRP_CHECK(x.dim(2) >= 1 && x.dim(3) >= 1, op, ": ", arg, " has an empty image (shape ", x.shape().str(), ")");
    LRP_CHECK(x.dim(0) <= kIntMax && x.dim(1) * x.dim(2) * x.dim(3) <= kIntMax, op, ": ", arg,
              " is too large (shape ", x.shape().str(), ")");
}

// map is F32 [N, H, W] or [N, H*W] on dev.
void check_map(const char* op, const Tensor& map, int64_t N, int64_t H, int64_t W, Device dev) {
    check_defined(op, "map", map);
    check_dtype(op, "map", map, DType::F32);
    check_device(op, "map", map, dev);
    LRP_CHECK(map.shape() == Shape({N, H, W}) || map.shape() == Shape({N, H * W}), op, ": map has shape ",
              map.shape().str(), ", expected [", N, ", ", H, ", ", W, "] or [", N, ", ", H * W, "]");
}

bool is_pixel(const std::string& v) { return v == "pixel"; }
}  // namespace

void channel_sum(const Tensor& x, const Tensor& map) {
    const char* op = "channel_sum";
    check_batch(op, "x", x, kIntMax);
    const int64_t N = x.dim(0), H = x.dim(2), W = x.dim(3);
    check_map(op, map, N, H, W, x.device());
    if (N == 0) return;
    LRP_NVTX_RANGE("channel_sum");
    LRP_OP(x.device(), channel_sum)(kernel_ctx(x.device()), x.data<float>(), static_cast<int>(N),
                                    static_cast<int>(x.dim(1)), H * W, map.data<float>());
}

Tensor channel_sum(const Tensor& x) {
    check_batch("channel_sum", "x", x, kIntMax);
    Tensor map = Tensor::empty(Shape{x.dim(0), x.dim(2), x.dim(3)}, DType::F32, x.device());
    channel_sum(x, map);
    return map;
}

void topk_rows(const Tensor& x, int k, const Tensor& idx, const Tensor& vals) {
    const char* op = "topk_rows";
    check_defined(op, "x", x);
    check_dtype(op, "x", x, DType::F32);
    LRP_CHECK(x.ndim() >= 1, op, ": argument 'x' is a 0-d tensor");
    const int64_t rows = x.dim(0), cols = rows > 0 ? x.numel() / rows : 0;
    LRP_CHECK(rows == 0 || (cols >= 1 && cols <= kIntMax), op, ": rows of x ", x.shape().str(),
              " must hold 1 to ", kIntMax, " values");
    LRP_CHECK(k >= 1 && (rows == 0 || k <= cols), op, ": k must be in [1, ", cols, "] (the values per row of x ",
              x.shape().str(), "), got ", k);
    check_defined(op, "idx", idx);
    check_dtype(op, "idx", idx, DType::I32);
    check_shape(op, "idx", idx, Shape{rows, k});
    check_device(op, "idx", idx, x.device());
    if (vals.defined()) {
        check_dtype(op, "vals", vals, DType::F32);
        check_shape(op, "vals", vals, Shape{rows, k});
        check_device(op, "vals", vals, x.device());
    }
    if (rows == 0) return;
    LRP_NVTX_RANGE("topk_rows");
    LRP_OP(x.device(), topk_rows)(kernel_ctx(x.device()), x.data<float>(), rows, cols, k, idx.data<int32_t>(),
                                  vals.defined() ? vals.data<float>() : nullptr);
}

std::vector<float> reldrop_fill(const std::string& mode, const std::vector<float>& mean,
                                const std::vector<float>& stdev, const char* flag) {
    const char* op = flag;
    LRP_CHECK(!mean.empty() && mean.size() == stdev.size(), op, ": mean (", mean.size(), " values) and std (",
              stdev.size(), " values) must be non-empty and of equal length");
    for (size_t c = 0; c < mean.size(); ++c)
        LRP_CHECK(std::isfinite(mean[c]) && std::isfinite(stdev[c]) && stdev[c] > 0.f, op, ": mean[", c, "] = ",
                  mean[c], ", std[", c, "] = ", stdev[c], " (need finite values and std > 0)");
    auto number = [&](const std::string& text) {
        const std::optional<float> v = parse_finite_float(text);
        LRP_CHECK(v.has_value(), op, ": '", mode, "' does not end in a finite number");
        return *v;
    };
    std::vector<float> fill(mean.size());
    if (mode == "reference") {
        fill = mean;
    } else if (mode == "mean") {
        fill.assign(mean.size(), 0.f);
    } else if (mode.rfind("raw:", 0) == 0) {
        const float v = number(mode.substr(4));
        for (size_t c = 0; c < mean.size(); ++c) fill[c] = (v - mean[c]) / stdev[c];
    } else if (mode.rfind("normalized:", 0) == 0) {
        fill.assign(mean.size(), number(mode.substr(11)));
    } else {
        LRP_THROW(op, ": unknown fill '", mode, "' (known: reference, mean, raw:<v>, normalized:<v>)");
    }
    for (size_t c = 0; c < fill.size(); ++c)
        LRP_CHECK(std::fabs(fill[c]) <= kMaxFill, op, ": '", mode, "' is ", fill[c], " in normalised units (channel ",
                  c, "), beyond +-", kMaxFill, ": far outside any image, the model's outputs would overflow");
    return fill;
}

kernels::RelDropDesc reldrop_desc(const RelDropParams& prm, const Tensor& x) {
    const char* op = "reldrop";
    check_batch(op, "x", x, 4);
    const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
    kernels::RelDropDesc d;
    if (prm.variant == "pixel") d.variant = kernels::RelDropVariant::Pixel;
    else if (prm.variant == "block") d.variant = kernels::RelDropVariant::Block;
    else if (prm.variant == "patch") d.variant = kernels::RelDropVariant::Patch;
    else LRP_THROW(op, ": unknown variant '", prm.variant, "' (known: pixel, block, patch)");
    if (prm.coin == "reference") d.per_sample = is_pixel(prm.variant);
    else if (prm.coin == "per_batch") d.per_sample = false;
    else if (prm.coin == "per_sample") d.per_sample = true;
    else LRP_THROW(op, ": unknown coin '", prm.coin, "' (known: reference, per_batch, per_sample)");
    if (prm.pixel_norm == "signed_minmax") d.pixel_norm = kernels::RelDropPixelNorm::SignedMinMax;
    else if (prm.pixel_norm == "positive_max") d.pixel_norm = kernels::RelDropPixelNorm::PositiveMax;
    else if (prm.pixel_norm == "abs_max") d.pixel_norm = kernels::RelDropPixelNorm::AbsMax;
    else LRP_THROW(op, ": unknown pixel_norm '", prm.pixel_norm, "' (known: signed_minmax, positive_max, abs_max)");
    LRP_CHECK(prm.p >= 0.f && prm.p <= 1.f, op, ": p must be in [0, 1] (got ", prm.p, ")");
    LRP_CHECK(prm.fill.size() == static_cast<size_t>(C) || prm.fill.size() == 1, op, ": fill has ",
              prm.fill.size(), " values, expected C = ", C, " or 1 (see reldrop_fill)");
    for (int64_t c = 0; c < C; ++c) {
        d.fill[c] = prm.fill.size() == 1 ? prm.fill[0] : prm.fill[c];
        LRP_CHECK(std::isfinite(d.fill[c]), op, ": fill[", c, "] = ", d.fill[c], " is not finite");
    }
    if (is_pixel(prm.variant)) {
        LRP_CHECK(prm.alpha >= 0.f && prm.alpha <= 1.f, op, ": alpha must be in [0, 1] (got ", prm.alpha, ")");
        LRP_CHECK(prm.beta >= 0.f && prm.beta <= 1.f, op, ": beta must be in [0, 1] (got ", prm.beta, ")");
    } else {
        LRP_CHECK(prm.k >= 1 && prm.k <= H * W, op, ": k must be in [1, H*W] = [1, ", H * W, "] (got ", prm.k,
                  ")");
        LRP_CHECK(prm.sl > 0.f && prm.sl <= prm.sh && prm.sh < 1.f, op, ": need 0 < sl <= sh < 1 (got sl = ",
                  prm.sl, ", sh = ", prm.sh, ")");
        LRP_CHECK(prm.r1 > 0.f && prm.r1 <= 1.f, op, ": r1 must be in (0, 1] (got ", prm.r1, ")");
        LRP_CHECK(prm.max_attempts >= 1, op, ": max_attempts must be >= 1 (got ", prm.max_attempts, ")");
        LRP_CHECK(prm.box_clip == "truncate" || prm.box_clip == "shift", op, ": unknown box_clip '", prm.box_clip,
                  "' (known: truncate, shift)");
        d.box_shift = prm.box_clip == "shift";
        LRP_CHECK(prm.patch_count == "1" || prm.patch_count == "k", op, ": unknown patch_count '", prm.patch_count,
                  "' (known: 1, k)");
        LRP_CHECK(prm.patch_count == "1" || prm.variant == "patch", op, ": patch_count k applies to the patch ",
                  "variant (block places one box of the full area)");
        d.patch_each = prm.patch_count == "k";
    }
    d.N = static_cast<int>(x.dim(0));
    d.C = static_cast<int>(C);
    d.H = static_cast<int>(H);
    d.W = static_cast<int>(W);
    d.p = prm.p;
    d.alpha = prm.alpha;
    d.beta = prm.beta;
    d.k = prm.k;
    d.sl = prm.sl;
    d.sh = prm.sh;
    d.r1 = prm.r1;
    d.max_attempts = prm.max_attempts;
    return d;
}

uint64_t reldrop_counters(const RelDropParams& params, const Tensor& x) {
    return kernels::reldrop_total_counters(reldrop_desc(params, x));
}

bool reldrop_batch_selected(const RelDropParams& params, const Tensor& x, const Generator& g) {
    const kernels::RelDropDesc d = reldrop_desc(params, x);
    return d.per_sample || kernels::reldrop_batch_coin(d, g.seed(), g.offset());
}

void reldrop_apply_map(const Tensor& x, const Tensor& map, const RelDropParams& params, Generator& g,
                       const Tensor& status) {
    const char* op = "reldrop";
    const kernels::RelDropDesc d = reldrop_desc(params, x);
    const Device dev = x.device();
    check_map(op, map, d.N, d.H, d.W, dev);
    if (status.defined()) {
        check_dtype(op, "status", status, DType::I32);
        check_shape(op, "status", status, Shape{d.N});
        check_device(op, "status", status, dev);
    }
    const uint64_t offset = g.reserve(kernels::reldrop_total_counters(d));
    if (d.N == 0) return;
    int32_t* st = status.defined() ? status.data<int32_t>() : nullptr;
    LRP_NVTX_RANGE("reldrop");
    if (d.variant == kernels::RelDropVariant::Pixel) {
        LRP_OP(dev, reldrop_pixel)(kernel_ctx(dev), d, map.data<float>(), g.seed(), offset, x.data<float>(), st);
        return;
    }
    Tensor centres = Tensor::empty(Shape{d.N, d.k}, DType::I32, dev);
    topk_rows(map.reshape(Shape{d.N, static_cast<int64_t>(d.H) * d.W}), d.k, centres);
    LRP_OP(dev, reldrop_boxes)(kernel_ctx(dev), d, map.data<float>(), centres.data<int32_t>(), g.seed(), offset,
                               x.data<float>(), st);
}

void reldrop_apply(const Tensor& x, const Tensor& relevance, const RelDropParams& params, Generator& g,
                   const Tensor& status) {
    const char* op = "reldrop";
    check_batch(op, "x", x, 4);
    check_batch(op, "relevance", relevance, kIntMax);
    check_device(op, "relevance", relevance, x.device());
    LRP_CHECK(relevance.dim(0) == x.dim(0) && relevance.dim(2) == x.dim(2) && relevance.dim(3) == x.dim(3), op,
              ": relevance ", relevance.shape().str(), " does not match x ", x.shape().str(),
              " in N, H or W");
    reldrop_desc(params, x);  // parameter errors before any work
    reldrop_apply_map(x, channel_sum(relevance), params, g, status);
}

}  // namespace lrp::ops
