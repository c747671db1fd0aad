// Sgt::mask and Sgt::step: eval-mode saliency -> the k least salient pixels per sample filled -> one train step on
// CE + lambda KL with the clean and the masked forward each in train mode. No host synchronisation.
#include "lrp/train/sgt_step.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "lrp/log.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/activation.h"
#include "lrp/nvtx.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/loss.h"
#include "lrp/ops/reduce.h"
#include "lrp/ops/reldrop.h"
#include "lrp/ops/sgt.h"
#include "lrp/train/reldrop_step.h"

namespace lrp::train {

namespace {
explain::Composite build_composite(const SgtSettings& s) {
    LRP_CHECK(s.frac > 0.f && s.frac <= 1.f, "SGT: the masked fraction must be in (0, 1] (got ", s.frac, ")");
    LRP_CHECK(std::isfinite(s.lambda) && s.lambda >= 0.f, "SGT: lambda must be finite and >= 0 (got ", s.lambda, ")");
    LRP_CHECK(s.fill != SgtFill::Constant || !s.constant.empty(), "SGT: a constant fill without a value");
    for (float v : s.constant) LRP_CHECK(std::isfinite(v), "SGT: the constant fill holds ", v);
    if (s.saliency == "gradient" || s.saliency == "logprob-gradient") return explain::Composite(s.saliency);
    return explain::make_composite(s.saliency, s.composite_options);
}

// Restores the model's train/eval mode when the scope ends (also on an exception).
class ModeScope {
public:
    explicit ModeScope(nn::Module& m) : m_(m), training_(m.training()) {}
    ~ModeScope() { m_.train(training_); }

private:
    nn::Module& m_;
    bool training_;
};

// What a train-mode forward changes besides its stored activations: the BN running statistics (buffers) and the
// dropout streams. keep() records them; the destructor puts them back (exceptions included, swallowed there).
class TrainForwardState {
public:
    explicit TrainForwardState(nn::Module& m) : model_(m) {
        for (nn::Module* l : m.leaves())
            if (auto* d = dynamic_cast<nn::Dropout*>(l))
                if (std::find(streams_.begin(), streams_.end(), &d->stream()) == streams_.end())
                    streams_.push_back(&d->stream());
    }
    TrainForwardState(const TrainForwardState&) = delete;
    TrainForwardState& operator=(const TrainForwardState&) = delete;
    ~TrainForwardState() {
        if (!kept_) return;
        try {
            set_streams(kept_streams_);
            for (auto& [t, v] : kept_buffers_) t->copy_from(v);
        } catch (const std::exception& e) {
            log_warn("SGT: could not restore the BN statistics after the recomputed forward: ", e.what());
        }
    }
    std::vector<Generator> streams() const {
        std::vector<Generator> v;
        for (Generator* s : streams_) v.push_back(*s);
        return v;
    }
    void set_streams(const std::vector<Generator>& v) {
        for (size_t i = 0; i < streams_.size(); ++i) *streams_[i] = v[i];
    }
    void keep() {
        kept_streams_ = streams();
        for (auto& [name, t] : model_.named_buffers()) kept_buffers_.emplace_back(t, t->clone());
        kept_ = true;
    }

private:
    nn::Module& model_;
    std::vector<Generator*> streams_;
    std::vector<Generator> kept_streams_;
    std::vector<std::pair<Tensor*, Tensor>> kept_buffers_;
    bool kept_ = false;
};
}  // namespace

Sgt::Sgt(SgtSettings s) : s_(std::move(s)), composite_(build_composite(s_)) {}

int Sgt::pixels(int64_t H, int64_t W) const {
    // floor(frac H W) of the decimal fraction: the relative 1e-6 keeps a float frac just below a decimal (0.7f =
    // 0.69999999) from losing a pixel where frac H W is whole (0.7 x 100 = 70, not 69). The authors' Python int()
    // of the double product can give one less (0.29 x 100 = 28.999999999999996 -> 28); docs/sgt.md says so.
    const double k = std::floor(static_cast<double>(s_.frac) * static_cast<double>(H * W) * (1.0 + 1e-6));
    return static_cast<int>(std::max(1.0, std::min(k, static_cast<double>(H * W))));
}

Tensor Sgt::saliency(nn::Module& model, const Tensor& x, const Tensor& labels) {
    const explain::Target t = explain::Target::label(labels);
    const bool logprob = s_.saliency == "logprob-gradient";
    if (s_.saliency != "gradient" && !logprob) return explain::attribute(model, x, t, composite_);
    ModeScope mode(model);
    model.eval();
    const Tensor z = model.forward(x);
    LRP_CHECK(z.ndim() == 2, "SGT: the model output has shape ", z.shape().str(), ", expected [N, classes]");
    if (!logprob) return model.backward(explain::initial_relevance(z, t), false);
    // d log p_y / dz = onehot(y) - softmax(z): the cross-entropy's gradient scaled by -1.
    Tensor seed = Tensor::empty(z.shape(), DType::F32, z.device());
    ops::softmax_xent(z, labels, 0.f, -1.f, Tensor::empty(Shape{z.dim(0)}, DType::F32, z.device()), seed);
    return model.backward(seed, false);
}

void Sgt::fill_bounds(const Tensor& x, Tensor& lo, Tensor& hi) {
    const int64_t N = x.dim(0), C = x.dim(1);
    if (s_.fill == SgtFill::Constant) {
        LRP_CHECK(s_.constant.size() == 1 || static_cast<int64_t>(s_.constant.size()) == C, "SGT: the constant fill ",
                  "has ", s_.constant.size(), " values for images of ", C, " channels");
        if (!constant_.defined() || constant_.dim(0) != N || constant_.dim(1) != C || constant_.device() != x.device()) {
            std::vector<float> v(static_cast<size_t>(N * C));
            for (int64_t i = 0; i < N * C; ++i) v[i] = s_.constant.size() == 1 ? s_.constant[0] : s_.constant[i % C];
            constant_ = Tensor::from_vector(v, Shape{N, C}, x.device());
        }
        lo = hi = constant_;
        return;
    }
    lo = Tensor::empty(Shape{N, C}, DType::F32, x.device());
    if (s_.fill == SgtFill::ImageMean) {
        ops::reduce_rows(ops::ReduceOp::Mean, x, lo);
        hi = lo;
        return;
    }
    hi = Tensor::empty(Shape{N, C}, DType::F32, x.device());
    ops::reduce_rows(ops::ReduceOp::Min, x, lo);
    ops::reduce_rows(ops::ReduceOp::Max, x, hi);
}

Tensor Sgt::mask(nn::Module& model, const Tensor& x, const Tensor& labels, Generator& g, Tensor* valid_out) {
    LRP_NVTX_RANGE("sgt.mask");
    LRP_CHECK(x.ndim() == 4, "SGT: the batch has shape ", x.shape().str(), ", expected [N, C, H, W]");
    const int64_t N = x.dim(0);
    const Tensor sal = saliency(model, x, labels);
    model.clear_saved();  // the saliency pass's activations are not needed by the train forwards
    const int k = pixels(x.dim(2), x.dim(3));
    Tensor idx = Tensor::empty(Shape{N, k}, DType::I32, x.device());
    Tensor valid = Tensor::empty(Shape{N}, DType::F32, x.device());
    ops::sgt_bottom_k(sal, k, s_.abs, idx, valid);
    Tensor lo, hi;
    fill_bounds(x, lo, hi);  // from the clean images, as the authors' fill
    Tensor out = x.clone();
    ops::sgt_fill(out, idx, valid, lo, hi, g);
    if (valid_out) *valid_out = valid;
    return out;
}

SgtStepResult Sgt::step(nn::Module& model, Optimizer& opt, const Tensor& x, const Tensor& labels, Generator& g,
                        const StepOptions& o, Tensor* masked_input) {
    LRP_NVTX_RANGE("sgt_step");
    const int64_t N = x.dim(0);
    LRP_CHECK(N > 0, "SGT: empty batch");
    Tensor valid;
    const Tensor xm = mask(model, x, labels, g, &valid);
    if (masked_input) *masked_input = xm;
    model.train(true);
    model.zero_grad();
    // The clean forward is recomputed for its backward (a model stores one forward): it must draw the dropout
    // masks the first one drew, and leave the BN running statistics and the streams as the two real forwards did.
    TrainForwardState state(model);
    const std::vector<Generator> at_clean = state.streams();
    SgtStepResult r;
    r.step.logits = model.forward(x);
    const Tensor zm = model.forward(xm);
    state.keep();  // restored when the step ends, also when it throws
    const Shape shape = r.step.logits.shape();
    const Tensor dzc = Tensor::empty(shape, DType::F32, x.device()), dzm = Tensor::empty(shape, DType::F32, x.device());
    r.step.loss = cross_entropy(r.step.logits, labels, o.label_smoothing, dzc);
    const Tensor dkl = s_.detach_clean ? Tensor() : Tensor::empty(shape, DType::F32, x.device());
    const float inv_n = 1.f / static_cast<float>(N);
    const Tensor kl_rows = ops::sgt_kl(r.step.logits, zm, valid, s_.lambda * inv_n, dkl, dzm);
    if (dkl.defined()) ops::add(dzc, dkl, dzc);
    r.kl = ops::reduce_all(ops::ReduceOp::Sum, kl_rows);
    ops::scale(r.kl, inv_n, r.kl);
    ops::axpy(s_.lambda, r.kl, r.step.loss);
    r.step.correct = count_correct(r.step.logits, labels);
    r.masked_correct = count_correct(zm, labels);
    r.nonfinite = ops::full(Shape{1}, static_cast<float>(N), x.device());
    ops::axpy(-1.f, ops::reduce_all(ops::ReduceOp::Sum, valid), r.nonfinite);
    model.backward(dzm, true);  // the stored forward is the masked one
    state.set_streams(at_clean);
    model.forward(x);
    model.backward(dzc, true);
    if (o.clip_grad_norm > 0.f) clip_grad_norm(model.named_params(), o.clip_grad_norm);
    opt.step();
    return r;
}

std::string describe(const SgtSettings& s) {
    std::ostringstream o;
    const bool lrp = s.saliency != "gradient" && s.saliency != "logprob-gradient" &&
                     explain::composite_takes(s.saliency, explain::CompositeParam::Stabilizer);  // an LRP composite
    const std::string map = s.saliency == "gradient"           ? "input gradient of the label's logit"
                            : s.saliency == "logprob-gradient" ? "input gradient of the label's log-probability"
                            : lrp                              ? "LRP " + s.saliency + " of the label"
                                                               : s.saliency + " map of the label";
    o << "Saliency Guided Training: per image the " << s.frac * 100.f << " % least salient pixels ("
      << (s.abs ? "|channel sum of the " + map + "|" : map + ", channels summed") << ") filled with ";
    if (s.fill == SgtFill::Random) {
        o << "uniform noise in the image channel's [min, max]";
    } else if (s.fill == SgtFill::ImageMean) {
        o << "the image channel's mean";
    } else {
        o << "[";
        for (size_t i = 0; i < s.constant.size(); ++i) o << (i ? ", " : "") << s.constant[i];
        o << "]";
    }
    o << "; loss CE(clean) + " << s.lambda << " KL(clean || masked)"
      << (s.detach_clean ? ", the clean prediction detached" : "");
    return o.str();
}

SgtSettings sgt_settings(const TrainConfig& cfg, const std::vector<float>& mean, const std::vector<float>& stdev) {
    LRP_CHECK(cfg.augment == "sgt", "sgt_settings: --augment ", cfg.augment, " is not sgt");
    SgtSettings s;
    s.frac = cfg.sgt_frac;
    s.lambda = cfg.sgt_lambda;
    s.saliency = cfg.sgt_saliency;
    if (s.saliency != "gradient") s.composite_options = dataset_composite_options(mean, stdev, cfg.sgt_epsilon);
    s.abs = cfg.sgt_abs;
    s.detach_clean = cfg.sgt_detach_clean;
    if (cfg.sgt_fill == "random") {
        s.fill = SgtFill::Random;
    } else if (cfg.sgt_fill == "image-mean") {
        s.fill = SgtFill::ImageMean;
    } else {
        s.fill = SgtFill::Constant;
        s.constant = ops::reldrop_fill(cfg.sgt_fill, mean, stdev, "--sgt-fill");
    }
    try {
        Sgt check(s);  // an unknown composite or a bad fraction fails here, before training starts
    } catch (const Error& e) {
        LRP_THROW("--augment sgt (--sgt-saliency ", s.saliency, "): ", e.what());
    }
    return s;
}

}  // namespace lrp::train
