// The supervised training step and its loss/accuracy helpers (all results stay on the device).
#include "lrp/train/step.h"

#include "lrp/nvtx.h"
#include "lrp/ops/loss.h"
#include "lrp/ops/metrics.h"
#include "lrp/ops/reduce.h"

namespace lrp::train {

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, float smoothing, const Tensor& dlogits) {
    LRP_CHECK(logits.ndim() == 2, "cross_entropy: logits have shape ", logits.shape().str(), ", expected [N, K]");
    const int64_t n = logits.dim(0);
    LRP_CHECK(n > 0, "cross_entropy: empty batch");
    Tensor per_sample = Tensor::empty({n}, DType::F32, logits.device());
    ops::softmax_xent(logits, labels, smoothing, 1.f / static_cast<float>(n), per_sample, dlogits);
    return ops::reduce_all(ops::ReduceOp::Mean, per_sample);
}

Tensor count_correct(const Tensor& logits, const Tensor& labels) {
    Tensor pred = Tensor::empty({logits.dim(0)}, DType::I32, logits.device());
    ops::argmax_rows(logits, pred);
    Tensor c = Tensor::empty({1}, DType::F32, logits.device());
    ops::count_equal(pred, labels, c);
    return c;
}

StepResult train_step(nn::Module& model, Optimizer& opt, const Tensor& x, const Tensor& labels,
                      const StepOptions& o) {
    LRP_NVTX_RANGE("train_step");
    model.train(true);
    model.zero_grad();
    StepResult r;
    r.logits = model.forward(x);
    Tensor dlogits = Tensor::empty(r.logits.shape(), DType::F32, r.logits.device());
    r.loss = cross_entropy(r.logits, labels, o.label_smoothing, dlogits);
    r.correct = count_correct(r.logits, labels);
    model.backward(dlogits, true);
    if (o.clip_grad_norm > 0.f) clip_grad_norm(model.named_params(), o.clip_grad_norm);
    opt.step();
    return r;
}

}  // namespace lrp::train
