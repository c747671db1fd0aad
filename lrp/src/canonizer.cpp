// BN-fold pairs in definition order, the folded parameters (computed on the device with op-table ops),
// and the scoped zennit-0.5.1 BN residue.
#include "lrp/lrp/canonizer.h"

#include <cmath>

#include "lrp/lrp/rule_math.h"
#include "lrp/ops/channel.h"

namespace lrp::explain {

const char* bn_fold_name(BnFold f) {
    switch (f) {
        case BnFold::None: return "none";
        case BnFold::Exact: return "exact";
        case BnFold::Zennit051: return "zennit_0_5_1";
    }
    return "?";
}

BnFold parse_bn_fold(const std::string& s) {
    for (BnFold f : {BnFold::None, BnFold::Exact, BnFold::Zennit051})
        if (s == bn_fold_name(f)) return f;
    LRP_THROW("unknown BN-fold mode '", s, "'; known: none, exact, zennit_0_5_1");
}

std::vector<BnFoldPair> find_bn_fold_pairs(nn::Module& model) {
    std::vector<BnFoldPair> out;
    nn::Module* last = nullptr;
    for (nn::Module* leaf : model.leaves()) {
        auto* layer = dynamic_cast<nn::AffineLayer*>(last);
        auto* bn = dynamic_cast<nn::BatchNorm2d*>(leaf);
        if (layer && bn && layer->weight.value.dim(0) == bn->channels) out.push_back({layer, bn});
        last = leaf;
    }
    return out;
}

AffineParams fold_batchnorm(const nn::AffineLayer& layer, const nn::BatchNorm2d& bn) {
    const Tensor& w = layer.weight.value;
    const int64_t k = w.dim(0), rest = w.numel() / k;
    LRP_CHECK(k == bn.channels, "BN fold: ", layer.type(), " '", layer.name(), "' has ", k, " outputs, BatchNorm2d '",
              bn.name(), "' has ", bn.channels, " channels");
    LRP_CHECK(bn.running_mean.device() == w.device(), "BN fold: '", layer.name(), "' and '", bn.name(),
              "' are on different devices");
    // scale = gamma / sqrt(var + eps) (the shift output is not needed: b' is formed in zennit's order).
    Tensor scale = Tensor::empty({k}, DType::F32, w.device()), unused = Tensor::empty({k}, DType::F32, w.device());
    ops::bn_eval_affine(bn.weight.value, Tensor(), bn.running_mean, bn.running_var, bn.eps, scale, unused);
    AffineParams p;
    p.weight = Tensor::empty(w.shape(), DType::F32, w.device());
    ops::channel_affine(w.reshape({1, k, rest}), scale, Tensor(), p.weight.reshape({1, k, rest}));
    // b' = (b - mean) * scale + beta, with b = 0 for a layer without bias.
    Tensor centered = layer.bias.value.defined() ? math::sub(layer.bias.value, bn.running_mean)
                                                 : math::sub(Tensor::zeros({k}, DType::F32, w.device()), bn.running_mean);
    p.bias = Tensor::empty({k}, DType::F32, w.device());
    ops::channel_affine(centered.reshape({1, k}), scale, bn.bias.value, p.bias.reshape({1, k}));
    return p;
}

ScopedAttributionForward::ScopedAttributionForward(nn::Module& model, const std::vector<FoldedPair>& folded,
                                                   BnFold mode) {
    for (const FoldedPair& p : folded)  // checked before anything is set: a throw leaves the model as it was
        LRP_CHECK(!p.layer->forward_override && !p.bn->folded_scale, "attribution forward: '", p.layer->name(),
                  "' / '", p.bn->name(), "' are already folded (nested attribution?)");
    for (const FoldedPair& p : folded) {
        p.layer->forward_override = nn::WeightBias{p.params.weight, p.params.bias};
        p.bn->folded_scale = mode == BnFold::Zennit051
                                 ? static_cast<float>(1.0 / std::sqrt(1.0 + static_cast<double>(p.bn->eps)))
                                 : 1.f;
        bns_.push_back(p.bn);
    }
    for (nn::Module* leaf : model.leaves())
        if (auto* layer = dynamic_cast<nn::AffineLayer*>(leaf)) {
            layer->keep_output = true;
            layers_.push_back(layer);
        }
}

ScopedAttributionForward::~ScopedAttributionForward() {
    for (nn::AffineLayer* l : layers_) {
        l->forward_override.reset();
        l->keep_output = false;
        l->release_output();
    }
    for (nn::BatchNorm2d* bn : bns_) bn->folded_scale.reset();
}

}  // namespace lrp::explain
