// LRP-Flex: the modified-gradient pass (ReLU g * a / (a + eps), BN with constant statistics) and its adjoint,
// leaf by leaf (isnet-edda.md A.7, A.8).
#include "lrp/lrp/flex.h"

#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/pooling.h"
#include "lrp/nvtx.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"

namespace lrp::explain {
namespace {

bool supported(const nn::Module& m) {
    return dynamic_cast<const nn::AffineLayer*>(&m) || dynamic_cast<const nn::BatchNorm2d*>(&m) ||
           dynamic_cast<const nn::ReLU*>(&m) || dynamic_cast<const nn::MaxPool2d*>(&m) ||
           dynamic_cast<const nn::AvgPool2d*>(&m) || dynamic_cast<const nn::AdaptiveAvgPool2d*>(&m) ||
           dynamic_cast<const nn::Flatten*>(&m) || dynamic_cast<const nn::Dropout*>(&m) ||
           dynamic_cast<const nn::Identity*>(&m);
}

// a / (a + eps) for a = relu(x) >= 0 (the stabiliser's sign is + there).
Tensor relu_gain(const Tensor& a, float eps) {
    Tensor t = Tensor::empty(a.shape(), DType::F32, a.device());
    ops::lrp_eps_div(a, a, eps, t);
    return t;
}

// g * 1[x > 0], the ReLU's ordinary backward.
Tensor relu_pass(const Tensor& x, const Tensor& g) {
    Tensor t = Tensor::empty(g.shape(), DType::F32, g.device());
    ops::relu_bwd(x, g, t);
    return t;
}

Tensor bn_scale(const nn::BatchNorm2d& bn) { return ops::mul(bn.weight.value, bn.saved_invstd()); }

class GradientPolicy : public nn::RelevancePolicy {
public:
    GradientPolicy(const FlexOptions& o, std::unordered_map<const nn::Module*, Tensor>& g_out) : o_(o), g_out_(g_out) {}

    Tensor apply(nn::Module& m, const Tensor& g) override {
        LRP_CHECK(supported(m), "LRP-Flex: no modified gradient for ", m.type(), " '", m.name(), "'");
        LRP_CHECK(g_out_.emplace(&m, g).second, "LRP-Flex: ", m.type(), " '", m.name(),
                  "' is used twice in the model (each layer must appear once)");
        if (auto* r = dynamic_cast<nn::ReLU*>(&m)) {
            if (o_.plain_relu) return relu_pass(r->saved_input(), g);
            Tensor a = ops::relu(r->saved_input());
            return ops::mul(g, relu_gain(a, o_.epsilon));
        }
        if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
            Tensor y = Tensor::empty(g.shape(), DType::F32, g.device());
            ops::channel_affine(g, bn_scale(*bn), Tensor(), y);
            return y;
        }
        if (auto* a = dynamic_cast<nn::AffineLayer*>(&m))
            LRP_CHECK(!a->last_forward_substituted(), "LRP-Flex: the last forward of ", m.type(), " '", m.name(),
                      "' ran with BN-folded weights (an attribution forward); run a plain forward first");
        return m.backward(g, false);
    }

private:
    const FlexOptions& o_;
    std::unordered_map<const nn::Module*, Tensor>& g_out_;
};

// Leaf by leaf, with g_out the leaf's output gradient in the pass and h = dL/d(its input gradient):
// returns dL/d(g_out) (the leaf's linearisation applied to h) and accumulates the rest.
class AdjointPolicy : public nn::RelevanceAdjoint {
public:
    AdjointPolicy(const FlexOptions& o, const std::unordered_map<const nn::Module*, Tensor>& g_out,
                  const std::vector<FlexPass::Injection>& extras)
        : o_(o), g_out_(g_out), extras_(extras) {}

    Tensor apply(nn::Module& m, const Tensor& h) override {
        Tensor r = leaf(m, h);
        for (const FlexPass::Injection& e : extras_)
            if (e.at == &m) r = ops::add(r, e.extra);
        return r;
    }

private:
    Tensor leaf(nn::Module& m, const Tensor& h) {
        auto it = g_out_.find(&m);
        LRP_CHECK(it != g_out_.end(), "LRP-Flex adjoint: ", m.type(), " '", m.name(), "' was not in the pass");
        const Tensor& g = it->second;
        if (auto* r = dynamic_cast<nn::ReLU*>(&m)) {
            if (o_.plain_relu) return relu_pass(r->saved_input(), h);  // g_in = g * 1[x > 0]: linear in g only
            // g_in = g * a / (a + eps): dL/dg = h * a / (a + eps), dL/da = h * g * eps / (a + eps)^2.
            Tensor a = ops::relu(r->saved_input());
            Tensor s = Tensor::empty(a.shape(), DType::F32, a.device());
            ops::lrp_eps_div(ops::mul(h, g), a, o_.epsilon, s);
            ops::lrp_eps_div(s, a, o_.epsilon, s);
            r->add_output_grad(ops::scale(s, o_.epsilon));
            return ops::mul(h, relu_gain(a, o_.epsilon));
        }
        if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
            // g_in = g * gamma * invstd per channel: dL/dg = h * gamma * invstd, dL/dgamma = sum(h * g) * invstd.
            Tensor invstd = bn->saved_invstd();
            if (bn->weight.requires_grad) {
                Tensor dgamma = Tensor::empty({bn->channels}, DType::F32, h.device());
                ops::reduce_channels(ops::mul(h, g), dgamma);
                nn::accumulate_grad(bn->weight, ops::mul(dgamma, invstd));
            }
            Tensor y = Tensor::empty(h.shape(), DType::F32, h.device());
            ops::channel_affine(h, ops::mul(bn->weight.value, invstd), Tensor(), y);
            return y;
        }
        if (auto* a = dynamic_cast<nn::AffineLayer*>(&m)) {
            // g_in = W^T g: dL/dg = W h (the forward without bias), dL/dW = wgrad(input h, output gradient g).
            if (a->weight.requires_grad) a->accumulate_weight_grad(h, g);
            return a->forward_with(h, a->weight.value, Tensor());
        }
        if (auto* p = dynamic_cast<nn::MaxPool2d*>(&m)) return p->gather(h);
        if (auto* p = dynamic_cast<nn::AvgPool2d*>(&m)) return p->pool(h);
        if (auto* p = dynamic_cast<nn::AdaptiveAvgPool2d*>(&m)) return p->pool(h).reshape(g.shape());
        if (auto* d = dynamic_cast<nn::Dropout*>(&m)) return d->saved_mask().defined() ? ops::mul(h, d->saved_mask()) : h;
        if (dynamic_cast<nn::Flatten*>(&m)) return h.reshape(g.shape());
        if (dynamic_cast<nn::Identity*>(&m)) return h;
        LRP_THROW("LRP-Flex adjoint: no rule for ", m.type(), " '", m.name(), "'");
    }

    const FlexOptions& o_;
    const std::unordered_map<const nn::Module*, Tensor>& g_out_;
    const std::vector<FlexPass::Injection>& extras_;
};

}  // namespace

Tensor FlexPass::gradient(nn::Module& model, const Tensor& seed) {
    LRP_NVTX_RANGE("lrp_flex.gradient");
    LRP_CHECK(opt_.plain_relu || opt_.epsilon > 0.f, "LRP-Flex: epsilon must be positive (got ", opt_.epsilon, ")");
    g_out_.clear();
    ++generation_;
    GradientPolicy policy(opt_, g_out_);
    Tensor G = model.relevance(seed, policy);
    g_shape_ = G.shape();
    return G;
}

Tensor FlexPass::adjoint(nn::Module& model, const Tensor& dG) { return adjoint_impl(model, dG, {}); }

Tensor FlexPass::adjoint(nn::Module& model, const Tensor& dG, const nn::Module& at, const Tensor& extra) {
    return adjoint(model, dG, std::vector<Injection>{Injection{&at, extra}});
}

Tensor FlexPass::adjoint(nn::Module& model, const Tensor& dG, const std::vector<Injection>& extras) {
    for (const Injection& e : extras) {
        LRP_CHECK(e.at, "LRP-Flex: adjoint() term without a leaf");
        const Tensor& g = output_gradient(*e.at);
        LRP_CHECK(e.extra.shape() == g.shape() && e.extra.device() == g.device(), "LRP-Flex: adjoint() adds ",
                  e.extra.shape().str(), " on ", e.extra.device().str(), " to the output gradient ", g.shape().str(),
                  " on ", g.device().str(), " of ", e.at->type(), " '", e.at->name(), "'");
    }
    return adjoint_impl(model, dG, extras);
}

const Tensor& FlexPass::output_gradient(const nn::Module& m) const {
    auto it = g_out_.find(&m);
    LRP_CHECK(it != g_out_.end(), "LRP-Flex: ", m.type(), " '", m.name(), "' was not in the last pass",
              g_out_.empty() ? " (no pass since the last adjoint)" : "");
    return it->second;
}

Tensor FlexPass::adjoint_impl(nn::Module& model, const Tensor& dG, const std::vector<Injection>& extras) {
    LRP_NVTX_RANGE("lrp_flex.adjoint");
    LRP_CHECK(!g_out_.empty(), "LRP-Flex: adjoint() without a preceding gradient() (or called twice)");
    struct Release {  // the saved output gradients go with this call, also when it throws
        std::unordered_map<const nn::Module*, Tensor>& m;
        ~Release() { m.clear(); }
    } release{g_out_};
    LRP_CHECK(dG.shape() == g_shape_, "LRP-Flex: adjoint() of ", dG.shape().str(), " for a gradient of ",
              g_shape_.str());
    AdjointPolicy policy(opt_, g_out_, extras);
    return model.relevance_adjoint(dG, policy);
}

}  // namespace lrp::explain
