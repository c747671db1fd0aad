// Checked front ends for max / average / global-average pooling: validate the descriptor as PyTorch
// does, check dtypes, shapes and devices once, then call the device's op-table entry.
#include "lrp/ops/pool.h"

#include <climits>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::ops {

using kernels::ReduceOp;

namespace {
// PyTorch's rules for a pooling configuration; also applied to hand-built descriptors.
void validate(const char* op, const Pool2dDesc& d, bool is_max) {
    LRP_CHECK(d.N >= 0 && d.C >= 1 && d.H >= 1 && d.W >= 1, op, ": input must have non-empty C, H, W, got ", d.N, "x",
              d.C, "x", d.H, "x", d.W);
    if (d.adapt_h != 0 || d.adapt_w != 0) {
        LRP_CHECK(!is_max, op, ": adaptive windows are implemented for average pooling only");
        LRP_CHECK(d.adapt_h >= 1 && d.adapt_w >= 1, op, ": adaptive output size must be positive, got ", d.adapt_h,
                  "x", d.adapt_w);
        LRP_CHECK(d.kh == 1 && d.kw == 1 && d.sh == 1 && d.sw == 1 && d.ph == 0 && d.pw == 0 && !d.ceil_mode &&
                      d.divisor_override == 0,
                  op, ": an adaptive descriptor takes no kernel, stride, padding, ceil_mode or divisor_override");
        return;
    }
    LRP_CHECK(d.kh >= 1 && d.kw >= 1, op, ": kernel size must be at least 1, got ", d.kh, "x", d.kw);
    LRP_CHECK(d.sh >= 1 && d.sw >= 1, op, ": stride must be at least 1, got ", d.sh, "x", d.sw);
    LRP_CHECK(d.dil_h >= 1 && d.dil_w >= 1, op, ": dilation must be at least 1, got ", d.dil_h, "x", d.dil_w);
    LRP_CHECK(is_max || (d.dil_h == 1 && d.dil_w == 1), op, ": dilation is only supported by max pooling, got ",
              d.dil_h, "x", d.dil_w);
    LRP_CHECK(d.ph >= 0 && d.pw >= 0, op, ": padding must be non-negative, got ", d.ph, "x", d.pw);
    LRP_CHECK(d.ph <= d.kh / 2 && d.pw <= d.kw / 2, op,
              ": pad should be at most half of effective kernel size, got pad ", d.ph, "x", d.pw, " for kernel ", d.kh,
              "x", d.kw);
    LRP_CHECK(d.divisor_override >= 0, op, ": divisor_override must be positive (0 = none), got ", d.divisor_override);
    LRP_CHECK(!is_max || d.divisor_override == 0, op, ": divisor_override applies to average pooling only");
    // (the window arithmetic runs in int: padded sizes and window spans must fit)
    LRP_CHECK(int64_t{d.H} + 2 * int64_t{d.ph} <= INT_MAX && int64_t{d.W} + 2 * int64_t{d.pw} <= INT_MAX, op,
              ": the padded input ", d.H, "x", d.W, " + 2 x ", d.ph, "x", d.pw, " is too large");
    LRP_CHECK(d.P() >= 1 && d.Q() >= 1, op, ": given input size ", d.H, "x", d.W, ", calculated output size ", d.P(),
              "x", d.Q(), " is too small");
    // With dilation a window's taps can all fall into the padding (e.g. H = 2, kernel 2, dilation 3, padding 1):
    // such an output would have no maximum (nothing to route its gradient or relevance to).
    auto empty_window = [](int out, int k, int s, int pad, int dil, int size) {
        for (int o = 0; o < out; ++o) {
            bool any = false;
            for (int a = 0; a < k && !any; ++a) {
                const int64_t i = int64_t{o} * s - pad + int64_t{a} * dil;
                any = i >= 0 && i < size;
            }
            if (!any) return o;
        }
        return -1;
    };
    if (is_max) {
        const int eh = empty_window(d.P(), d.kh, d.sh, d.ph, d.dil_h, d.H);
        const int ew = empty_window(d.Q(), d.kw, d.sw, d.pw, d.dil_w, d.W);
        LRP_CHECK(eh < 0 && ew < 0, op, ": the window of output ", eh >= 0 ? "row " : "column ", eh >= 0 ? eh : ew,
                  " covers no input ", eh >= 0 ? "row" : "column", " (input ", d.H, "x", d.W, ", kernel ", d.kh, "x",
                  d.kw, ", stride ", d.sh, "x", d.sw, ", padding ", d.ph, "x", d.pw, ", dilation ", d.dil_h, "x",
                  d.dil_w, ")");
    }
}
// The backward kernels index an output plane in 32 bits too; with ceil_mode and padding (or an adaptive output
// size) it can outgrow the input plane.
void check_output_plane(const char* op, const Pool2dDesc& d) {
    LRP_CHECK(int64_t{d.P()} * d.Q() <= INT_MAX, op, ": an output plane of ", d.P(), " x ", d.Q(),
              " pixels is too large (at most ", INT_MAX, ")");
}
}  // namespace

Pool2dDesc pool2d_desc(const Shape& x, const Pool2dParams& p, bool is_max) {
    const char* op = is_max ? "max_pool2d" : "avg_pool2d";
    LRP_CHECK(x.ndim() == 4, op, ": input must be N x C x H x W, got ", x.str());
    for (int i = 0; i < 4; ++i) LRP_CHECK(x[i] <= INT_MAX, op, ": input dimension ", i, " too large: ", x.str());
    // The kernels index an H x W plane in 32 bits (a max-pool's argmax too).
    LRP_CHECK(x[2] * x[3] <= INT_MAX, op, ": an input plane of ", x[2], " x ", x[3], " pixels is too large (at most ",
              INT_MAX, ")");
    Pool2dDesc d;
    d.N = static_cast<int>(x[0]), d.C = static_cast<int>(x[1]), d.H = static_cast<int>(x[2]);
    d.W = static_cast<int>(x[3]);
    d.kh = p.kh, d.kw = p.kw, d.sh = p.sh, d.sw = p.sw, d.ph = p.ph, d.pw = p.pw;
    d.dil_h = p.dil_h, d.dil_w = p.dil_w;
    d.ceil_mode = p.ceil_mode;
    d.count_include_pad = p.count_include_pad;
    d.divisor_override = p.divisor_override;
    validate(op, d, is_max);
    check_output_plane(op, d);
    return d;
}

Pool2dDesc adaptive_avgpool2d_desc(const Shape& x, int out_h, int out_w) {
    const char* op = "adaptive_avg_pool2d";
    LRP_CHECK(x.ndim() == 4, op, ": input must be N x C x H x W, got ", x.str());
    for (int i = 0; i < 4; ++i) LRP_CHECK(x[i] <= INT_MAX, op, ": input dimension ", i, " too large: ", x.str());
    // The kernels index an H x W plane in 32 bits.
    LRP_CHECK(x[2] * x[3] <= INT_MAX, op, ": an input plane of ", x[2], " x ", x[3], " pixels is too large (at most ",
              INT_MAX, ")");
    LRP_CHECK(out_h >= 1 && out_w >= 1, op, ": output size must be positive, got ", out_h, "x", out_w);
    Pool2dDesc d;
    d.N = static_cast<int>(x[0]), d.C = static_cast<int>(x[1]), d.H = static_cast<int>(x[2]);
    d.W = static_cast<int>(x[3]);
    d.adapt_h = out_h, d.adapt_w = out_w;
    validate(op, d, false);
    check_output_plane(op, d);
    return d;
}

namespace {
Shape in_shape(const Pool2dDesc& d) { return Shape{d.N, d.C, d.H, d.W}; }
Shape out_shape(const Pool2dDesc& d) { return Shape{d.N, d.C, d.P(), d.Q()}; }
}  // namespace

void maxpool_fwd(const Pool2dDesc& d, const Tensor& x, const Tensor& y, const Tensor& idx) {
    validate("maxpool_fwd", d, true);
    check_dtype("maxpool_fwd", "x", x, DType::F32);
    check_dtype("maxpool_fwd", "y", y, DType::F32);
    check_dtype("maxpool_fwd", "idx", idx, DType::I32);
    check_shape("maxpool_fwd", "x", x, in_shape(d));
    check_shape("maxpool_fwd", "y", y, out_shape(d));
    check_shape("maxpool_fwd", "idx", idx, out_shape(d));
    check_device("maxpool_fwd", "y", y, x.device());
    check_device("maxpool_fwd", "idx", idx, x.device());
    LRP_NVTX_RANGE("maxpool_fwd");
    LRP_OP(x.device(), maxpool_fwd)(kernel_ctx(x.device()), d, x.data<float>(), y.data<float>(), idx.data<int32_t>());
}

void maxpool_bwd(const Pool2dDesc& d, const Tensor& dy, const Tensor& idx, const Tensor& dx) {
    validate("maxpool_bwd", d, true);
    check_dtype("maxpool_bwd", "dy", dy, DType::F32);
    check_dtype("maxpool_bwd", "idx", idx, DType::I32);
    check_dtype("maxpool_bwd", "dx", dx, DType::F32);
    check_shape("maxpool_bwd", "dy", dy, out_shape(d));
    check_shape("maxpool_bwd", "idx", idx, out_shape(d));
    check_shape("maxpool_bwd", "dx", dx, in_shape(d));
    check_device("maxpool_bwd", "idx", idx, dy.device());
    check_device("maxpool_bwd", "dx", dx, dy.device());
    LRP_NVTX_RANGE("maxpool_bwd");
    LRP_OP(dy.device(), maxpool_bwd)
    (kernel_ctx(dy.device()), d, dy.data<float>(), idx.data<int32_t>(), dx.data<float>());
}

void maxpool_gather(const Pool2dDesc& d, const Tensor& x, const Tensor& idx, const Tensor& y) {
    validate("maxpool_gather", d, true);
    check_dtype("maxpool_gather", "x", x, DType::F32);
    check_dtype("maxpool_gather", "idx", idx, DType::I32);
    check_dtype("maxpool_gather", "y", y, DType::F32);
    check_shape("maxpool_gather", "x", x, in_shape(d));
    check_shape("maxpool_gather", "idx", idx, out_shape(d));
    check_shape("maxpool_gather", "y", y, out_shape(d));
    check_device("maxpool_gather", "idx", idx, x.device());
    check_device("maxpool_gather", "y", y, x.device());
    LRP_NVTX_RANGE("maxpool_gather");
    LRP_OP(x.device(), maxpool_gather)
    (kernel_ctx(x.device()), d, x.data<float>(), idx.data<int32_t>(), y.data<float>());
}

void avgpool_fwd(const Pool2dDesc& d, const Tensor& x, const Tensor& y) {
    validate("avgpool_fwd", d, false);
    check_dtype("avgpool_fwd", "x", x, DType::F32);
    check_dtype("avgpool_fwd", "y", y, DType::F32);
    check_shape("avgpool_fwd", "x", x, in_shape(d));
    check_shape("avgpool_fwd", "y", y, out_shape(d));
    check_device("avgpool_fwd", "y", y, x.device());
    LRP_NVTX_RANGE("avgpool_fwd");
    LRP_OP(x.device(), avgpool_fwd)(kernel_ctx(x.device()), d, x.data<float>(), y.data<float>());
}

void avgpool_bwd(const Pool2dDesc& d, const Tensor& dy, const Tensor& dx) {
    validate("avgpool_bwd", d, false);
    check_dtype("avgpool_bwd", "dy", dy, DType::F32);
    check_dtype("avgpool_bwd", "dx", dx, DType::F32);
    check_shape("avgpool_bwd", "dy", dy, out_shape(d));
    check_shape("avgpool_bwd", "dx", dx, in_shape(d));
    check_device("avgpool_bwd", "dx", dx, dy.device());
    LRP_NVTX_RANGE("avgpool_bwd");
    LRP_OP(dy.device(), avgpool_bwd)(kernel_ctx(dy.device()), d, dy.data<float>(), dx.data<float>());
}

namespace {
// The pooled tensor of global average pooling: N x C, or N x C x 1 x 1.
void check_pooled(const char* op, const char* arg, const Tensor& t, const Shape& x) {
    if (t.defined() && t.ndim() == 4)
        check_shape(op, arg, t, Shape{x[0], x[1], 1, 1});
    else
        check_shape(op, arg, t, Shape{x[0], x[1]});
}
}  // namespace

void global_avgpool_fwd(const Tensor& x, const Tensor& y) {
    check_dtype("global_avgpool_fwd", "x", x, DType::F32);
    check_ndim("global_avgpool_fwd", "x", x, 4);
    LRP_CHECK(x.dim(2) * x.dim(3) >= 1, "global_avgpool_fwd: empty spatial size ", x.shape().str());
    check_dtype("global_avgpool_fwd", "y", y, DType::F32);
    check_pooled("global_avgpool_fwd", "y", y, x.shape());
    check_device("global_avgpool_fwd", "y", y, x.device());
    LRP_NVTX_RANGE("global_avgpool_fwd");
    LRP_OP(x.device(), reduce_rows)
    (kernel_ctx(x.device()), ReduceOp::Mean, x.data<float>(), x.dim(0) * x.dim(1), x.dim(2) * x.dim(3),
     y.data<float>());
}

void global_avgpool_bwd(const Tensor& dy, const Tensor& dx) {
    check_dtype("global_avgpool_bwd", "dx", dx, DType::F32);
    check_ndim("global_avgpool_bwd", "dx", dx, 4);
    LRP_CHECK(dx.dim(2) * dx.dim(3) >= 1, "global_avgpool_bwd: empty spatial size ", dx.shape().str());
    check_dtype("global_avgpool_bwd", "dy", dy, DType::F32);
    check_pooled("global_avgpool_bwd", "dy", dy, dx.shape());
    check_device("global_avgpool_bwd", "dy", dy, dx.device());
    const int64_t hw = dx.dim(2) * dx.dim(3);
    LRP_NVTX_RANGE("global_avgpool_bwd");
    LRP_OP(dx.device(), expand_rows)
    (kernel_ctx(dx.device()), dy.data<float>(), 1.f / static_cast<float>(hw), dx.data<float>(), dx.dim(0) * dx.dim(1),
     hw);
}

}  // namespace lrp::ops
