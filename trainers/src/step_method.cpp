// StepMethod: dispatches a training step to the plain step, RelDrop, EDDA, ISNet, RRR or SGT, and keeps their epoch counters,
// metrics and first-batch previews out of the epoch loop.
#include "step_method.h"

#include <algorithm>
#include <cstdio>

#include "lrp/kernels/reldrop_sampler.h"
#include "lrp/log.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/metrics.h"
#include "lrp/train/preview.h"

namespace lrp::train {

StepMethod::StepMethod(const TrainConfig& cfg, const DataSplit& train, Device dev, const IsnetCalibration* cal)
    : cfg_(cfg), mean_(train.mean), stdev_(train.stdev), dev_(dev) {
    if (cfg.reldrop()) {
        reldrop_ = std::make_unique<RelDrop>(
            reldrop_settings(cfg, train.mean, train.stdev, train.channels, train.height, train.width));
        std::printf("%s\n", describe(reldrop_->settings()).c_str());
        if (cfg.reldrop_with_erasing)
            std::printf("random erasing first (p %g, fill %s), then RelDrop on the erased images\n", cfg.erasing_p,
                        cfg.erasing_fill.c_str());
    } else if (cfg.augment == "edda") {
        edda_ = std::make_unique<Edda>(edda_settings(cfg, train.mean, train.stdev, train.channels, train.height,
                                                     train.width));
        std::printf("%s\n", describe(edda_->settings()).c_str());
    } else if (cfg.augment == "isnet") {
        IsnetSettings s = cal ? isnet_settings(cfg, train.mean, train.stdev, cal->c1, cal->c2)
                              : isnet_settings(cfg, train.mean, train.stdev);
        if (cal)
            for (const IsnetLayerCut& h : cal->hidden)
                s.hidden_cut.push_back(IsnetSettings::HiddenCut{h.layer, float(h.c1), float(h.c2)});
        isnet_ = std::make_unique<Isnet>(std::move(s));
        std::printf("%s\n", describe(isnet_->settings()).c_str());
    } else if (cfg.augment == "rrr") {
        rrr_ = std::make_unique<Rrr>(rrr_settings(cfg, train.mean, train.stdev));
        std::printf("%s\n", describe(rrr_->settings()).c_str());
    } else if (cfg.augment == "sgt") {
        sgt_ = std::make_unique<Sgt>(sgt_settings(cfg, train.mean, train.stdev));
        std::printf("%s\n", describe(sgt_->settings()).c_str());
        const int64_t hw = int64_t(train.height) * train.width;
        const int k = sgt_->pixels(train.height, train.width);
        std::printf("  (%d of the %lld pixels of a %d x %d image%s)\n", k, (long long)hw, train.height, train.width,
                    k == 1 && double(cfg.sgt_frac) * double(hw) < 1.0 ? ": at least one, more than --sgt-frac gives"
                                                                       : "");
    }
}

void StepMethod::warn_unassigned_rules(nn::Module& model) const {
    if (!reldrop_ || cfg_.reldrop_rules.size() + cfg_.reldrop_first_rules.size() + cfg_.reldrop_layer_rules.size() == 0)
        return;
    const RelDropSettings& s = reldrop_->settings();
    explain::Composite c = explain::make_composite(s.composite, s.composite_options);  // shares the options' rules
    c.bind(model);
    for (const std::string& note : explain::unassigned_rules(s.composite_options, c, cfg_.reldrop_rules,
                                                             cfg_.reldrop_first_rules, cfg_.reldrop_layer_rules,
                                                             "--reldrop-"))
        log_warn(note);
}

void StepMethod::start_epoch(const PartialEpoch& from) {
    auto sum = [&](float v) { return Tensor::from_vector(std::vector<float>{v}, {1}, dev_); };
    occluded_ = sum(from.occluded_sum);
    nonfinite_ = sum(from.nonfinite_sum);
    flat_ = sum(from.flat_sum);
    clean_ = sum(from.clean_correct_sum);
    salient_ = sum(from.salient_correct_sum);
    nonsalient_ = sum(from.nonsalient_correct_sum);
    coincident_ = sum(from.coincident_sum);
    heat_ = sum(from.heat_loss_sum);
    foreground_ = sum(from.foreground_sum);
    empty_masks_partial_ = from.empty_mask_sum < 0;
    empty_masks_ = sum(std::max(0.f, from.empty_mask_sum));
    masked_ = sum(from.masked_correct_sum);
    kl_ = sum(from.kl_sum);
    layers_ = from.layer_loss_sums.empty()
                  ? Tensor()
                  : Tensor::from_vector(from.layer_loss_sums, {int64_t(from.layer_loss_sums.size())}, dev_);
    attributed_ = from.attributed;
}

StepResult StepMethod::step(nn::Module& model, Optimizer& opt, const BatchSource::Batch& batch, Generator& g,
                            const StepOptions& so) {
    const Tensor &x = batch.x, &y = batch.y;
    transformed_ = false;
    trained_ = x;
    if (edda_) {
        EddaStepResult r = edda_train_step(model, opt, *edda_, x, y, so, &trained_);
        ops::axpy(1.f, r.salient_correct, salient_);
        ops::axpy(1.f, r.nonsalient_correct, nonsalient_);
        ops::axpy(1.f, r.coincident, coincident_);
        ops::axpy(1.f, r.nonfinite, nonfinite_);
        transformed_ = true;
        return r.step;
    }
    if (sgt_) {
        SgtStepResult r = sgt_->step(model, opt, x, y, g, so, &trained_);
        ops::axpy(1.f, r.masked_correct, masked_);
        ops::axpy(static_cast<float>(x.dim(0)), r.kl, kl_);
        ops::axpy(1.f, r.nonfinite, nonfinite_);
        transformed_ = true;
        return r.step;
    }
    if (isnet_) {
        IsnetStepResult r = isnet_->step(model, opt, x, y, g, so, batch.allowed);
        const float n = static_cast<float>(x.dim(0));
        ops::axpy(n, r.heat_loss, heat_);
        ops::axpy(n, r.foreground, foreground_);
        ops::axpy(1.f, r.empty_masks, empty_masks_);
        ops::axpy(1.f, r.nonfinite, nonfinite_);
        if (r.layer_losses.defined()) {
            if (!layers_.defined()) layers_ = Tensor::zeros(r.layer_losses.shape(), DType::F32, dev_);
            LRP_CHECK(layers_.shape() == r.layer_losses.shape(), "ISNet deep supervision: the epoch's sums (from the ",
                      "checkpoint) have ", layers_.numel(), " layer(s), the step ", r.layer_losses.numel(),
                      " (input map and hidden maps); was the checkpoint written by another model?");
            ops::axpy(n, r.layer_losses, layers_);
        }
        return r.step;
    }
    if (rrr_) {  // its penalty and foreground share ISNet's sums (a run has one method)
        RrrStepResult r = rrr_->step(model, opt, x, y, so, batch.allowed);
        const float n = static_cast<float>(x.dim(0));
        ops::axpy(n, r.penalty, heat_);
        ops::axpy(n, r.foreground, foreground_);
        return r.step;
    }
    if (!reldrop_) return train_step(model, opt, x, y, so);
    // Whether RelDrop can occlude this batch: the per-batch coin is known on the host beforehand.
    transformed_ = ops::reldrop_batch_selected(reldrop_->settings().params, x, g);
    const int64_t n = x.dim(0);
    if (!status_.defined() || status_.numel() != n) {
        status_ = Tensor::empty({n}, DType::I32, dev_);
        applied_code_ = Tensor::from_vector(std::vector<int32_t>(n, kernels::kRelDropApplied), {n}, dev_);
        flat_code_ = Tensor::from_vector(std::vector<int32_t>(n, kernels::kRelDropAppliedFlat), {n}, dev_);
        nonfinite_code_ = Tensor::from_vector(std::vector<int32_t>(n, kernels::kRelDropNonFinite), {n}, dev_);
    }
    if (cfg_.log_clean_accuracy) ops::axpy(1.f, clean_batch_correct(model, x, y), clean_);
    StepResult r = reldrop_train_step(model, opt, *reldrop_, x, y, g, so, &trained_, status_);
    if (attributed_ >= 0) attributed_ += reldrop_->last_attributed();
    Tensor c = Tensor::empty({1}, DType::F32, dev_);
    ops::count_equal(status_, applied_code_, c);
    ops::axpy(1.f, c, occluded_);
    ops::count_equal(status_, flat_code_, c);  // occluded too, by a map that ranked nothing (if the noise can drop)
    if (flat_maps_occlude()) ops::axpy(1.f, c, occluded_);
    ops::axpy(1.f, c, flat_);
    ops::count_equal(status_, nonfinite_code_, c);
    ops::axpy(1.f, c, nonfinite_);
    return r;
}

bool StepMethod::flat_maps_occlude() const {
    const ops::RelDropParams& p = reldrop_->settings().params;
    // the kernel's own rule for rn = 0 at the largest noise value, 1 - 2^-24 (alpha = 1 - beta drops nothing)
    return p.variant != "pixel" || kernels::reldrop_pixel_drops(p.alpha, p.beta, 0.f, uniform01(0xFFFFFFFFu));
}

void StepMethod::save(PartialEpoch& q) const {
    auto host = [](const Tensor& t) { return t.to_vector<float>()[0]; };
    q.occluded_sum = host(occluded_);
    q.nonfinite_sum = host(nonfinite_);
    q.flat_sum = host(flat_);
    q.clean_correct_sum = host(clean_);
    q.salient_correct_sum = host(salient_);
    q.nonsalient_correct_sum = host(nonsalient_);
    q.coincident_sum = host(coincident_);
    q.heat_loss_sum = host(heat_);
    q.foreground_sum = host(foreground_);
    q.empty_mask_sum = empty_masks_partial_ ? -1.f : host(empty_masks_);
    q.masked_correct_sum = host(masked_);
    q.kl_sum = host(kl_);
    q.layer_loss_sums = layers_.defined() ? layers_.to_vector<float>() : std::vector<float>{};
    q.attributed = attributed_;
}

void StepMethod::add_metrics(nlohmann::json& row, int64_t epoch, double images, nn::Module& model) const {
    if (!reldrop_ && !edda_ && !isnet_ && !sgt_ && !rrr_) return;
    // An epoch whose masks were all background or all foreground: almost surely a wrong mask (an empty or inverted
    // --masks folder, a --isnet-mask/--rrr-mask threshold outside the images' range).
    auto check_foreground = [&](const char* method, const char* flag, double fraction) {
        if (fraction <= 0.0)
            log_warn("epoch ", epoch, ": no pixel of the training images was foreground, so ", method, " treated every ",
                     "pixel as background; check ", flag, " and --masks (empty or inverted masks?)");
        else if (fraction >= 1.0)
            log_warn("epoch ", epoch, ": every pixel of the training images was foreground, so ", method, " had no ",
                     "background to penalise; check ", flag, " and --masks");
    };
    if (rrr_) {
        row["rrr_penalty"] = heat_.to_vector<float>()[0] / images;
        row["rrr_foreground_fraction"] = foreground_.to_vector<float>()[0] / images;
        check_foreground("RRR", "--rrr-mask", row["rrr_foreground_fraction"].get<double>());
        return;
    }
    const double nonfinite = nonfinite_.to_vector<float>()[0];
    if (sgt_) {
        row["sgt_masked_acc"] = masked_.to_vector<float>()[0] / images;
        row["sgt_kl"] = kl_.to_vector<float>()[0] / images;
        row["sgt_nonfinite_maps"] = nonfinite;
        if (nonfinite > 0)
            log_warn("epoch ", epoch, ": ", nonfinite, " saliency maps held NaN or Inf; those images were not masked ",
                     "and their KL term counted 0");
        return;
    }
    if (isnet_) {
        row["isnet_heat_loss"] = heat_.to_vector<float>()[0] / images;
        row["isnet_foreground_fraction"] = foreground_.to_vector<float>()[0] / images;
        check_foreground("ISNet", "--isnet-mask", row["isnet_foreground_fraction"].get<double>());
        row["isnet_nonfinite_maps"] = nonfinite;
        const double empty = empty_masks_.to_vector<float>()[0];
        if (!empty_masks_partial_) row["isnet_empty_masks"] = empty;  // else: the steps before the resume are unknown
        if (empty > 0 && row["isnet_foreground_fraction"].get<double>() > 0.0)  // (none at all: warned above)
            log_warn("epoch ", epoch, ": ", empty_masks_partial_ ? "at least " : "", empty, " of ", images,
                     " training images had no foreground pixel; each adds a ",
                     "constant to isnet_heat_loss (A log(1e7) + B for a nonzero map) and trains nothing through it; check ",
                     "--isnet-mask and --masks");
        if (layers_.defined()) {  // --isnet-lds: each layer's loss (the heatmap loss is their GWRP)
            const std::vector<float> v = layers_.to_vector<float>();
            const std::vector<std::string> names = isnet_->lds_layers(model);
            nlohmann::json per = nlohmann::json::object();
            for (size_t l = 0; l < v.size(); ++l)
                per[l == 0 ? std::string("input") : l <= names.size() ? names[l - 1] : "hidden" + std::to_string(l)] =
                    v[l] / images;
            row["isnet_layer_losses"] = per;
        }
        if (nonfinite > 0)
            log_warn("epoch ", epoch, ": ", nonfinite, " heatmaps held NaN or Inf", layers_.defined() ? " (input and "
                     "hidden maps, --isnet-lds)" : "", "; their heatmap loss counted 0");
        return;
    }
    if (reldrop_) {
        row["reldrop_occluded_fraction"] = occluded_.to_vector<float>()[0] / images;
        if (attributed_ >= 0) row["reldrop_attributed_fraction"] = static_cast<double>(attributed_) / images;
        row["reldrop_nonfinite_maps"] = nonfinite;
        const double occluded = occluded_.to_vector<float>()[0], flat = flat_.to_vector<float>()[0];
        row["reldrop_flat_maps"] = flat;
        const ops::RelDropParams& rp = reldrop_->settings().params;
        const double selected = flat_maps_occlude() ? occluded : occluded + flat;  // (flat ones occluded nothing)
        // A few flat maps are harmless; most of them mean the relevance ranks nothing (docs/reldrop.md).
        if (flat > 0 && 2 * flat >= selected)
            log_warn("epoch ", epoch, ": ", flat, " of the ", selected, " images RelDrop ",
                     flat_maps_occlude() ? "occluded" : "selected", " had a flat relevance map, ",
                     rp.variant != "pixel"
                         ? std::string("every value equal (e.g. all zero), so their box sat at the top-left corner (the "
                                       "top-k ties' lowest indices)")
                     : flat_maps_occlude()
                         ? "one that ranks no pixel under --reldrop-pixel-norm " + rp.pixel_norm +
                               " (e.g. all zero), so the noise alone chose the dropped pixels"
                         : "one that ranks no pixel under --reldrop-pixel-norm " + rp.pixel_norm +
                               " (e.g. all zero), so none of their pixels was dropped (the noise alone, --reldrop-alpha " +
                               str(rp.alpha) + " x u, never reaches 1 - --reldrop-beta " + str(rp.beta) +
                               "; they are not counted as occluded)",
                     "; check --reldrop-target, the composite and its epsilon");
        if (cfg_.log_clean_accuracy) row["train_clean_acc"] = clean_.to_vector<float>()[0] / images;
    } else {
        row["edda_salient_acc"] = salient_.to_vector<float>()[0] / images;
        row["edda_nonsalient_acc"] = nonsalient_.to_vector<float>()[0] / images;
        row["edda_nonfinite_maps"] = nonfinite;
        const double coincident = coincident_.to_vector<float>()[0];
        row["edda_coincident_windows"] = coincident;
        // Some coincide in any run (all-negative maps of misclassified images): warned when most do.
        if (coincident > 0 && 2 * coincident >= images)
            log_warn("epoch ", epoch, ": ", coincident, " of ", images, " images had their most and least relevant ",
                     "windows coincide (every window's relevance negative, so the largest is also the one closest to ",
                     "0: e.g. the label's maps of misclassified images, or a composite whose maps are mostly negative; ",
                     "or constant maps, e.g. all zero; or a single window; docs/edda.md), so their salient and ",
                     "non-salient copies were one image trained towards both targets");
    }
    if (nonfinite > 0)
        log_warn("epoch ", epoch, ": ", nonfinite, " relevance maps held NaN or Inf; those images were not occluded",
                 edda_ ? " (their copies weighed 0)" : "");
}

bool StepMethod::save_preview(const std::filesystem::path& out, const BatchSource::Batch& batch,
                              int64_t step_number) const {
    const Tensor& clean = batch.x;
    if (reldrop_ && !transformed_) return false;
    const std::filesystem::path png = out / "first_batch.png";
    if (isnet_ || rrr_) {  // the images and the foreground masks the heatmap loss (RRR's penalty) used
        save_batch_grid(png.string(), clean, mean_, stdev_);
        const Tensor m = isnet_ ? isnet_->mask(clean, batch.allowed) : rrr_->mask(clean, batch.allowed);
        const std::filesystem::path mpng = out / "first_batch_mask.png";
        save_batch_grid(mpng.string(), m.reshape(Shape{clean.dim(0), 1, clean.dim(2), clean.dim(3)}), {0.f}, {1.f});
        std::printf("first %s batch saved: %s, its foreground masks (white): %s\n", isnet_ ? "ISNet" : "RRR",
                    png.string().c_str(),
                    mpng.string().c_str());
        return true;
    }
    if (sgt_) {  // the clean images above the masked ones, up to 8 of each
        const int64_t n = clean.dim(0), m = std::min<int64_t>(n, 8);
        std::vector<int64_t> d = trained_.shape().dims();
        d[0] = 2 * m;
        Tensor rows = Tensor::empty(Shape(d), DType::F32, trained_.device());
        rows.slice(0, m).copy_from(clean.slice(0, m));
        rows.slice(m, 2 * m).copy_from(trained_.slice(0, m));
        save_batch_grid(png.string(), rows, mean_, stdev_, static_cast<int>(2 * m), static_cast<int>(m));
        std::printf("first SGT batch (%lld clean images, then with their least salient pixels filled) saved: %s\n",
                    (long long)m, png.string().c_str());
        return true;
    }
    if (edda_) {  // up to 8 images of each part, one part per row of the grid
        const int64_t n = clean.dim(0), m = std::min<int64_t>(n, 8);
        std::vector<int64_t> d = trained_.shape().dims();
        d[0] = 3 * m;
        Tensor rows = Tensor::empty(Shape(d), DType::F32, trained_.device());
        for (int part = 0; part < 3; ++part)
            rows.slice(part * m, (part + 1) * m).copy_from(trained_.slice(part * n, part * n + m));
        save_batch_grid(png.string(), rows, mean_, stdev_, static_cast<int>(3 * m), static_cast<int>(m));
        std::printf("first EDDA batch (%lld clean images, then with the most relevant window filled, then the least) "
                    "saved: %s\n", (long long)m, png.string().c_str());
        return true;
    }
    save_batch_grid(png.string(), trained_, mean_, stdev_);
    if (reldrop_) {
        save_batch_grid((out / "first_batch_clean.png").string(), clean, mean_, stdev_);
        int64_t hit = 0;
        for (int32_t v : status_.to_vector<int32_t>())
            hit += v == kernels::kRelDropApplied || v == kernels::kRelDropAppliedFlat;
        std::printf("first RelDrop batch (step %lld, %lld of %lld images occluded) saved: %s\n", (long long)step_number,
                    (long long)hit, (long long)clean.dim(0), png.string().c_str());
    } else if (cfg_.augment == "random-erasing") {
        std::printf("first training batch as trained on: %s\n", png.string().c_str());
    }
    return true;
}

}  // namespace lrp::train
