// The z^B rule (zennit's ZBox) on the first layer of an LRP-Flex pass, and its adjoint: ISNet's default input
// layer (isnet-edda.md A.5, the authors' Zb=1), so that a heatmap loss trains through it as through the pass.
#pragma once
#include <vector>

#include "lrp/lrp/flex.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"

namespace lrp::explain {

// The model must begin with Conv2d or Linear, an optional BatchNorm2d, and a ReLU (the authors' chains). With W the
// layer's weight times BN's gamma / sqrt(var + eps) of the last forward (its batch statistics after a train-mode
// forward, held constant as the pass holds them), L and H the bounds, and R1 = G1 * a the relevance at the ReLU's
// output a (G1 the pass's gradient there):
//   s = R1 / (f(x - L; W+) + f(x - H; W-) + eps),   R = (x - L) * f'(s; W+) + (x - H) * f'(s; W-)
// (f the layer without bias, f' its input-VJP). This is zennit's ZBox on the BN-folded layer: the bias cancels and
// the denominator is >= 0. The authors' code keeps part of the bias in it (h * b-, with raw bounds 0 and 1), which
// has no equivalent for normalised inputs; lrpcu follows zennit, whose rule is the same in raw and normalised units.
class FlexZb {
public:
    // low/high: the input's bounds per channel (or one value for all), in the units the model sees: for normalised
    // images, the normalised values of raw 0 and 1. epsilon: the stabiliser of the denominator (> 0).
    FlexZb(std::vector<float> low, std::vector<float> high, float epsilon);

    // After model.forward(x) and pass.gradient(model, seed): the input relevance R ([x's shape]). Keeps what
    // adjoint() needs.
    Tensor heatmap(nn::Module& model, const FlexPass& pass, const Tensor& x);

    // Given dR = dL/dR for the R of the last heatmap(): adds dL/dtheta through the first layer's weight and BN gamma,
    // leaves dL/da pending at the first ReLU, and runs pass.adjoint() with dL/dG1 (so every weight of the pass gets
    // its share). Returns what pass.adjoint() returns, dL/d(seed). Once per heatmap(), with the same pass and no
    // gradient() of it in between. `more`: further terms for pass.adjoint() (LRP deep supervision's).
    Tensor adjoint(nn::Module& model, FlexPass& pass, const Tensor& dR, std::vector<FlexPass::Injection> more = {});

    // Drops what heatmap() kept for adjoint() (a heatmap used without an adjoint: evaluation, calibration), so the
    // first layer's activation-sized tensors do not outlive the batch.
    void release();

    const std::vector<float>& low() const { return low_; }
    const std::vector<float>& high() const { return high_; }
    float epsilon() const { return eps_; }

private:
    struct First {
        nn::AffineLayer* layer = nullptr;
        nn::BatchNorm2d* bn = nullptr;  // null: no BN between the layer and the ReLU
        nn::ReLU* relu = nullptr;
    };
    static First first_layers(nn::Module& model);
    // x - bound per channel (bound: low_ or high_; neg_bound: -bound as a [C] tensor on x's device, made once).
    Tensor shifted(const Tensor& x, const std::vector<float>& bound, Tensor& neg_bound);

    std::vector<float> low_, high_;
    float eps_;
    // Kept from heatmap() for adjoint(): the chain, the folded weight and its parts, BN's scale (gamma * invstd),
    // x - L, x - H, the denominator (unstabilised), s, the ReLU's output and the pass's gradient there.
    First first_;
    Tensor w_, wp_, wn_, k_, xl_, xh_, d_, s_, a_, g1_;
    bool kept_ = false;
    uint64_t generation_ = 0;  // the pass's generation() heatmap() read
    Tensor ones_, neg_low_, neg_high_;  // [C] constants on the input's device (no host copy inside a step)
};

}  // namespace lrp::explain
