// BatchNorm folding for LRP (zennit 0.5.1's SequentialMergeBatchNorm / MergeBatchNorm, lrp-rules.md §7):
// (Conv2d | Linear, BatchNorm2d) pairs that are consecutive leaves in definition order are found, and
// W' = W * scale (per output channel), b' = (b - mean) * scale + beta are computed on the device from the
// current weights. The model's parameters are never modified: ScopedAttributionForward only sets the
// attribution fields of the layers (forward_override, keep_output, folded_scale) for its lifetime.
#pragma once
#include <string>
#include <vector>

#include "lrp/lrp/rule.h"
#include "lrp/nn/batchnorm.h"

namespace lrp::explain {

// none: BNs are not folded (they get the composite's BatchNorm rule);
// exact: folded; the attribution forward runs each folded layer with (W', b') and the BN as the identity,
//        which is the model's function (its logits agree with a plain eval forward to fp32 rounding);
// zennit_0_5_1: folded, and each folded BN's output is multiplied by 1/sqrt(1 + eps), the residue
//               zennit 0.5.1's neutralised BN leaves (§7.2), so maps match 0.5.1 to fp32 precision.
enum class BnFold { None, Exact, Zennit051 };
const char* bn_fold_name(BnFold f);    // "none", "exact", "zennit_0_5_1"
BnFold parse_bn_fold(const std::string& s);  // throws listing the known names

struct BnFoldPair {
    nn::AffineLayer* layer;
    nn::BatchNorm2d* bn;
};

// A pair and its folded parameters (Composite::bind computes them).
struct FoldedPair {
    nn::AffineLayer* layer;
    nn::BatchNorm2d* bn;
    AffineParams params;
};

// Every (affine leaf, BatchNorm2d leaf) pair adjacent in Module::leaves() order whose channel counts agree.
std::vector<BnFoldPair> find_bn_fold_pairs(nn::Module& model);

// The folded (W', b') of layer followed by bn in eval mode, on the layer's device (a layer without bias
// counts as b = 0).
AffineParams fold_batchnorm(const nn::AffineLayer& layer, const nn::BatchNorm2d& bn);

// The attribution forward, for its lifetime: each folded layer computes with its (W', b') and the BN after
// it is the identity (times 1/sqrt(1 + eps) for zennit_0_5_1); every affine leaf of `model` keeps its
// output, which the rules use as z = f(x; W, b) instead of a second forward. Restores the fields and
// drops the kept outputs on exit.
class ScopedAttributionForward {
public:
    ScopedAttributionForward(nn::Module& model, const std::vector<FoldedPair>& folded, BnFold mode);
    ~ScopedAttributionForward();
    ScopedAttributionForward(const ScopedAttributionForward&) = delete;
    ScopedAttributionForward& operator=(const ScopedAttributionForward&) = delete;

private:
    std::vector<nn::AffineLayer*> layers_;
    std::vector<nn::BatchNorm2d*> bns_;
};

}  // namespace lrp::explain
