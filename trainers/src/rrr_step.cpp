// Rrr: Right for the Right Reasons' step. Forward, the input gradient of sum_k log p_k (seed 1 - K softmax, through
// LRP-Flex with plain ReLUs, BN statistics held), the penalty lambda * sum over background pixels of its square (in
// 0-255 pixel units), the pass's adjoint and the seed's softmax VJP, the ordinary backward, one update.
#include "lrp/train/rrr_step.h"

#include <cmath>
#include <sstream>

#include "lrp/nvtx.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/loss.h"
#include "lrp/ops/reduce.h"
#include "lrp/train/isnet_step.h"

namespace lrp::train {
Rrr::Rrr(RrrSettings s) : s_(std::move(s)), flex_(explain::FlexOptions{0.f, true}) {
    LRP_CHECK(s_.lambda >= 0.f && std::isfinite(s_.lambda), "RRR: lambda must be a finite number >= 0 (got ",
              s_.lambda, ")");
    LRP_CHECK(!s_.level.empty() && s_.pixel_scale.size() == s_.level.size(), "RRR: ", s_.level.size(),
              " foreground level(s) and ", s_.pixel_scale.size(), " pixel scale(s): one per channel");
    for (float v : s_.level) LRP_CHECK(std::isfinite(v), "RRR: foreground level ", v, " is not finite");
    for (float v : s_.pixel_scale)
        LRP_CHECK(v > 0.f && std::isfinite(v), "RRR: pixel scale ", v, " must be a finite number > 0");
}

Tensor Rrr::mask(const Tensor& x, const Tensor& allowed) {
    return method_foreground("RRR", "--rrr-mask", s_.level, s_.data_mask, x, allowed, ones_, shift_);
}

Tensor Rrr::input_gradient(nn::Module& model, const Tensor& logits) {
    // d sum_k log p_k / dz = 1 - K softmax(z): softmax cross-entropy's gradient against the uniform target
    // (smoothing 1; the labels then do not matter) scaled by -K.
    const int64_t N = logits.dim(0), K = logits.dim(1);
    const Tensor any_label = Tensor::zeros(Shape{N}, DType::I32, logits.device());
    Tensor loss = Tensor::empty(Shape{N}, DType::F32, logits.device());
    Tensor seed = Tensor::empty(logits.shape(), DType::F32, logits.device());
    ops::softmax_xent(logits, any_label, 1.f, -static_cast<float>(K), loss, seed);
    const Tensor G = flex_.gradient(model, seed);
    Tensor g = Tensor::empty(G.shape(), DType::F32, G.device());
    ops::channel_affine(G, cached_on(s_.pixel_scale, G.device(), scale_), Tensor(), g);
    return g;
}

RrrStepResult Rrr::step(nn::Module& model, Optimizer& opt, const Tensor& x, const Tensor& labels, const StepOptions& o,
                        const Tensor& allowed) {
    LRP_NVTX_RANGE("rrr_step");
    LRP_CHECK(x.ndim() == 4 && x.dim(0) > 0, "RRR: batch ", x.shape().str(), ", expected a non-empty [N, C, H, W]");
    const int64_t N = x.dim(0);
    model.train(true);
    model.zero_grad();
    RrrStepResult r;
    r.step.logits = model.forward(x);
    const int64_t K = r.step.logits.dim(1);
    const Tensor dlogits = Tensor::empty(r.step.logits.shape(), DType::F32, x.device());
    const Tensor ce = cross_entropy(r.step.logits, labels, o.label_smoothing, dlogits);
    r.step.correct = count_correct(r.step.logits, labels);
    const Tensor g = input_gradient(model, r.step.logits);
    const Tensor fg = mask(x, allowed);
    const Tensor bg = ops::add(ops::full(fg.shape(), 1.f, x.device()), ops::scale(fg, -1.f));
    const Tensor gb = ops::pixel_scale(g, bg);  // the gradient on background pixels, 0 elsewhere
    r.penalty = ops::reduce_all(ops::ReduceOp::Mean, ops::reduce_per_sample(ops::ReduceOp::Sum, ops::mul(gb, gb)));
    // d(lambda mean_n sum gb^2)/dG = 2 lambda / N * bg * g * pixel_scale (bg is 0 or 1).
    Tensor dG = Tensor::empty(gb.shape(), DType::F32, x.device());
    ops::channel_affine(gb, cached_on(s_.pixel_scale, x.device(), scale_), Tensor(), dG);
    ops::scale(dG, 2.f * s_.lambda / static_cast<float>(N), dG);
    const Tensor dseed = flex_.adjoint(model, dG);
    // The seed 1 - K p depends on the logits: dL/dz = -K p * (dseed - sum_j dseed_j p_j), p = softmax(z).
    const Tensor seed_p = Tensor::empty(r.step.logits.shape(), DType::F32, x.device());
    {
        Tensor loss = Tensor::empty(Shape{N}, DType::F32, x.device());
        ops::softmax_xent(r.step.logits, Tensor::zeros(Shape{N}, DType::I32, x.device()), 1.f, 1.f, loss, seed_p);
    }
    const Tensor p = ops::add(seed_p, ops::full(seed_p.shape(), 1.f / static_cast<float>(K), x.device()));
    Tensor dot = Tensor::empty(seed_p.shape(), DType::F32, x.device());
    ops::expand_rows(ops::reduce_per_sample(ops::ReduceOp::Sum, ops::mul(dseed, p)), 1.f, dot);
    ops::axpy(-static_cast<float>(K), ops::mul(p, ops::add(dseed, ops::scale(dot, -1.f))), dlogits);
    model.backward(dlogits, true);
    if (o.clip_grad_norm > 0.f) clip_grad_norm(model.named_params(), o.clip_grad_norm);
    opt.step();
    r.step.loss = ce;
    ops::axpy(s_.lambda, r.penalty, r.step.loss);
    r.foreground = ops::reduce_all(ops::ReduceOp::Mean, fg);
    return r;
}

RrrSettings rrr_settings(const TrainConfig& cfg, const std::vector<float>& mean, const std::vector<float>& stdev) {
    LRP_CHECK(cfg.augment == "rrr", "rrr_settings: --augment ", cfg.augment, " is not rrr");
    LRP_CHECK(mean.size() == stdev.size() && !mean.empty(), "rrr_settings: ", mean.size(), " mean and ", stdev.size(),
              " std values");
    RrrSettings s;
    s.lambda = cfg.rrr_lambda;
    const std::string spec = cfg.rrr_mask_spec();
    const float raw = parse_isnet_mask(spec);
    s.data_mask = spec == "data";
    for (size_t c = 0; c < mean.size(); ++c) {
        s.level.push_back((raw - mean[c]) / stdev[c]);
        s.pixel_scale.push_back(1.f / (255.f * stdev[c]));
    }
    return s;
}

std::string describe(const RrrSettings& s) {
    std::ostringstream o;
    o << "RRR (Right for the Right Reasons, Ross et al. 2017): loss CE + " << s.lambda
      << " * sum over background pixels of (d sum_k log p_k / dx)^2, x in 0-255 pixel units; BN statistics held in "
         "the gradient; foreground ";
    if (s.data_mask) return o.str() + "the dataset's masks";
    o << "above [";
    for (size_t i = 0; i < s.level.size(); ++i) o << (i ? ", " : "") << s.level[i];
    o << "] (normalised)";
    return o.str();
}

}  // namespace lrp::train
