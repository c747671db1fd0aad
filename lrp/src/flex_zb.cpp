// FlexZb: zennit's ZBox on the BN-folded first layer of an LRP-Flex pass, from the pass's gradient at the first ReLU,
// and the adjoint of that step (isnet-edda.md A.5, A.8), built from op-table ops.
#include "lrp/lrp/flex_zb.h"

#include <cmath>

#include "lrp/lrp/rule_math.h"
#include "lrp/nvtx.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"

namespace lrp::explain {
namespace {

// w (O x ...) times k[o] per output row.
Tensor scale_rows(const Tensor& w, const Tensor& k) {
    const int64_t o = w.dim(0), rest = w.numel() / o;
    Tensor y = Tensor::empty(w.shape(), DType::F32, w.device());
    ops::channel_affine(w.reshape({1, o, rest}), k, Tensor(), y.reshape({1, o, rest}));
    return y;
}

}  // namespace

FlexZb::FlexZb(std::vector<float> low, std::vector<float> high, float epsilon)
    : low_(std::move(low)), high_(std::move(high)), eps_(epsilon) {
    LRP_CHECK(!low_.empty() && low_.size() == high_.size(), "z^B: ", low_.size(), " low and ", high_.size(),
              " high bound(s); give one pair per input channel (or one for all)");
    for (size_t c = 0; c < low_.size(); ++c)
        LRP_CHECK(std::isfinite(low_[c]) && std::isfinite(high_[c]) && low_[c] < high_[c], "z^B: bounds [", low_[c],
                  ", ", high_[c], "] of channel ", c, " are not finite with low < high");
    LRP_CHECK(eps_ > 0.f && std::isfinite(eps_), "z^B: epsilon must be positive (got ", eps_, ")");
}

FlexZb::First FlexZb::first_layers(nn::Module& model) {
    const std::vector<nn::Module*> leaves = model.leaves();
    First f;
    size_t i = 0;
    if (i < leaves.size()) f.layer = dynamic_cast<nn::AffineLayer*>(leaves[i++]);
    if (f.layer && i < leaves.size()) {
        f.bn = dynamic_cast<nn::BatchNorm2d*>(leaves[i]);
        if (f.bn) ++i;
    }
    if (f.layer && i < leaves.size()) f.relu = dynamic_cast<nn::ReLU*>(leaves[i]);
    if (!f.layer || !f.relu || (f.bn && f.bn->channels != f.layer->weight.value.dim(0))) {
        std::string begins;
        for (size_t j = 0; j < leaves.size() && j < 3; ++j)
            begins += std::string(j ? ", " : "") + leaves[j]->type() + " '" + leaves[j]->name() + "'";
        LRP_THROW("z^B on the first layer needs a model that begins with Conv2d or Linear, an optional BatchNorm2d "
                  "and a ReLU; this one begins with ", begins.empty() ? std::string("nothing") : begins);
    }
    return f;
}

Tensor FlexZb::shifted(const Tensor& x, const std::vector<float>& bound, Tensor& neg_bound) {
    LRP_CHECK(x.ndim() >= 2, "z^B: input ", x.shape().str(), " has no channel dimension");
    const int64_t c = x.dim(1);
    LRP_CHECK(bound.size() == 1 || static_cast<int64_t>(bound.size()) == c, "z^B: ", bound.size(),
              " bound(s) for an input with ", c, " channel(s)");
    if (!neg_bound.defined() || neg_bound.numel() != c || neg_bound.device() != x.device()) {
        std::vector<float> shift(static_cast<size_t>(c));
        for (int64_t i = 0; i < c; ++i) shift[i] = -bound[bound.size() == 1 ? 0 : i];
        neg_bound = Tensor::from_vector(shift, Shape{c}, x.device());
    }
    if (!ones_.defined() || ones_.numel() != c || ones_.device() != x.device())
        ones_ = Tensor::from_vector(std::vector<float>(static_cast<size_t>(c), 1.f), Shape{c}, x.device());
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    ops::channel_affine(x, ones_, neg_bound, y);
    return y;
}

Tensor FlexZb::heatmap(nn::Module& model, const FlexPass& pass, const Tensor& x) {
    LRP_NVTX_RANGE("lrp_flex.zb");
    kept_ = false;
    First f = first_layers(model);
    LRP_CHECK(x.shape() == f.layer->saved_input().shape() && x.device() == f.layer->saved_input().device(), "z^B: input ",
              x.shape().str(), " on ", x.device().str(), ", but the last forward of ", f.layer->type(), " '",
              f.layer->name(), "' saw ", f.layer->saved_input().shape().str());
    Tensor w = f.layer->weight.value, k;
    if (f.bn) {
        k = ops::mul(f.bn->weight.value, f.bn->saved_invstd());
        w = scale_rows(w, k);
    }
    Tensor wp = math::pos(w), wn = math::neg(w);
    Tensor xl = shifted(x, low_, neg_low_), xh = shifted(x, high_, neg_high_);
    Tensor d = f.layer->forward_with(xl, wp, Tensor());
    ops::add(d, f.layer->forward_with(xh, wn, Tensor()), d);
    Tensor a = ops::relu(f.relu->saved_input());
    const Tensor& g1 = pass.output_gradient(*f.relu);
    LRP_CHECK(d.shape() == a.shape(), "z^B: ", f.layer->type(), " '", f.layer->name(), "' gives ", d.shape().str(),
              ", the ReLU '", f.relu->name(), "' saw ", a.shape().str());
    Tensor s = Tensor::empty(d.shape(), DType::F32, d.device());
    ops::lrp_eps_div(ops::mul(g1, a), d, eps_, s);
    Tensor r = ops::mul(xl, f.layer->dgrad_with(s, wp));
    ops::add(r, ops::mul(xh, f.layer->dgrad_with(s, wn)), r);
    first_ = f, w_ = w, wp_ = wp, wn_ = wn, k_ = k, xl_ = xl, xh_ = xh, d_ = d, s_ = s, a_ = a, g1_ = g1;
    kept_ = true;
    generation_ = pass.generation();
    return r;
}

Tensor FlexZb::adjoint(nn::Module& model, FlexPass& pass, const Tensor& dR, std::vector<FlexPass::Injection> more) {
    LRP_NVTX_RANGE("lrp_flex.zb_adjoint");
    LRP_CHECK(kept_, "z^B: adjoint() without a preceding heatmap() (or called twice)");
    kept_ = false;
    LRP_CHECK(dR.shape() == xl_.shape() && dR.device() == xl_.device(), "z^B: adjoint() of ", dR.shape().str(),
              " for a heatmap of ", xl_.shape().str());
    LRP_CHECK(pass.generation() == generation_, "z^B: adjoint() with a pass that ran again since heatmap() (or another ",
              "pass): the heatmap's relevance at the first ReLU is gone");
    const First& f = first_;
    // R = XL * f'(s; W+) + XH * f'(s; W-), s = R1 / (D + eps), D = f(XL; W+) + f(XH; W-).
    const Tensor gl = ops::mul(dR, xl_), gh = ops::mul(dR, xh_);
    Tensor gs = f.layer->forward_with(gl, wp_, Tensor());
    ops::add(gs, f.layer->forward_with(gh, wn_, Tensor()), gs);
    Tensor g_r1 = Tensor::empty(gs.shape(), DType::F32, gs.device());
    ops::lrp_eps_div(gs, d_, eps_, g_r1);                // dL/dR1 = gs / (D + eps)
    const Tensor g_d = ops::scale(ops::mul(g_r1, s_), -1.f);  // dL/dD = -gs * s / (D + eps)
    if (f.layer->weight.requires_grad || (f.bn && f.bn->weight.requires_grad)) {
        Tensor gwp = f.layer->weight_grad_with(gl, s_), gwn = f.layer->weight_grad_with(gh, s_);
        ops::add(gwp, f.layer->weight_grad_with(xl_, g_d), gwp);
        ops::add(gwn, f.layer->weight_grad_with(xh_, g_d), gwn);
        // W+ = max(W, 0), W- = min(W, 0): dL/dW = dL/dW+ * 1[W > 0] + dL/dW- * 1[W < 0].
        Tensor gw = Tensor::empty(w_.shape(), DType::F32, w_.device()), t = Tensor::empty(w_.shape(), DType::F32, w_.device());
        ops::relu_bwd(w_, gwp, gw);
        ops::relu_bwd(ops::scale(w_, -1.f), gwn, t);
        ops::add(gw, t, gw);
        if (f.layer->weight.requires_grad) nn::accumulate_grad(f.layer->weight, f.bn ? scale_rows(gw, k_) : gw);
        if (f.bn && f.bn->weight.requires_grad) {
            // W = W0 * gamma * invstd per row: dL/dgamma = invstd * sum over the row of dL/dW * W0.
            const Tensor& w0 = f.layer->weight.value;
            const int64_t o = w0.dim(0);
            Tensor dgamma = Tensor::empty({o}, DType::F32, w0.device());
            ops::reduce_channels(ops::mul(gw, w0).reshape({1, o, w0.numel() / o}), dgamma);
            nn::accumulate_grad(f.bn->weight, ops::mul(dgamma, f.bn->saved_invstd()));
        }
    }
    const Tensor da = ops::mul(g_r1, g1_);     // R1 = G1 * a: dL/da = dL/dR1 * G1
    const Tensor extra = ops::mul(g_r1, a_);  // dL/dG1 = dL/dR1 * a
    const Tensor zero_dg = Tensor::zeros(f.layer->saved_input().shape(), DType::F32, dR.device());
    release();
    more.push_back(FlexPass::Injection{f.relu, extra});
    Tensor dseed = pass.adjoint(model, zero_dg, more);
    f.relu->add_output_grad(da);  // after the pass's adjoint: nothing is left pending if that throws
    return dseed;
}

void FlexZb::release() {
    kept_ = false;
    w_ = wp_ = wn_ = k_ = xl_ = xh_ = d_ = s_ = a_ = g1_ = Tensor();
}

}  // namespace lrp::explain
