// Edda::augment and edda_train_step: attribution -> the most / least relevant window per sample -> two
// occluded copies -> one train step with a target and a weight per part. No host synchronisation.
#include "lrp/train/edda_step.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "lrp/log.h"
#include "lrp/lrp/attribution.h"
#include "lrp/nvtx.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/loss.h"
#include "lrp/parse.h"
#include "lrp/ops/metrics.h"
#include "lrp/ops/reduce.h"
#include "lrp/ops/reldrop.h"
#include "lrp/train/reldrop_step.h"

namespace lrp::train {

namespace {
explain::Composite build_composite(const EddaSettings& s) {
    LRP_CHECK(s.target == "label" || s.target == "pred", "EDDA: target must be label or pred (got '", s.target, "')");
    LRP_CHECK(s.patch >= 1, "EDDA: patch must be >= 1 (got ", s.patch, ")");
    LRP_CHECK(s.salient_smoothing >= 0 && s.salient_smoothing <= 1, "EDDA: the salient target's smoothing must be in ",
              "[0, 1] (got ", s.salient_smoothing, ")");
    for (float w : {s.w_clean, s.w_salient, s.w_nonsalient})
        LRP_CHECK(w >= 0 && std::isfinite(w), "EDDA: loss weights must be finite and >= 0 (got ", w, ")");
    LRP_CHECK(s.w_clean + s.w_salient + s.w_nonsalient > 0, "EDDA: the loss weights sum to 0");
    LRP_CHECK(!s.fill.empty(), "EDDA: no fill value");
    return explain::make_composite(s.composite, s.composite_options);
}

}  // namespace

float parse_edda_salient_target(const std::string& v) {
    if (v == "uniform") return 1.f;
    if (v == "label") return 0.f;
    if (v.rfind("smooth:", 0) == 0) {
        const std::optional<float> l = parse_finite_float(v.substr(7));
        if (l && *l >= 0 && *l <= 1) return *l;
    }
    LRP_THROW("--edda-salient-target must be uniform, label or smooth:<s> with s in [0, 1] (got '", v, "')");
}

Edda::Edda(EddaSettings s) : s_(std::move(s)), composite_(build_composite(s_)) {}

Tensor Edda::augment(nn::Module& model, const Tensor& x, const Tensor& labels, Tensor* pos_out, Tensor* valid_out,
                     Tensor* relevance_out) {
    LRP_NVTX_RANGE("edda.augment");
    LRP_CHECK(x.ndim() == 4, "EDDA: the batch has shape ", x.shape().str(), ", expected [N, C, H, W]");
    const int64_t N = x.dim(0);
    const explain::Target t = s_.target == "label" ? explain::Target::label(labels) : explain::Target::prediction();
    const Tensor relevance = explain::attribute(model, x, t, composite_);
    model.clear_saved();  // the attribution's activations are not needed by the train forward
    Tensor pos = Tensor::empty(Shape{2, N}, DType::I32, x.device());
    Tensor valid = Tensor::empty(Shape{N}, DType::F32, x.device());
    ops::edda_select(relevance, s_.patch, s_.reduce, pos, valid);
    std::vector<int64_t> d = x.shape().dims();
    d[0] = 3 * N;
    Tensor out = Tensor::empty(Shape(d), DType::F32, x.device());
    for (int part = 0; part < 3; ++part) out.slice(part * N, (part + 1) * N).copy_from(x);
    ops::fill_windows(out.slice(N, 3 * N), pos.reshape(Shape{2 * N}), s_.patch, s_.fill);
    if (pos_out) *pos_out = pos;
    if (valid_out) *valid_out = valid;
    if (relevance_out) *relevance_out = relevance;
    return out;
}

Tensor edda_loss(const Tensor& logits, const Tensor& labels, const Tensor& valid, const EddaSettings& s,
                 float label_smoothing, const Tensor& dlogits) {
    LRP_CHECK(logits.ndim() == 2 && logits.dim(0) % 3 == 0 && logits.dim(0) > 0, "EDDA: logits have shape ",
              logits.shape().str(), ", expected [3N, K]");
    const int64_t N = logits.dim(0) / 3, K = logits.dim(1);
    Tensor per_row = Tensor::empty(Shape{3 * N}, DType::F32, logits.device());
    const double denom = static_cast<double>(N) * (static_cast<double>(s.w_clean) + s.w_salient + s.w_nonsalient);
    const float weights[3] = {s.w_clean, s.w_salient, s.w_nonsalient};
    const float smoothing[3] = {label_smoothing, s.salient_smoothing, label_smoothing};
    Tensor total = ops::full(Shape{1}, 0.f, logits.device());
    for (int part = 0; part < 3; ++part) {
        const Tensor lg = logits.slice(part * N, (part + 1) * N), dl = dlogits.slice(part * N, (part + 1) * N);
        const Tensor loss = per_row.slice(part * N, (part + 1) * N);
        ops::softmax_xent(lg, labels, smoothing[part], static_cast<float>(weights[part] / denom), loss, dl);
        if (part > 0) {  // the copies of a sample whose map was not finite were not occluded: weight 0
            ops::mul(loss, valid, loss);
            const Tensor rows = dl.reshape(Shape{1, N, K});
            ops::channel_affine(rows, valid, Tensor(), rows);
        }
        ops::axpy(static_cast<float>(weights[part] / denom), ops::reduce_all(ops::ReduceOp::Sum, loss), total);
    }
    return total;
}

EddaStepResult edda_train_step(nn::Module& model, Optimizer& opt, Edda& edda, const Tensor& x, const Tensor& labels,
                               const StepOptions& o, Tensor* trained_input) {
    LRP_NVTX_RANGE("edda_step");
    const int64_t N = x.dim(0);
    LRP_CHECK(N > 0, "EDDA: empty batch");
    Tensor valid, pos;
    const Tensor X = edda.augment(model, x, labels, &pos, &valid);
    if (trained_input) *trained_input = X;
    model.train(true);
    model.zero_grad();
    EddaStepResult r;
    r.step.logits = model.forward(X);
    const Tensor dlogits = Tensor::empty(r.step.logits.shape(), DType::F32, r.step.logits.device());
    r.step.loss = edda_loss(r.step.logits, labels, valid, edda.settings(), o.label_smoothing, dlogits);
    r.step.correct = count_correct(r.step.logits.slice(0, N), labels);
    r.salient_correct = count_correct(r.step.logits.slice(N, 2 * N), labels);
    r.nonsalient_correct = count_correct(r.step.logits.slice(2 * N, 3 * N), labels);
    r.nonfinite = ops::full(Shape{1}, static_cast<float>(N), x.device());
    ops::axpy(-1.f, ops::reduce_all(ops::ReduceOp::Sum, valid), r.nonfinite);
    r.coincident = Tensor::empty(Shape{1}, DType::F32, x.device());  // (a non-finite map's windows are both -1)
    ops::count_equal(pos.slice(0, 1).reshape(Shape{N}), pos.slice(1, 2).reshape(Shape{N}), r.coincident);
    ops::axpy(-1.f, r.nonfinite, r.coincident);
    model.backward(dlogits, true);
    if (o.clip_grad_norm > 0.f) clip_grad_norm(model.named_params(), o.clip_grad_norm);
    opt.step();
    return r;
}

std::string describe(const EddaSettings& s) {
    std::ostringstream o;
    o << "EDDA (lrpcu's procedure; the paper's is not published): " << s.patch << "x" << s.patch
      << " window, map " << ops::edda_reduce_name(s.reduce) << " over channels, composite " << s.composite
      << ", target " << s.target << "; salient-occluded copy -> "
      << (s.salient_smoothing == 1.f ? std::string("uniform")
                                     : (s.salient_smoothing == 0.f ? std::string("label")
                                                                   : "smooth:" + std::to_string(s.salient_smoothing)))
      << ", non-salient-occluded copy -> label; weights clean " << s.w_clean << ", salient " << s.w_salient
      << ", non-salient " << s.w_nonsalient << "; fill [";
    for (size_t i = 0; i < s.fill.size(); ++i) o << (i ? ", " : "") << s.fill[i];
    o << "]";
    return o.str();
}

int edda_patch_side(int patch, int H, int W) { return patch > 0 ? patch : (std::min(H, W) + 3) / 4; }

EddaSettings edda_settings(const TrainConfig& cfg, const std::vector<float>& mean, const std::vector<float>& stdev,
                           int C, int H, int W) {
    LRP_CHECK(cfg.augment == "edda", "edda_settings: --augment ", cfg.augment, " is not edda");
    EddaSettings s;
    s.composite = cfg.edda_composite;
    s.composite_options = dataset_composite_options(mean, stdev, cfg.edda_epsilon);
    s.target = cfg.edda_target;
    s.reduce = ops::parse_edda_reduce(cfg.edda_reduce);
    s.patch = edda_patch_side(cfg.edda_patch, H, W);
    LRP_CHECK(s.patch <= std::min(H, W), "--edda-patch ", s.patch, " exceeds the smaller side of the ", H, " x ", W,
              " images");
    s.salient_smoothing = parse_edda_salient_target(cfg.edda_salient_target);
    s.w_clean = cfg.edda_w_clean;
    s.w_salient = cfg.edda_w_salient;
    s.w_nonsalient = cfg.edda_w_nonsalient;
    s.fill = ops::reldrop_fill(cfg.edda_fill, mean, stdev, "--edda-fill");
    LRP_CHECK(C >= 1 && C <= 4, "EDDA: images of ", C, " channels (1 to 4 supported)");
    try {
        Edda check(s);  // an unknown composite or bad weight fails here, before training starts
    } catch (const Error& e) {
        LRP_THROW("--augment edda (--edda-composite ", s.composite, "): ", e.what());
    }
    return s;
}

}  // namespace lrp::train
