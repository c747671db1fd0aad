// Conv2d and Linear: forward, gradient backward, and the substituted-weight forms used by LRP rules.
#include "lrp/nn/affine.h"

#include "lrp/nvtx.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/gemm.h"
#include "lrp/ops/reduce.h"

namespace lrp::nn {

const Tensor& AffineLayer::saved_input() const {
    LRP_CHECK(x_.defined(), type(), " '", name(), "': no stored input (run forward first)");
    return x_;
}

bool AffineLayer::nonneg_output(bool input_nonneg, std::unordered_set<const Module*>& nonneg_inputs) const {
    if (input_nonneg) nonneg_inputs.insert(this);
    return false;
}

void AffineLayer::clear_saved() {
    x_ = x_weight_ = Tensor();
    release_output();
}

Tensor AffineLayer::weight_grad_with(const Tensor& x, const Tensor& dy) {
    Tensor dw = Tensor::empty(weight.value.shape(), DType::F32, dy.device());
    weight_grad_into(x, dy, dw);
    return dw;
}

void AffineLayer::accumulate_weight_grad(const Tensor& x, const Tensor& dy) {
    Tensor dw = grad_destination(weight, dy.device());
    weight_grad_into(x, dy, dw);
    accumulate_grad(weight, std::move(dw));
}

void AffineLayer::release_output() { y_ = y_w_ = y_b_ = Tensor(); }

namespace {
bool same_tensor(const Tensor& a, const Tensor& b) {
    if (!a.defined() || !b.defined()) return a.defined() == b.defined();
    return a.shares_storage_with(b) && a.raw_data() == b.raw_data() && a.shape() == b.shape();
}
}  // namespace

Tensor AffineLayer::saved_output_for(const Tensor& w, const Tensor& b) const {
    if (!y_.defined() || !same_tensor(w, y_w_) || !same_tensor(b, y_b_)) return Tensor();
    return y_;
}

Tensor AffineLayer::forward_saving(const Tensor& x) {
    x_ = x;
    const Tensor& w = forward_override ? forward_override->weight : weight.value;
    const Tensor& b = forward_override ? forward_override->bias : bias.value;
    x_weight_ = forward_override ? w : Tensor();
    Tensor y = forward_with(x, w, b);
    if (keep_output) y_ = y, y_w_ = w, y_b_ = b;
    else release_output();
    return y;
}

const Tensor& AffineLayer::backward_weight(bool acc) const {
    if (!x_weight_.defined()) return weight.value;
    LRP_CHECK(!acc, type(), " '", name(), "': parameter gradients were asked for after a forward with the "
              "parameters an LRP attribution substituted (BN-folded forward); run a plain forward first");
    return x_weight_;
}

// ---- Conv2d ------------------------------------------------------------------------------------

Conv2d::Conv2d(int in_c, int out_c, int kernel, int stride, int padding, bool bias, int dilation, int groups)
    : Conv2d(in_c, out_c, kernel, kernel,
             ops::Conv2dParams{stride, stride, padding, padding, dilation, dilation, groups}, bias) {}

Conv2d::Conv2d(int in_c, int out_c, int kh_, int kw_, const ops::Conv2dParams& p, bool has_b)
    : in_channels(in_c), out_channels(out_c), kh(kh_), kw(kw_), geom(p) {
    LRP_CHECK(in_c > 0 && out_c > 0 && kh_ > 0 && kw_ > 0, "Conv2d: channels and kernel must be positive");
    LRP_CHECK(p.groups > 0 && in_c % p.groups == 0 && out_c % p.groups == 0, "Conv2d: channels ", in_c, "->", out_c,
              " not divisible by groups ", p.groups);
    weight.value = Tensor::zeros({out_c, in_c / p.groups, kh_, kw_});
    register_param("weight", weight);
    if (has_b) {
        bias.value = Tensor::zeros({out_c});
        register_param("bias", bias);
    }
}

ops::Conv2dDesc Conv2d::desc_for(const Tensor& x) const {
    return ops::conv2d_desc(x.shape(), weight.value.shape(), geom);
}

Tensor Conv2d::forward_with(const Tensor& x, const Tensor& w, const Tensor& b) {
    ops::Conv2dDesc d = desc_for(x);
    Tensor y = Tensor::empty({d.N, d.K, d.P(), d.Q()}, DType::F32, x.device());
    ops::conv2d_fwd(d, x, w, b, y);
    return y;
}

Tensor Conv2d::forward(const Tensor& x) {
    LRP_NVTX_RANGE("Conv2d.forward");
    desc_ = desc_for(x);
    return forward_saving(x);
}

Tensor Conv2d::dgrad_with(const Tensor& dy, const Tensor& w) {
    saved_input();
    Tensor dx = Tensor::empty(x_.shape(), DType::F32, dy.device());
    ops::conv2d_dgrad(desc_, dy, w, dx);
    return dx;
}

void Conv2d::weight_grad_into(const Tensor& x, const Tensor& dy, const Tensor& dw) {
    ops::conv2d_wgrad(desc_, x, dy, dw);
}

Tensor Conv2d::backward(const Tensor& dy, bool acc) {
    LRP_NVTX_RANGE("Conv2d.backward");
    const Tensor& x = saved_input();
    const Tensor& w = backward_weight(acc);
    if (acc && weight.requires_grad) accumulate_weight_grad(x, dy);
    if (acc && has_bias() && bias.requires_grad) {
        Tensor db = grad_destination(bias, dy.device());
        ops::reduce_channels(dy, db);
        accumulate_grad(bias, std::move(db));
    }
    return dgrad_with(dy, w);
}

// ---- Linear ------------------------------------------------------------------------------------

Linear::Linear(int in_f, int out_f, bool has_b) : in_features(in_f), out_features(out_f) {
    LRP_CHECK(in_f > 0 && out_f > 0, "Linear: features must be positive (", in_f, ", ", out_f, ")");
    weight.value = Tensor::zeros({out_f, in_f});
    register_param("weight", weight);
    if (has_b) {
        bias.value = Tensor::zeros({out_f});
        register_param("bias", bias);
    }
}

Tensor Linear::forward_with(const Tensor& x, const Tensor& w, const Tensor& b) {
    LRP_CHECK(x.ndim() == 2 && x.dim(1) == in_features, "Linear '", name(), "': input ", x.shape().str(),
              ", expected [N, ", in_features, "]");
    Tensor y = Tensor::empty({x.dim(0), out_features}, DType::F32, x.device());
    ops::gemm(false, true, 1.f, x, w, 0.f, y);
    if (b.defined()) ops::bias_add(y, b);
    return y;
}

Tensor Linear::forward(const Tensor& x) {
    LRP_NVTX_RANGE("Linear.forward");
    return forward_saving(x);
}

Tensor Linear::dgrad_with(const Tensor& dy, const Tensor& w) {
    Tensor dx = Tensor::empty({dy.dim(0), in_features}, DType::F32, dy.device());
    ops::gemm(false, false, 1.f, dy, w, 0.f, dx);
    return dx;
}

void Linear::weight_grad_into(const Tensor& x, const Tensor& dy, const Tensor& dw) {
    ops::gemm(true, false, 1.f, dy, x, 0.f, dw);
}

Tensor Linear::backward(const Tensor& dy, bool acc) {
    LRP_NVTX_RANGE("Linear.backward");
    const Tensor& x = saved_input();
    const Tensor& w = backward_weight(acc);
    if (acc && weight.requires_grad) accumulate_weight_grad(x, dy);
    if (acc && has_bias() && bias.requires_grad) {
        Tensor db = grad_destination(bias, dy.device());
        ops::reduce_channels(dy, db);
        accumulate_grad(bias, std::move(db));
    }
    return dgrad_with(dy, w);
}

}  // namespace lrp::nn
