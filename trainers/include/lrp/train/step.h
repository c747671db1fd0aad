// One supervised training step on a model: train-mode forward, softmax cross-entropy (mean over the
// batch, optional label smoothing), gradient backward, optional clipping, optimiser update. The loss
// and the correct-prediction count stay on the device (no host synchronisation inside the step).
#pragma once
#include "lrp/nn/module.h"
#include "lrp/train/optimizer.h"

namespace lrp::train {

struct StepOptions {
    float label_smoothing = 0.f;
    float clip_grad_norm = 0.f;  // > 0 enables clipping (on the device, no host read)
};

struct StepResult {
    Tensor loss;     // [1] mean loss, on the device
    Tensor correct;  // [1] number of correct top-1 predictions (as float), on the device
    Tensor logits;   // N x K
};

// Loss and its gradient for logits (N x K) and int32 labels (N): returns the mean loss [1] and
// writes dlogits (may be undefined to skip it).
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, float label_smoothing, const Tensor& dlogits);
// Number of rows whose arg-max equals the label, as a [1] float tensor on the device.
Tensor count_correct(const Tensor& logits, const Tensor& labels);

StepResult train_step(nn::Module& model, Optimizer& opt, const Tensor& x, const Tensor& labels,
                      const StepOptions& o = {});

}  // namespace lrp::train
