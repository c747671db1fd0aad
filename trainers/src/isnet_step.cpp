// Isnet: the foreground mask of a batch, and the ISNet step: forward, LRP-Flex heatmap of the explained logit (or of
// every logit), ISNet's heatmap loss (with LDS also on hidden maps, GWRP over layers), the adjoints plus the ordinary
// backward, one update. No host synchronisation.
#include "lrp/train/isnet_step.h"

#include <cmath>
#include <sstream>

#include "lrp/lrp/target.h"
#include "lrp/nvtx.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/metrics.h"
#include "lrp/ops/pool.h"
#include "lrp/ops/reduce.h"
#include "lrp/ops/reldrop.h"

namespace lrp::train {

Isnet::Isnet(IsnetSettings s) : s_(std::move(s)), flex_(explain::FlexOptions{s_.epsilon}) {
    LRP_CHECK(s_.P >= 0.f && s_.P < 1.f, "ISNet: the heatmap-loss weight P must be in [0, 1) (got ", s_.P, ")");
    LRP_CHECK(s_.epsilon > 0.f && std::isfinite(s_.epsilon), "ISNet: epsilon must be positive (got ", s_.epsilon, ")");
    LRP_CHECK(s_.explain == "stochastic" || s_.explain == "selective" || s_.explain == "selective-softmin" ||
                  s_.explain == "label" || s_.explain == "pred" || s_.explain == "all",
              "ISNet: the explained logit must be stochastic, selective, selective-softmin, label, pred or all (got '",
              s_.explain, "')");
    LRP_CHECK(s_.selective_eps > 0.f && std::isfinite(s_.selective_eps), "ISNet: the selective epsilon must be ",
              "positive (got ", s_.selective_eps, ")");
    LRP_CHECK(!s_.level.empty(), "ISNet: no foreground level");
    for (float v : s_.level) LRP_CHECK(std::isfinite(v), "ISNet: foreground level ", v, " is not finite");
    LRP_CHECK(s_.input_zero.size() == s_.level.size(), "ISNet: ", s_.input_zero.size(), " input zero(s) for ",
              s_.level.size(), " channel(s)");
    for (float v : s_.input_zero) LRP_CHECK(std::isfinite(v), "ISNet: input zero ", v, " is not finite");
    LRP_CHECK(s_.first_rule == "zb" || s_.first_rule == "epsilon", "ISNet: the first layer's rule must be zb or ",
              "epsilon (got '", s_.first_rule, "')");
    if (s_.first_rule == "zb") {
        LRP_CHECK(s_.input_one.size() == s_.input_zero.size(), "ISNet: ", s_.input_one.size(), " input one(s) for ",
                  s_.input_zero.size(), " channel(s)");
        zb_.emplace(s_.input_zero, s_.input_one, s_.epsilon);  // checks the bounds
    }
    LRP_CHECK(s_.lds_decay >= 0.f && s_.lds_decay <= 1.f, "ISNet: the GWRP decay over the deep supervision's layers ",
              "must be in [0, 1] (got ", s_.lds_decay, ")");
    for (const IsnetSettings::HiddenCut& h : s_.hidden_cut)
        LRP_CHECK(h.c1 > 0.f && h.c1 <= h.c2 && std::isfinite(h.c2), "ISNet: the hidden map at '", h.layer, "' has C1 ",
                  h.c1, " and C2 ", h.c2, " (need 0 < C1 <= C2)");
    // The loss parameters are checked by a zero-size call (no work, same messages as a real one).
    ops::isnet_heat_loss(Tensor::zeros(Shape{0, 1, 1, 1}), Tensor::zeros(Shape{0, 1, 1}), s_.loss,
                         Tensor::empty(Shape{0}), Tensor::empty(Shape{0, 1, 1, 1}), Tensor::empty(Shape{0}, DType::I32));
}

Tensor cached_on(const std::vector<float>& v, Device d, Tensor& cache) {
    if (!cache.defined() || cache.device() != d) cache = Tensor::from_vector(v, Shape{int64_t(v.size())}, d);
    return cache;
}

Tensor foreground_mask(const Tensor& x, const Tensor& ones, const Tensor& neg_level, const Tensor& allowed) {
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    ops::channel_affine(x, ones, neg_level, y);
    Tensor s = ops::channel_sum(ops::relu(y));  // > 0 exactly where some channel exceeds its level
    if (allowed.defined()) {
        LRP_CHECK(allowed.shape() == Shape({x.dim(0), x.dim(2), x.dim(3)}) && allowed.device() == x.device(),
                  "ISNet: dataset masks ", allowed.shape().str(), " on ", allowed.device().str(), " for a batch ",
                  x.shape().str(), " on ", x.device().str());
        s = ops::mul(s, ops::relu(allowed));
    }
    // s / (s + 1e-30) is exactly 1 for every s >= 5e-23 (far below any positive float difference of normalised
    // pixels) and exactly 0 for s = 0: a binary mask from the ops at hand.
    ops::lrp_eps_div(s, s, 1e-30f, s);
    return s;
}

Tensor heatmap_input(const Tensor& x, const Tensor& ones, const Tensor& neg_zero) {
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    ops::channel_affine(x, ones, neg_zero, y);
    return y;
}

Tensor method_foreground(const char* who, const char* flag, const std::vector<float>& level, bool data_mask,
                         const Tensor& x, const Tensor& allowed, Tensor& ones_cache, Tensor& shift_cache) {
    LRP_CHECK(x.ndim() == 4 && x.dim(1) == static_cast<int64_t>(level.size()), who, ": batch ", x.shape().str(),
              " for a foreground level of ", level.size(), " channel(s)");
    LRP_CHECK(!data_mask || allowed.defined(), who, ": ", flag, " data, but the batch carries no dataset masks");
    std::vector<float> neg(level.size());
    for (size_t c = 0; c < neg.size(); ++c) neg[c] = -level[c];
    return foreground_mask(x, cached_on(std::vector<float>(neg.size(), 1.f), x.device(), ones_cache),
                           cached_on(neg, x.device(), shift_cache), allowed);
}

Tensor Isnet::mask(const Tensor& x, const Tensor& allowed) {
    return method_foreground("ISNet", "--isnet-mask", s_.level, s_.data_mask, x, allowed, ones_, shift_);
}

Tensor mask_at(const Tensor& m, int64_t h, int64_t w) {
    LRP_CHECK(m.ndim() == 3 && h > 0 && w > 0, "ISNet mask ", m.shape().str(), " shrunk to ", h, " x ", w);
    if (h == m.dim(1) && w == m.dim(2)) return m;
    const Shape s{m.dim(0), 1, m.dim(1), m.dim(2)};
    const ops::Pool2dDesc d = ops::adaptive_avgpool2d_desc(s, static_cast<int>(h), static_cast<int>(w));
    Tensor y = Tensor::empty(Shape{m.dim(0), 1, h, w}, DType::F32, m.device());
    ops::avgpool_fwd(d, m.reshape(s), y);
    return y;
}

namespace {

// y *= k w, w a [1] tensor on y's device (a GWRP weight: no host copy).
void scale_by(const Tensor& y, float k, const Tensor& w) {
    const Tensor v = y.reshape({1, 1, y.numel()});
    ops::channel_affine(v, w, Tensor(), v);
    ops::scale(y, k, y);
}

}  // namespace

const explain::FlexHidden& Isnet::hidden(nn::Module& model) {
    explain::FlexHidden h(model, s_.lds_layers);
    if (!s_.hidden_cut.empty()) {
        std::string want, have;
        for (const IsnetSettings::HiddenCut& c : s_.hidden_cut) want += (want.empty() ? "" : ", ") + c.layer;
        for (const explain::FlexHidden::Point& p : h.points()) have += (have.empty() ? "" : ", ") + p.name;
        LRP_CHECK(want == have, "ISNet: the calibrated C1 and C2 are for the hidden maps at [", want, "], but the model's ",
                  "supervised points are [", have, "]");
    }
    hidden_.emplace(std::move(h));
    return *hidden_;
}

std::vector<std::string> Isnet::lds_layers(nn::Module& model) {
    std::vector<std::string> names;
    for (const explain::FlexHidden::Point& p : (hidden_ ? *hidden_ : hidden(model)).points()) names.push_back(p.name);
    return names;
}

Tensor Isnet::class_labels(int64_t k, int64_t N, Device d) {
    if (class_labels_.size() != static_cast<size_t>(classes_) || class_labels_[0].numel() != N ||
        class_labels_[0].device() != d) {
        class_labels_.clear();
        for (int64_t c = 0; c < classes_; ++c)
            class_labels_.push_back(Tensor::from_vector(std::vector<int32_t>(static_cast<size_t>(N), static_cast<int32_t>(c)),
                                                        Shape{N}, d));
    }
    return class_labels_[static_cast<size_t>(k)];
}

Tensor Isnet::heatmap(nn::Module& model, const Tensor& logits, const Tensor& x, const Tensor& labels, Generator& g,
                     Tensor& xr, int64_t k) {
    Tensor seed;
    if (s_.explain == "selective" || s_.explain == "selective-softmin") {
        seed = ops::isnet_selective_seed(logits, selective_eps(), selective_form());
    } else {
        explain::Target target = explain::Target::prediction();
        if (s_.explain == "stochastic") target = explain::Target::label(ops::isnet_pick_class(logits, g));
        else if (s_.explain == "label") target = explain::Target::label(labels);
        else if (s_.explain == "all") target = explain::Target::label(class_labels(k, x.dim(0), x.device()));
        seed = explain::initial_relevance(logits, target);
    }
    const Tensor G = flex_.gradient(model, seed);
    if (zb_) return zb_->heatmap(model, flex_, x);
    std::vector<float> neg_zero(s_.input_zero.size());
    for (size_t c = 0; c < neg_zero.size(); ++c) neg_zero[c] = -s_.input_zero[c];
    xr = heatmap_input(x, cached_on(std::vector<float>(neg_zero.size(), 1.f), x.device(), ones_),
                       cached_on(neg_zero, x.device(), zero_shift_));
    return ops::mul(G, xr);
}

Tensor Isnet::heatmap_totals(nn::Module& model, const Tensor& x, const Tensor& labels, Generator& g) {
    LRP_NVTX_RANGE("isnet_heatmap_totals");
    LRP_CHECK(x.ndim() == 4 && x.dim(0) > 0, "ISNet: batch ", x.shape().str(), ", expected a non-empty [N, C, H, W]");
    model.train(true);
    const Tensor logits = model.forward(x);
    const int64_t N = x.dim(0), K = maps_per_image(logits);
    const int64_t L = s_.lds ? static_cast<int64_t>(hidden(model).points().size()) : 0;
    // Row l: per image, the sum over its K maps (scaled to their mean at the end).
    Tensor totals = Tensor::zeros(Shape{1 + L, N}, DType::F32, x.device());
    // |R| = relu(R) + relu(-R), summed per image.
    auto add_abs_total = [&](const Tensor& R, int64_t row) {
        const Tensor t = ops::reduce_per_sample(ops::ReduceOp::Sum, ops::add(ops::relu(R), ops::relu(ops::scale(R, -1.f))));
        ops::axpy(1.f, t, totals.slice(row, row + 1).reshape({N}));
    };
    for (int64_t k = 0; k < K; ++k) {
        Tensor xr;
        const Tensor R = heatmap(model, logits, x, labels, g, xr, k);
        if (zb_) zb_->release();  // no adjoint here
        add_abs_total(R, 0);
        for (int64_t l = 0; l < L; ++l) add_abs_total(hidden_->map(flex_, static_cast<size_t>(l)), 1 + l);
    }
    if (K > 1) ops::scale(totals, 1.f / static_cast<float>(K), totals);
    model.clear_saved();
    return totals;
}

int64_t Isnet::maps_per_image(const Tensor& logits) {
    if (s_.explain != "all") return 1;
    classes_ = logits.dim(1);
    return classes_;
}

IsnetStepResult Isnet::step(nn::Module& model, Optimizer& opt, const Tensor& x, const Tensor& labels, Generator& g,
                            const StepOptions& o, const Tensor& allowed) {
    LRP_NVTX_RANGE("isnet_step");
    LRP_CHECK(x.ndim() == 4 && x.dim(0) > 0, "ISNet: batch ", x.shape().str(), ", expected a non-empty [N, C, H, W]");
    const int64_t N = x.dim(0);
    model.train(true);
    model.zero_grad();
    IsnetStepResult r;
    r.step.logits = model.forward(x);
    const Tensor dlogits = Tensor::empty(r.step.logits.shape(), DType::F32, x.device());
    const Tensor ce = cross_entropy(r.step.logits, labels, o.label_smoothing, dlogits);
    r.step.correct = count_correct(r.step.logits, labels);
    ops::scale(dlogits, 1.f - s_.P, dlogits);
    const Tensor m = mask(x, allowed);
    // K maps per image (one, or one per class for the original ISNet): each map's pass, loss and adjoints in turn (the
    // adjoints leave their activation terms pending at the ReLUs, summed), the loss the mean over the N K maps.
    const int64_t K = maps_per_image(r.step.logits);
    // LRP deep supervision: L hidden maps besides the input map. per and bad hold map (layer l, class k, image n) at
    // (l K + k) N + n, layer 0 the input map.
    const int64_t L = s_.lds ? static_cast<int64_t>(hidden(model).points().size()) : 0, maps = (1 + L) * K * N;
    Tensor per = Tensor::empty(Shape{maps}, DType::F32, x.device()), dR = Tensor::empty(x.shape(), DType::F32, x.device());
    Tensor bad = Tensor::empty(Shape{maps}, DType::I32, x.device());
    if (K > 1) r.heatmap = Tensor::empty(Shape{K * N, x.dim(1), x.dim(2), x.dim(3)}, DType::F32, x.device());
    std::vector<Tensor> dH, a;  // LDS: class k's hidden maps' dL/dH and activations
    Tensor w;                   // LDS: [1 + L] the layers' GWRP weights
    if (L > 0 && K > 1) {
        // The GWRP over the layers ranks their mean losses over all K maps, which no class's adjoint can wait for: a
        // first round of the K passes measures the losses (no adjoint), the loop below runs each pass again.
        for (int64_t k = 0; k < K; ++k) {
            Tensor xr;
            const Tensor R = heatmap(model, r.step.logits, x, labels, g, xr, k);
            if (zb_) zb_->release();
            ops::isnet_heat_loss(R, m, s_.loss, per.slice(k * N, (k + 1) * N), dR, bad.slice(k * N, (k + 1) * N));
            hidden_losses(m, per, bad, k, K, dH, a);
        }
        w = layer_weights(per, K, N, r);
    }
    for (int64_t k = 0; k < K; ++k) {
        Tensor xr;
        const Tensor R = heatmap(model, r.step.logits, x, labels, g, xr, k);
        if (K == 1) r.heatmap = R;
        else r.heatmap.slice(k * N, (k + 1) * N).copy_from(R);
        ops::isnet_heat_loss(R, m, s_.loss, per.slice(k * N, (k + 1) * N), dR, bad.slice(k * N, (k + 1) * N));
        explain::FlexTerms terms;
        const float scale = s_.P / static_cast<float>(K);
        if (L > 0) {
            hidden_losses(m, per, bad, k, K, dH, a);
            if (K == 1) w = layer_weights(per, 1, N, r);
            // dL_heat/dmap = P / K times the map's layer weight times its batch-mean loss's gradient.
            scale_by(dR, scale, w.slice(0, 1));
            for (int64_t l = 0; l < L; ++l) {
                const size_t i = static_cast<size_t>(l);
                scale_by(dH[i], scale, w.slice(1 + l, 2 + l));
                hidden_->add_terms(flex_, i, dH[i], terms, a[i]);
            }
        } else {
            ops::scale(dR, scale, dR);
        }
        const Tensor dseed = zb_ ? zb_->adjoint(model, flex_, dR, terms.injections)
                                 : flex_.adjoint(model, ops::mul(dR, xr), terms.injections);
        terms.apply_pending();
        // Selective ISNet's seed is a function of the logits: the loss reaches them through it too.
        if (s_.explain == "selective" || s_.explain == "selective-softmin")
            ops::axpy(1.f, ops::isnet_selective_vjp(r.step.logits, selective_eps(), dseed, selective_form()), dlogits);
    }
    model.backward(dlogits, true);
    if (o.clip_grad_norm > 0.f) clip_grad_norm(model.named_params(), o.clip_grad_norm);
    opt.step();
    r.heat_loss = L > 0 ? r.heat_loss : ops::reduce_all(ops::ReduceOp::Mean, per);
    r.step.loss = ops::scale(ce, 1.f - s_.P);
    ops::axpy(s_.P, r.heat_loss, r.step.loss);
    r.foreground = ops::reduce_all(ops::ReduceOp::Mean, m);
    // masks are 0/1, so each image's maximum is 1 unless it has no foreground pixel
    r.empty_masks = ops::full(Shape{1}, static_cast<float>(x.dim(0)), x.device());
    ops::axpy(-1.f, ops::reduce_all(ops::ReduceOp::Sum, ops::reduce_per_sample(ops::ReduceOp::Max, m)), r.empty_masks);
    if (!bad_code_.defined() || bad_code_.numel() != maps || bad_code_.device() != x.device())
        bad_code_ = Tensor::from_vector(std::vector<int32_t>(static_cast<size_t>(maps), 1), Shape{maps}, x.device());
    r.nonfinite = Tensor::empty(Shape{1}, DType::F32, x.device());
    ops::count_equal(bad, bad_code_, r.nonfinite);
    return r;
}

void Isnet::hidden_losses(const Tensor& m, const Tensor& per, const Tensor& bad, int64_t k, int64_t K,
                          std::vector<Tensor>& dH, std::vector<Tensor>& a) {
    const explain::FlexHidden& h = *hidden_;
    const int64_t N = m.dim(0), L = static_cast<int64_t>(h.points().size());
    dH.assign(static_cast<size_t>(L), Tensor());
    a.assign(static_cast<size_t>(L), Tensor());
    for (int64_t l = 0; l < L; ++l) {
        const size_t i = static_cast<size_t>(l);
        const Tensor H = h.map(flex_, i, &a[i]);
        dH[i] = Tensor::empty(H.shape(), DType::F32, H.device());
        ops::IsnetLossParams p = s_.loss;
        if (!s_.hidden_cut.empty()) p.C1 = s_.hidden_cut[i].c1, p.C2 = s_.hidden_cut[i].c2;
        const int64_t at = ((1 + l) * K + k) * N;
        ops::isnet_heat_loss(H, mask_at(m, H.dim(2), H.dim(3)), p, per.slice(at, at + N), dH[i], bad.slice(at, at + N));
    }
}

Tensor Isnet::layer_weights(const Tensor& per, int64_t K, int64_t N, IsnetStepResult& r) {
    const int64_t layers = per.numel() / (K * N);
    Tensor layer = Tensor::empty(Shape{layers}, DType::F32, per.device());
    for (int64_t l = 0; l < layers; ++l)
        layer.slice(l, l + 1).copy_from(ops::reduce_all(ops::ReduceOp::Mean, per.slice(l * K * N, (l + 1) * K * N)));
    // L_heat = GWRP over the layers' mean losses.
    Tensor total = Tensor::empty(Shape{1}, DType::F32, per.device()), w = Tensor::empty(Shape{1, layers}, DType::F32, per.device());
    ops::gwrp_rows(layer.reshape({1, layers}), s_.lds_decay, total, w);
    r.heat_loss = total;
    r.layer_losses = layer;
    return w.reshape({layers});
}

Tensor flex_heatmap(nn::Module& model, const Tensor& x, const explain::Target& target, const std::string& first_rule,
                    float epsilon, const std::vector<float>& mean, const std::vector<float>& stdev, Tensor& logits,
                    std::vector<std::pair<std::string, Tensor>>* hidden, const std::vector<std::string>& hidden_layers) {
    LRP_CHECK(first_rule == "zb" || first_rule == "epsilon", "LRP-Flex map: the first layer's rule must be zb or ",
              "epsilon (got '", first_rule, "')");
    LRP_CHECK(epsilon > 0.f && std::isfinite(epsilon), "LRP-Flex map: epsilon must be positive (got ", epsilon, ")");
    LRP_CHECK(x.ndim() == 4 && mean.size() == static_cast<size_t>(x.dim(1)) && stdev.size() == mean.size(),
              "LRP-Flex map: inputs ", x.shape().str(), " with a normalisation of ", mean.size(), " channel(s)");
    std::vector<float> zero, one;
    for (size_t c = 0; c < mean.size(); ++c) {
        LRP_CHECK(stdev[c] > 0.f && std::isfinite(stdev[c]) && std::isfinite(mean[c]), "LRP-Flex map: channel ", c,
                  " has mean ", mean[c], " and stdev ", stdev[c]);
        zero.push_back(-mean[c] / stdev[c]);
        one.push_back((1.f - mean[c]) / stdev[c]);
    }
    model.eval();
    std::optional<explain::FlexHidden> points;
    if (hidden) points.emplace(model, hidden_layers, "--flex-layers");  // a bad name fails before the pass
    logits = model.forward(x);
    explain::FlexPass pass(explain::FlexOptions{epsilon});
    const Tensor G = pass.gradient(model, explain::initial_relevance(logits, target));
    if (hidden) {
        hidden->clear();
        for (size_t i = 0; i < points->points().size(); ++i) hidden->emplace_back(points->points()[i].name, points->map(pass, i));
    }
    Tensor R;
    if (first_rule == "zb") {
        R = explain::FlexZb(zero, one, epsilon).heatmap(model, pass, x);
    } else {
        std::vector<float> neg(zero.size());
        for (size_t c = 0; c < neg.size(); ++c) neg[c] = -zero[c];
        R = ops::mul(G, heatmap_input(x, ops::full(Shape{x.dim(1)}, 1.f, x.device()),
                                      Tensor::from_vector(neg, Shape{x.dim(1)}, x.device())));
    }
    model.clear_saved();
    return R;
}

namespace {
std::string lds_at(const std::vector<std::string>& layers) {
    if (layers.empty()) return "";
    std::string r = " at ";
    for (size_t i = 0; i < layers.size(); ++i) r += (i ? ", " : "") + layers[i];
    return r;
}
}  // namespace

std::string describe(const IsnetSettings& s) {
    std::ostringstream o;
    o << "ISNet (LRP-Flex, isnet-edda.md A.7): loss " << 1 - s.P << " CE + " << s.P << " heatmap loss; explained "
      << (s.explain == "stochastic"  ? std::string("logit: the arg-max or, half the time, another class")
          : s.explain == "selective-softmin"
              ? "quantity: the lowest logit against the others, by the LRP Block's softmin over the logit differences "
                "and LRP-epsilon through each difference (Selective ISNet, LRP Block form)"
          : s.explain == "selective" ? "quantity: log(p + e) - log(1 - p + e) of the lowest logit's probability p "
                                       "(Selective ISNet), e " + str(s.selective_eps)
          : s.explain == "all"       ? std::string("logits: every class, one map each (the original ISNet; the heatmap "
                                                   "loss the mean over them)")
                                     : "logit: " + s.explain)
      << "; LRP-epsilon " << s.epsilon
      << (s.first_rule == "zb" ? ", z^B on the first layer (bounds: raw 0 and 1)" : ", epsilon to the raw input")
      << (s.lds ? "; LRP deep supervision (hidden maps too" + lds_at(s.lds_layers) + "), GWRP decay " +
                      str(s.lds_decay) + " over the layers" +
                      (s.explain == "all" ? ", each class's pass run twice (the layers' losses, then the adjoints)" : "")
                : std::string())
      << "; GWRP decay " << s.loss.decay << ", E "
      << s.loss.E << ", A " << s.loss.A
      << ", B " << s.loss.B << ", C1 " << s.loss.C1 << ", C2 " << s.loss.C2
      << (s.loss.foreground == kernels::kIsnetForegroundL2 ? ""
          : s.loss.foreground == kernels::kIsnetForegroundL1 ? ", L1 above C2"
                                                            : ", hybrid above C2 (Faster ISNet: linear past C1 + C2)")
      << "; foreground ";
    if (s.data_mask) return o.str() + "the dataset's masks";
    o << "above [";
    for (size_t i = 0; i < s.level.size(); ++i) o << (i ? ", " : "") << s.level[i];
    o << "] (normalised)";
    return o.str();
}

IsnetSettings isnet_settings(const TrainConfig& cfg, const std::vector<float>& mean, const std::vector<float>& stdev,
                             double c1, double c2) {
    LRP_CHECK(cfg.augment == "isnet", "isnet_settings: --augment ", cfg.augment, " is not isnet");
    IsnetSettings s;
    s.P = cfg.isnet_p;
    s.epsilon = cfg.isnet_epsilon;
    s.explain = cfg.isnet_explain;
    s.selective_eps = cfg.isnet_selective_eps;
    s.first_rule = cfg.isnet_first_rule;
    s.lds = cfg.isnet_lds;
    s.lds_decay = cfg.isnet_lds_decay;
    s.lds_layers = cfg.isnet_lds_layers;
    s.loss.decay = cfg.isnet_decay, s.loss.E = cfg.isnet_e, s.loss.A = cfg.isnet_a, s.loss.B = cfg.isnet_b;
    s.loss.C1 = cfg.isnet_c1, s.loss.C2 = cfg.isnet_c2;
    s.loss.foreground = ops::isnet_foreground_mode(cfg.isnet_foreground, "--isnet-foreground");
    if (c1 > 0 && c2 > 0) s.loss.C1 = static_cast<float>(c1), s.loss.C2 = static_cast<float>(c2);
    const std::string mask = cfg.isnet_mask_spec();
    const float raw = parse_isnet_mask(mask);
    s.data_mask = mask == "data";
    for (size_t c = 0; c < mean.size(); ++c) {
        s.level.push_back((raw - mean[c]) / stdev[c]);
        s.input_zero.push_back(-mean[c] / stdev[c]);
        s.input_one.push_back((1.f - mean[c]) / stdev[c]);
    }
    return s;
}

}  // namespace lrp::train
