// MaxPool2d, AvgPool2d and AdaptiveAvgPool2d forward/backward through the pooling front ends.
#include "lrp/nn/pooling.h"

#include "lrp/nvtx.h"

namespace lrp::nn {

namespace {
Tensor empty_out(const ops::Pool2dDesc& d, Device dev) {
    return Tensor::empty({d.N, d.C, d.P(), d.Q()}, DType::F32, dev);
}
}  // namespace

MaxPool2d::MaxPool2d(int k, int s, int p, int dil, bool ceil) {
    geom.kh = geom.kw = k;
    geom.sh = geom.sw = s > 0 ? s : k;
    geom.ph = geom.pw = p;
    geom.dil_h = geom.dil_w = dil;
    geom.ceil_mode = ceil;
}

Tensor MaxPool2d::forward(const Tensor& x) {
    LRP_NVTX_RANGE("MaxPool2d.forward");
    desc_ = ops::pool2d_desc(x.shape(), geom, true);
    x_ = x;
    Tensor y = empty_out(desc_, x.device());
    idx_ = Tensor::empty(y.shape(), DType::I32, x.device());
    ops::maxpool_fwd(desc_, x, y, idx_);
    return y;
}

Tensor MaxPool2d::backward(const Tensor& dy, bool) {
    LRP_CHECK(idx_.defined(), "MaxPool2d '", name(), "': backward before forward");
    Tensor dx = Tensor::empty({desc_.N, desc_.C, desc_.H, desc_.W}, DType::F32, dy.device());
    ops::maxpool_bwd(desc_, dy, idx_, dx);
    return dx;
}

Tensor MaxPool2d::gather(const Tensor& v) const {
    LRP_CHECK(idx_.defined(), "MaxPool2d '", name(), "': gather before forward");
    Tensor y = empty_out(desc_, v.device());
    ops::maxpool_gather(desc_, v, idx_, y);
    return y;
}

AvgPool2d::AvgPool2d(int k, int s, int p, bool ceil, bool count_include_pad, int divisor_override) {
    geom.kh = geom.kw = k;
    geom.sh = geom.sw = s > 0 ? s : k;
    geom.ph = geom.pw = p;
    geom.ceil_mode = ceil;
    geom.count_include_pad = count_include_pad;
    geom.divisor_override = divisor_override;
}

Tensor AvgPool2d::pool(const Tensor& x) const {
    Tensor y = empty_out(desc_, x.device());
    ops::avgpool_fwd(desc_, x, y);
    return y;
}

Tensor AvgPool2d::pool_backward(const Tensor& dy) const {
    Tensor dx = Tensor::empty({desc_.N, desc_.C, desc_.H, desc_.W}, DType::F32, dy.device());
    ops::avgpool_bwd(desc_, dy, dx);
    return dx;
}

Tensor AvgPool2d::forward(const Tensor& x) {
    LRP_NVTX_RANGE("AvgPool2d.forward");
    desc_ = ops::pool2d_desc(x.shape(), geom, false);
    x_ = x;
    return pool(x);
}

Tensor AvgPool2d::backward(const Tensor& dy, bool) {
    LRP_CHECK(desc_.N > 0 && x_.defined(), "AvgPool2d '", name(), "': backward before forward");
    return pool_backward(dy);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(int oh, int ow) : out_h(oh), out_w(ow) {
    LRP_CHECK(oh > 0 && ow > 0, "AdaptiveAvgPool2d: output size must be positive");
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
    LRP_NVTX_RANGE("AdaptiveAvgPool2d.forward");
    LRP_CHECK(x.ndim() == 4, "AdaptiveAvgPool2d '", name(), "': input ", x.shape().str(), ", expected [N, C, H, W]");
    x_ = x;
    if (!(out_h == 1 && out_w == 1)) desc_ = ops::adaptive_avgpool2d_desc(x.shape(), out_h, out_w);
    return pool(x);
}

Tensor AdaptiveAvgPool2d::pool(const Tensor& x) const {
    LRP_CHECK(x_.defined() && x.shape() == x_.shape(), "AdaptiveAvgPool2d '", name(), "': pool of ",
              x.shape().str(), " without a forward of that shape");
    const int64_t N = x.dim(0), C = x.dim(1);
    if (out_h == 1 && out_w == 1) {
        Tensor y = Tensor::empty({N, C}, DType::F32, x.device());
        ops::global_avgpool_fwd(x, y);
        return y.reshape({N, C, 1, 1});
    }
    Tensor y = empty_out(desc_, x.device());
    ops::avgpool_fwd(desc_, x, y);
    return y;
}

Tensor AdaptiveAvgPool2d::backward(const Tensor& dy, bool) {
    LRP_CHECK(x_.defined(), "AdaptiveAvgPool2d '", name(), "': backward before forward");
    Tensor dx = Tensor::empty(x_.shape(), DType::F32, dy.device());
    if (out_h == 1 && out_w == 1) {
        ops::global_avgpool_bwd(dy.reshape({x_.dim(0), x_.dim(1)}), dx);
    } else {
        ops::avgpool_bwd(desc_, dy, dx);
    }
    return dx;
}

}  // namespace lrp::nn
