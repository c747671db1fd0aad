// The attribution entry point: eval-mode forward (BN running statistics, never updated), initial
// relevance from the target, and the relevance pass with the composite's rules. Everything stays on
// x's device; nothing is copied to the host.
#pragma once
#include "lrp/lrp/composite.h"
#include "lrp/lrp/target.h"
#include "lrp/nn/module.h"

namespace lrp::explain {

// Returns the relevance at the input (shape and device of x). The composite is (re)bound to the model,
// so BN folding follows the current weights. With BnFold::Zennit051 the forward (and *logits) carries
// zennit 0.5.1's folded-BN residue 1/sqrt(1 + eps) per folded BN. The model's train/eval mode is restored.
Tensor attribute(nn::Module& model, const Tensor& x, const Target& target, Composite& composite,
                 Tensor* logits = nullptr);

}  // namespace lrp::explain
