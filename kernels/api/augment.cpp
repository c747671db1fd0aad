// Front ends of the input-pipeline ops: argument checks (each error names the argument), counter
// reservation from the Generator, NVTX range, dispatch through the op table.
#include "lrp/ops/augment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lrp/kernels/augment_sampler.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"
#include "image_checks.h"

namespace lrp::ops {

namespace {
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

using detail::check_nchw;
}  // namespace

void augment_batch(const Tensor& images, const Tensor& indices, int pad, bool flip, const std::vector<float>& mean,
                   const std::vector<float>& stdev, Generator& g, const Tensor& out, const ResizedCrop& resized) {
    const char* op = "augment_batch";
    check_defined(op, "images", images);
    check_dtype(op, "images", images, DType::U8);
    check_nchw(op, "images", images);
    const int64_t C = images.dim(1), H = images.dim(2), W = images.dim(3);
    const Device dev = images.device();
    check_defined(op, "indices", indices);
    check_dtype(op, "indices", indices, DType::I32);
    check_ndim(op, "indices", indices, 1);
    check_device(op, "indices", indices, dev);
    const int64_t N = indices.dim(0);
    LRP_CHECK(N <= kIntMax, op, ": indices has ", N, " rows, more than the kernels support");
    check_defined(op, "out", out);
    check_dtype(op, "out", out, DType::F32);
    check_shape(op, "out", out, Shape{N, C, H, W});
    check_device(op, "out", out, dev);
    LRP_CHECK(N == 0 || images.dim(0) > 0, op, ": images holds no rows but indices asks for ", N);
    LRP_CHECK(pad >= 0 && pad < H && pad < W, op, ": pad must be in [0, min(H, W)) = [0, ", std::min(H, W),
              ") (got ", pad, ")");
    LRP_CHECK(static_cast<int64_t>(mean.size()) == C, op, ": mean has ", mean.size(), " values, expected C = ", C);
    LRP_CHECK(static_cast<int64_t>(stdev.size()) == C, op, ": std has ", stdev.size(), " values, expected C = ", C);
    kernels::AugmentDesc d;
    d.N = static_cast<int>(N);
    d.rows = images.dim(0);
    d.C = static_cast<int>(C);
    d.H = static_cast<int>(H);
    d.W = static_cast<int>(W);
    d.pad = pad;
    d.flip = flip;
    if (resized.enabled) {
        LRP_CHECK(pad == 0, op, ": a resized crop replaces the padded crop, so pad must be 0 (got ", pad, ")");
        LRP_CHECK(resized.scale_lo > 0.f && resized.scale_lo <= resized.scale_hi && resized.scale_hi <= 1.f, op,
                  ": the resized crop's scale needs 0 < min <= max <= 1 (got ", resized.scale_lo, ", ",
                  resized.scale_hi, ")");
        LRP_CHECK(resized.ratio_lo > 0.f && resized.ratio_lo <= resized.ratio_hi && std::isfinite(resized.ratio_hi),
                  op, ": the resized crop's ratio needs 0 < min <= max, finite (got ", resized.ratio_lo, ", ",
                  resized.ratio_hi, ")");
        d.resized_crop = true;
        d.nearest = resized.nearest;
        d.scale_lo = resized.scale_lo;
        d.scale_hi = resized.scale_hi;
        d.ratio_lo = resized.ratio_lo;
        d.ratio_hi = resized.ratio_hi;
        d.log_ratio_lo = kernels::portable_log(d.ratio_lo);
        d.log_ratio_hi = kernels::portable_log(d.ratio_hi);
    }
    for (int64_t c = 0; c < C; ++c) {
        LRP_CHECK(std::isfinite(mean[c]), op, ": mean[", c, "] = ", mean[c], " is not finite");
        LRP_CHECK(std::isfinite(stdev[c]) && stdev[c] > 0.f, op, ": std[", c, "] = ", stdev[c],
                  " must be finite and > 0");
        d.mean[c] = mean[c];
        d.std[c] = stdev[c];
    }
    const uint64_t per_sample = resized.enabled ? kernels::kResizedCropCountersPerSample : 1;
    const uint64_t offset = g.reserve(static_cast<uint64_t>(N) * per_sample);
    if (N == 0) return;
    LRP_NVTX_RANGE("augment_batch");
    LRP_OP(dev, augment_batch)(kernel_ctx(dev), d, images.data<uint8_t>(), indices.data<int32_t>(), g.seed(),
                               offset, out.data<float>());
}

void random_erasing(const Tensor& x, float p, float sl, float sh, float r1, int max_attempts,
                    const std::vector<float>& value, Generator& g) {
    const char* op = "random_erasing";
    check_defined(op, "x", x);
    check_dtype(op, "x", x, DType::F32);
    check_nchw(op, "x", x);
    const int64_t C = x.dim(1);
    LRP_CHECK(p >= 0.f && p <= 1.f, op, ": p must be in [0, 1] (got ", p, ")");
    LRP_CHECK(sl > 0.f && sl <= sh && sh < 1.f, op, ": need 0 < sl <= sh < 1 (got sl = ", sl, ", sh = ", sh, ")");
    LRP_CHECK(r1 > 0.f && r1 <= 1.f, op, ": r1 must be in (0, 1] (got ", r1, ")");
    LRP_CHECK(max_attempts >= 1, op, ": max_attempts must be >= 1 (got ", max_attempts, ")");
    LRP_CHECK(static_cast<int64_t>(value.size()) == C || value.size() == 1, op, ": value has ", value.size(),
              " entries, expected C = ", C, " or 1");
    kernels::EraseDesc d;
    d.N = static_cast<int>(x.dim(0));
    d.C = static_cast<int>(C);
    d.H = static_cast<int>(x.dim(2));
    d.W = static_cast<int>(x.dim(3));
    d.p = p;
    d.sl = sl;
    d.sh = sh;
    d.r1 = r1;
    d.max_attempts = max_attempts;
    for (int64_t c = 0; c < C; ++c) d.value[c] = value.size() == 1 ? value[0] : value[c];
    const uint64_t offset = g.reserve(static_cast<uint64_t>(d.N) * kernels::kEraseCountersPerSample);
    if (d.N == 0) return;
    LRP_NVTX_RANGE("random_erasing");
    LRP_OP(x.device(), random_erasing)(kernel_ctx(x.device()), d, g.seed(), offset, x.data<float>());
}

}  // namespace lrp::ops
