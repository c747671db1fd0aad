// RelDrop::occlude and reldrop_train_step: attribution -> device-side masks -> train step, no host sync.
#include "lrp/train/reldrop_step.h"

#include <sstream>
#include <utility>
#include <vector>

#include "lrp/context.h"
#include "lrp/kernels/reldrop_sampler.h"
#include "lrp/log.h"
#include "lrp/lrp/attribution.h"
#include "lrp/nvtx.h"

namespace lrp::train {

namespace {
bool known_target(const std::string& t) {
    return t == "label" || t == "pred" || t == "label*logit" || t == "pred*logit";
}

explain::Composite build_composite(const RelDropSettings& s) {
    LRP_CHECK(known_target(s.target), "RelDrop: target must be label, pred, label*logit or pred*logit (got '", s.target,
              "')");
    const std::string& v = s.params.variant;
    LRP_CHECK(v == "pixel" || v == "block" || v == "patch", "RelDrop: unknown variant '", v,
              "' (known: pixel, block, patch)");
    return explain::make_composite(s.composite, s.composite_options);
}

// Maximal runs [begin, end) of consecutive row indices (sorted, distinct).
std::vector<std::pair<int64_t, int64_t>> runs_of(const std::vector<int64_t>& rows) {
    std::vector<std::pair<int64_t, int64_t>> r;
    for (int64_t i : rows) {
        if (!r.empty() && r.back().second == i) ++r.back().second;
        else r.push_back({i, i + 1});
    }
    return r;
}
// rows of x (on x's device; device-to-device copies on the stream, no host synchronisation).
Tensor gather_rows(const Tensor& x, const std::vector<int64_t>& rows) {
    std::vector<int64_t> d = x.shape().dims();
    d[0] = static_cast<int64_t>(rows.size());
    Tensor out = Tensor::empty(Shape(d), x.dtype(), x.device());
    int64_t at = 0;
    for (auto [b, e] : runs_of(rows)) {
        out.slice(at, at + e - b).copy_from(x.slice(b, e));
        at += e - b;
    }
    return out;
}
// dst's rows `rows` = src's rows in order.
void scatter_rows(const Tensor& src, const std::vector<int64_t>& rows, const Tensor& dst) {
    int64_t at = 0;
    for (auto [b, e] : runs_of(rows)) {
        dst.slice(b, e).copy_from(src.slice(at, at + e - b));
        at += e - b;
    }
}
}  // namespace

RelDrop::RelDrop(RelDropSettings s) : s_(std::move(s)), composite_(build_composite(s_)) {}

Tensor RelDrop::occlude(nn::Module& model, const Tensor& x, const Tensor& labels, Generator& g,
                        const Tensor& status) {
    LRP_NVTX_RANGE("reldrop.occlude");
    // Nothing to occlude: no attribution, the counters reserved all the same, x itself returned.
    last_attributed_ = 0;
    auto skip = [&] {
        g.reserve(ops::reldrop_counters(s_.params, x));
        if (status.defined()) {
            LRP_CHECK(status.dtype() == DType::I32 && status.numel() == x.dim(0) && status.device() == x.device(),
                      "RelDrop: status must be I32 [", x.dim(0), "] on ", x.device().str());
            zero_bytes(status.raw_data(), status.device(), status.nbytes());  // kRelDropNotSelected
        }
        return x;
    };
    // The batch coin is a function of the generator's state alone, so skipping needs no device work.
    if (!ops::reldrop_batch_selected(s_.params, x, g)) return skip();
    // reldrop.md Q7: with per-sample coins, the samples that will be occluded are known on the host from the
    // counter-based coins (the ones reldrop_apply draws next), so only they need the attribution; the others'
    // relevance is never read. Samples are independent in eval mode, so the maps are the same up to the rounding
    // of a batched GEMM of another size.
    std::vector<int64_t> rows;
    if (s_.lrp_selected_only) {
        const kernels::RelDropDesc d = ops::reldrop_desc(s_.params, x);
        for (int64_t n = 0; n < d.N && d.per_sample; ++n)
            if (kernels::reldrop_selected(d, g.seed(), g.offset(), n)) rows.push_back(n);
        if (d.per_sample && rows.empty()) return skip();
        if (static_cast<int64_t>(rows.size()) == d.N) rows.clear();  // all of them: the whole batch as is
    }
    const bool label = s_.target.rfind("label", 0) == 0;
    const bool times_logit = s_.target.find("*logit") != std::string::npos;
    const Tensor xs = rows.empty() ? x : gather_rows(x, rows);
    explain::Target t = label ? explain::Target::label(rows.empty() ? labels : gather_rows(labels, rows))
                              : explain::Target::prediction();
    if (times_logit) t = t.scaled_by_logit();
    Tensor relevance = explain::attribute(model, xs, t, composite_);
    last_attributed_ = xs.dim(0);
    if (!rows.empty()) {
        const Tensor all = Tensor::zeros(x.shape(), DType::F32, x.device());
        scatter_rows(relevance, rows, all);
        relevance = all;
    }
    Tensor out = x.clone();
    ops::reldrop_apply(out, relevance, s_.params, g, status);
    return out;
}

StepResult reldrop_train_step(nn::Module& model, Optimizer& opt, RelDrop& reldrop, const Tensor& x,
                              const Tensor& labels, Generator& g, const StepOptions& o, Tensor* trained_input,
                              const Tensor& status) {
    LRP_NVTX_RANGE("reldrop_step");
    const Tensor occluded = reldrop.occlude(model, x, labels, g, status);
    model.clear_saved();  // the attribution's saved activations are not needed by the train forward
    if (trained_input) *trained_input = occluded;
    return train_step(model, opt, occluded, labels, o);
}

Tensor clean_batch_correct(nn::Module& model, const Tensor& x, const Tensor& labels) {
    LRP_NVTX_RANGE("reldrop.clean_accuracy");
    const bool was_training = model.training();
    model.eval();
    Tensor c;
    try {
        c = count_correct(model.forward(x), labels);
    } catch (...) {
        model.clear_saved();
        model.train(was_training);
        throw;
    }
    model.clear_saved();
    model.train(was_training);
    return c;
}

explain::CompositeOptions dataset_composite_options(const std::vector<float>& mean, const std::vector<float>& stdev,
                                                    float epsilon) {
    LRP_CHECK(!mean.empty() && mean.size() == stdev.size(), "dataset_composite_options: ", mean.size(), " mean / ",
              stdev.size(), " std values");
    std::vector<float> lo, hi;
    for (size_t c = 0; c < mean.size(); ++c) {
        lo.push_back((0.f - mean[c]) / stdev[c]);
        hi.push_back((1.f - mean[c]) / stdev[c]);
    }
    explain::CompositeOptions o;
    o.low = explain::Bound::channels(lo);
    o.high = explain::Bound::channels(hi);
    if (epsilon > 0.f) o.epsilon = epsilon;
    return o;
}

std::string describe(const RelDropSettings& s) {
    const ops::RelDropParams& p = s.params;
    std::ostringstream o;
    o << "RelDrop " << p.variant << ": p " << p.p;
    if (p.variant == "pixel") o << ", alpha " << p.alpha << ", beta " << p.beta << ", rn " << p.pixel_norm;
    else o << ", k " << p.k << ", box area [" << p.sl << ", " << p.sh << "], aspect [" << p.r1 << ", 1/" << p.r1 << "]"
           << (p.patch_count == "k" ? ", one box per centre" : "")
           << (p.box_clip == "shift" ? ", boxes shifted inside the image" : "");
    o << ", coin " << p.coin << ", fill [";
    for (size_t i = 0; i < p.fill.size(); ++i) o << (i ? ", " : "") << p.fill[i];
    o << "], composite " << s.composite;
    const explain::CompositeOptions& c = s.composite_options;
    const size_t rules = c.layer_map.size() + c.first_map.size() + c.name_map.size();
    if (rules) o << " + " << rules << " user rule(s)";
    if (c.residual) o << " (residual " << explain::residual_mode_name(*c.residual) << ")";
    if (c.bn_fold && *c.bn_fold != explain::BnFold::Zennit051) o << ", BN fold " << explain::bn_fold_name(*c.bn_fold);
    o << ", target " << s.target;
    if (s.lrp_selected_only && (p.variant == "pixel" ? p.coin != "per_batch" : p.coin == "per_sample"))
        o << ", LRP on the selected samples only";
    return o.str();
}

RelDropSettings reldrop_settings(const TrainConfig& cfg, const std::vector<float>& mean,
                                 const std::vector<float>& stdev, int C, int H, int W) {
    LRP_CHECK(cfg.reldrop(), "reldrop_settings: --augment ", cfg.augment, " is not a RelDrop variant");
    RelDropSettings s;
    ops::RelDropParams& p = s.params;
    p.variant = cfg.reldrop_variant();
    p.p = cfg.reldrop_p;
    p.alpha = cfg.reldrop_alpha;
    p.beta = cfg.reldrop_beta;
    p.k = cfg.reldrop_k;
    p.coin = cfg.reldrop_coin;
    p.pixel_norm = cfg.reldrop_pixel_norm;
    p.box_clip = cfg.reldrop_box_clip;
    p.patch_count = cfg.reldrop_patch_count;
    p.fill = ops::reldrop_fill(cfg.reldrop_fill, mean, stdev, "--reldrop-fill");
    p.sl = cfg.box_sl;
    p.sh = cfg.box_sh;
    p.r1 = cfg.box_r1;
    p.max_attempts = cfg.box_attempts;
    LRP_CHECK(p.variant == "pixel" || p.k <= H * W, "--reldrop-k ", p.k, " exceeds the ", H * W, " pixels of a ", H,
              " x ", W, " image");
    ops::reldrop_desc(p, Tensor::empty({1, C, H, W}, DType::F32, Device::cpu()));  // throws on anything else
    s.composite = cfg.reldrop_composite;
    s.composite_options = dataset_composite_options(mean, stdev, cfg.reldrop_epsilon);
    explain::CompositeOptions& o = s.composite_options;
    explain::add_user_rules(o, cfg.reldrop_rules, cfg.reldrop_first_rules, cfg.reldrop_layer_rules, "--reldrop-");
    if (!cfg.reldrop_residual.empty()) o.residual = explain::parse_residual_mode(cfg.reldrop_residual);
    try {
        o.bn_fold = explain::parse_bn_fold(cfg.reldrop_bn_fold);
    } catch (const Error& e) {
        LRP_THROW("--reldrop-bn-fold: ", e.what());
    }
    explain::make_composite(s.composite, o);  // an unknown composite fails here, before training starts
    s.target = cfg.reldrop_target;
    LRP_CHECK(cfg.reldrop_lrp_samples == "all" || cfg.reldrop_lrp_samples == "selected", "--reldrop-lrp-samples ",
              "must be all or selected (got '", cfg.reldrop_lrp_samples, "')");
    s.lrp_selected_only = cfg.reldrop_lrp_samples == "selected";
    if (s.lrp_selected_only && !ops::reldrop_desc(p, Tensor::empty({1, C, H, W}, DType::F32, Device::cpu())).per_sample)
        log_warn("--reldrop-lrp-samples selected: --augment ", cfg.augment, " with --reldrop-coin ", cfg.reldrop_coin,
                 " draws one coin per batch, so a selected batch is attributed whole (no saving; --reldrop-coin ",
                 "per_sample draws one per image)");
    return s;
}

}  // namespace lrp::train
