// RelDrop::occlude and reldrop_train_step: attribution -> device-side masks -> train step, no host sync.
#include "lrp/train/reldrop_step.h"

#include <sstream>

#include "lrp/context.h"
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
}  // namespace

RelDrop::RelDrop(RelDropSettings s) : s_(std::move(s)), composite_(build_composite(s_)) {}

Tensor RelDrop::occlude(nn::Module& model, const Tensor& x, const Tensor& labels, Generator& g,
                        const Tensor& status) {
    LRP_NVTX_RANGE("reldrop.occlude");
    if (!ops::reldrop_batch_selected(s_.params, x, g)) {
        // The batch coin is a function of the generator's state alone, so skipping needs no device work.
        g.reserve(ops::reldrop_counters(s_.params, x));
        if (status.defined()) {
            LRP_CHECK(status.dtype() == DType::I32 && status.numel() == x.dim(0) && status.device() == x.device(),
                      "RelDrop: status must be I32 [", x.dim(0), "] on ", x.device().str());
            zero_bytes(status.raw_data(), status.device(), status.nbytes());  // kRelDropNotSelected
        }
        return x;
    }
    const bool label = s_.target.rfind("label", 0) == 0;
    const bool times_logit = s_.target.find("*logit") != std::string::npos;
    explain::Target t = label ? explain::Target::label(labels) : explain::Target::prediction();
    if (times_logit) t = t.scaled_by_logit();
    const Tensor relevance = explain::attribute(model, x, t, composite_);
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
    o << ", target " << s.target;
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
    try {
        p.fill = ops::reldrop_fill(cfg.reldrop_fill, mean, stdev);
    } catch (const Error&) {
        LRP_THROW("--reldrop-fill: unknown or malformed fill '", cfg.reldrop_fill,
                  "' (known: reference, mean, raw:<v>, normalized:<v>)");
    }
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
    explain::make_composite(s.composite, o);  // an unknown composite fails here, before training starts
    s.target = cfg.reldrop_target;
    return s;
}

}  // namespace lrp::train
