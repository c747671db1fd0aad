// BatchNorm folding for LRP (zennit 0.5.1's SequentialMergeBatchNorm / MergeBatchNorm, lrp-rules.md §7):
// (Conv2d | Linear, BatchNorm2d) pairs that are consecutive leaves in definition order are found, and
// W' = W * scale (per output channel), b' = (b - mean) * scale + beta are computed on the device from the
// current weights. The model is never modified; only ScopedBnResidue touches BatchNorm2d::eval_output_scale.
#pragma once
#include <string>
#include <vector>

#include "lrp/lrp/rule.h"
#include "lrp/nn/batchnorm.h"

namespace lrp::explain {

// none: BNs are not folded (they get the composite's BatchNorm rule);
// exact: folded, the forward is the model's own;
// zennit_0_5_1: folded, and the attribution forward multiplies each folded BN's output by 1/sqrt(1 + eps),
//               the residue zennit 0.5.1's neutralised BN leaves (§7.2), so maps match 0.5.1 to fp32 precision.
enum class BnFold { None, Exact, Zennit051 };
const char* bn_fold_name(BnFold f);    // "none", "exact", "zennit_0_5_1"
BnFold parse_bn_fold(const std::string& s);  // throws listing the known names

struct BnFoldPair {
    nn::AffineLayer* layer;
    nn::BatchNorm2d* bn;
};

// Every (affine leaf, BatchNorm2d leaf) pair adjacent in Module::leaves() order whose channel counts agree.
std::vector<BnFoldPair> find_bn_fold_pairs(nn::Module& model);

// The folded (W', b') of layer followed by bn in eval mode, on the layer's device (a layer without bias
// counts as b = 0).
AffineParams fold_batchnorm(const nn::AffineLayer& layer, const nn::BatchNorm2d& bn);

// For its lifetime, each given BN's eval-mode output is scaled by 1/sqrt(1 + bn.eps); restored on exit.
class ScopedBnResidue {
public:
    explicit ScopedBnResidue(const std::vector<nn::BatchNorm2d*>& bns);
    ~ScopedBnResidue();
    ScopedBnResidue(const ScopedBnResidue&) = delete;
    ScopedBnResidue& operator=(const ScopedBnResidue&) = delete;

private:
    std::vector<std::pair<nn::BatchNorm2d*, float>> saved_;
};

}  // namespace lrp::explain
