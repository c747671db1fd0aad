// TrainConfig validation and its JSON form (keys are the CLI flag names without dashes).
#include "lrp/train/config.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <type_traits>
#include <utility>

#include "lrp/error.h"
#include "lrp/nn/json_parse.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/models.h"
#include "lrp/parse.h"
#include "lrp/train/data_source.h"
#include "lrp/train/edda_step.h"
#include "lrp/ops/isnet_loss.h"
#include "lrp/ops/reldrop.h"
#include "lrp/train/init_from.h"
#include "lrp/train/loader.h"
#include "lrp/utf8.h"

namespace lrp::train {

namespace {
// "(got v)" for a setting that must stay below 1: a value just under 1 rounds to 1 as a 32-bit float, said so.
std::string below_one(float v) {
    return v == 1.f ? "(got 1; a value just below 1, such as 0.99999999, is 1 as a 32-bit float)" : str("(got ", v, ")");
}
}  // namespace

void TrainConfig::resolve_defaults() {
    if (augment == "crop-flip") augment = "none";
    const std::string v = reldrop_variant();
    // -1 exactly is "not given" (--reldrop-p -0.5 or --reldrop-k 0 were taken as unset too, now validate() refuses them)
    if (reldrop_p == -1.f) reldrop_p = v == "pixel" ? 0.3f : 0.5f;
    if (reldrop_k == -1) reldrop_k = v == "patch" ? 5 : 1;
    isnet_mask = isnet_mask_spec();
    rrr_mask = rrr_mask_spec();
}

std::string TrainConfig::mask_spec(const std::string& spec) const {
    if (spec != "auto") return spec;
    return masks.empty() ? "threshold:0.02" : "data";
}

namespace {
// A composite named by `flag` must be one of the registry's, listed in the error (`also`: other choices first).
void check_composite(const char* flag, const std::string& name, const char* also = "") {
    const std::vector<std::string> known = explain::known_composites();
    std::string list;
    for (const std::string& k : known) list += ", " + k;
    LRP_CHECK(std::find(known.begin(), known.end(), name) != known.end(), flag, " must be ", also, "a composite (",
              list.substr(2), "), got '", name, "'");
}
// A fill's name and number, before the data load; its normalised values (raw:<v> with the dataset's statistics)
// are checked when the run knows them.
void check_fill_syntax(const char* flag, const std::string& fill) {
    if (fill.rfind("raw:", 0) == 0)
        LRP_CHECK(parse_finite_float(fill.substr(4)).has_value(), flag, ": '", fill, "' does not end in a finite number");
    else
        ops::reldrop_fill(fill, {0.f}, {1.f}, flag);
}
}  // namespace

void TrainConfig::validate() const {
    // config.json and the checkpoints record every setting as JSON, which must be UTF-8: a path or value that is
    // not would stop the run when it first writes them.
    nlohmann::json all;
    to_json(all, *this);
    for (auto it = all.begin(); it != all.end(); ++it) {
        std::vector<std::string> texts;
        if (it->is_string()) texts.push_back(it->get<std::string>());
        if (it->is_array())
            for (const auto& v : *it)
                if (v.is_string()) texts.push_back(v.get<std::string>());
        for (const std::string& t : texts)
            LRP_CHECK(valid_utf8(t), "--", it.key(), " '", escaped_bytes(t), "' is not valid UTF-8 (lrpcu records its ",
                      "settings as JSON); rename the file or folder");
    }
    LRP_CHECK(normalize != "auto", "--normalize auto is eval's and explain's (the weights' statistics); a training "
              "run takes data, imagenet or M1,M2,M3/S1,S2,S3");
    normalization_for(normalize, {});  // a malformed spec is an error naming it, before any data is read
    LRP_CHECK(epochs >= 1, "--epochs must be >= 1 (got ", epochs, ")");
    LRP_CHECK(batch_size >= 1, "--batch-size must be >= 1 (got ", batch_size, ")");
    nn::check_known_arch(arch);  // before any data is read
    LRP_CHECK(width >= 1 && width <= nn::kMaxBaseWidth, "--width must be in [1, ", nn::kMaxBaseWidth, "] (got ", width,
              "; torchvision's models have 64)");
    LRP_CHECK(optimizer == "sgd" || optimizer == "adamw", "--optimizer must be sgd or adamw (got '", optimizer, "')");
    LRP_CHECK(lr >= 0 && lr < 1e3, "--lr must be in [0, 1000) (got ", lr, ")");
    LRP_CHECK(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1) ", below_one(momentum));
    LRP_CHECK(!nesterov || optimizer != "sgd" || momentum > 0, "--nesterov needs --momentum > 0");
    LRP_CHECK(weight_decay >= 0 && std::isfinite(weight_decay), "--weight-decay must be a finite number >= 0 (got ",
              weight_decay, ")");
    LRP_CHECK(adam_beta1 >= 0 && adam_beta1 < 1, "--adam-beta1 must be in [0, 1) ", below_one(adam_beta1));
    LRP_CHECK(adam_beta2 >= 0 && adam_beta2 < 1, "--adam-beta2 must be in [0, 1) ", below_one(adam_beta2));
    LRP_CHECK(adam_eps > 0 && std::isfinite(adam_eps), "--adam-eps must be a finite number > 0 (got ", adam_eps,
              "; with 0 a parameter whose gradient is zero gets 0/0 = NaN)");
    LRP_CHECK(min_lr >= 0 && min_lr <= lr, "--min-lr must be in [0, --lr ", lr, "] (got ", min_lr, ")");
    LRP_CHECK(warmup_epochs >= 0 && warmup_epochs < epochs, "--warmup-epochs must be in [0, epochs) (got ",
              warmup_epochs, ")");
    LRP_CHECK(step_epochs >= 1, "--step-epochs must be >= 1");
    LRP_CHECK(!cycle_momentum || schedule == "onecycle", "--cycle-momentum true needs --schedule onecycle (got ",
              schedule, ")");
    LRP_CHECK(base_momentum >= 0 && base_momentum <= max_momentum && max_momentum < 1,
              "--base-momentum and --max-momentum must satisfy 0 <= base <= max < 1 (got ", base_momentum, " and ",
              max_momentum, ")");
    LRP_CHECK(step_gamma > 0 && std::isfinite(step_gamma), "--step-gamma must be a finite number > 0 (got ", step_gamma,
              ")");
    if (schedule == "step" && step_gamma > 1 && step_epochs > 0 && epochs > 1) {  // a rising step schedule
        const int raises = (epochs - 1) / step_epochs;
        const double peak = double(lr) * std::pow(double(step_gamma), raises);
        LRP_CHECK(peak < 1e3, "--step-gamma ", step_gamma, " raises the learning rate ", raises, " time(s) in ", epochs,
                  " epochs, to ", peak, " (the schedule's peak must stay below 1000, as --lr)");
    }
    LRP_CHECK(label_smoothing >= 0 && label_smoothing < 1, "--label-smoothing must be in [0, 1) ",
              below_one(label_smoothing));
    LRP_CHECK(clip_grad_norm >= 0 && std::isfinite(clip_grad_norm),
              "--clip-grad-norm must be a finite number >= 0 (got ", clip_grad_norm, "; 0: off)");
    static const std::set<std::string> augments{"none",          "crop-flip",     "random-erasing",
                                                "reldrop-pixel", "reldrop-block", "reldrop-patch",
                                                "edda",          "isnet",         "rrr",
                                                "sgt"};
    LRP_CHECK(augments.count(augment), "--augment must be none, random-erasing, reldrop-pixel, reldrop-block, ",
              "reldrop-patch, edda, isnet, rrr or sgt (got '", augment, "')");
    LRP_CHECK(crop_padding >= 0 && crop_padding <= 16, "--crop-padding must be in [0, 16]");
    LRP_CHECK(rrc_scale_min > 0 && rrc_scale_min <= rrc_scale_max && rrc_scale_max <= 1,
              "--rrc-scale-min and --rrc-scale-max must satisfy 0 < min <= max <= 1 (got ", rrc_scale_min, " and ",
              rrc_scale_max, "; the crop's share of the image area)");
    LRP_CHECK(rrc_ratio_min > 0 && rrc_ratio_min <= rrc_ratio_max && std::isfinite(rrc_ratio_max),
              "--rrc-ratio-min and --rrc-ratio-max must satisfy 0 < min <= max, finite (got ", rrc_ratio_min, " and ",
              rrc_ratio_max, "; the crop's width / height)");
    LRP_CHECK(!random_resized_crop || crop_padding == 0, "--random-resized-crop replaces the padded random crop: ",
              "--crop-padding must be 0 with it (got ", crop_padding, ")");
    for (auto [flag, v] : {std::pair<const char*, const std::string&>{"--decoy", decoy}, {"--decoy-test", decoy_test}})
        LRP_CHECK(v == "none" || v == "label" || v == "random", flag, " must be none, label or random (got '", v, "')");
    LRP_CHECK(decoy_size >= 1, "--decoy-size must be >= 1 (got ", decoy_size, ")");
    LRP_CHECK(decoy == "none" || stream != "on", "--decoy is drawn into images resident on the device; with --stream on ",
              "they stream (--stream off or auto)");
    LRP_CHECK(erasing_p >= 0 && erasing_p <= 1, "--erasing-p must be in [0, 1] (got ", erasing_p, ")");
    LRP_CHECK(box_sl > 0 && box_sl <= box_sh && box_sh < 1, "--box-sl/--box-sh: need 0 < sl <= sh < 1 (got ",
              box_sl, ", ", box_sh, ")");
    LRP_CHECK(box_r1 > 0 && box_r1 <= 1, "--box-r1 must be in (0, 1] (got ", box_r1, ")");
    LRP_CHECK(box_attempts >= 1 && box_attempts <= 100, "--box-attempts must be in [1, 100] (got ", box_attempts, ")");
    // Fill names before the data load (they were found only when the run first used them).
    if (augment == "random-erasing" || (reldrop() && reldrop_with_erasing)) {
        if (erasing_fill.rfind("raw:", 0) == 0) check_fill_syntax("--erasing-fill", erasing_fill);
        else train::erasing_fill(erasing_fill, {0.f}, {1.f});
    }
    if (reldrop()) {
        check_fill_syntax("--reldrop-fill", reldrop_fill);
        LRP_CHECK(reldrop_p >= 0 && reldrop_p <= 1, "--reldrop-p must be in [0, 1] (got ", reldrop_p, ")");
        LRP_CHECK(reldrop_alpha >= 0 && reldrop_alpha <= 1, "--reldrop-alpha must be in [0, 1] (got ", reldrop_alpha,
                  ")");
        LRP_CHECK(reldrop_beta >= 0 && reldrop_beta <= 1, "--reldrop-beta must be in [0, 1] (got ", reldrop_beta, ")");
        LRP_CHECK(reldrop_k >= 1, "--reldrop-k must be >= 1 (got ", reldrop_k, ")");
        LRP_CHECK(reldrop_coin == "reference" || reldrop_coin == "per_batch" || reldrop_coin == "per_sample",
                  "--reldrop-coin must be reference, per_batch or per_sample (got '", reldrop_coin, "')");
        LRP_CHECK(reldrop_pixel_norm == "signed_minmax" || reldrop_pixel_norm == "positive_max" ||
                      reldrop_pixel_norm == "abs_max",
                  "--reldrop-pixel-norm must be signed_minmax, positive_max or abs_max (got '", reldrop_pixel_norm,
                  "')");
        LRP_CHECK(reldrop_patch_count == "1" || reldrop_patch_count == "k",
                  "--reldrop-patch-count must be 1 or k (got '", reldrop_patch_count, "')");
        LRP_CHECK(reldrop_patch_count == "1" || reldrop_variant() == "patch",
                  "--reldrop-patch-count k applies to --augment reldrop-patch");
        LRP_CHECK(reldrop_box_clip == "truncate" || reldrop_box_clip == "shift",
                  "--reldrop-box-clip must be truncate or shift (got '", reldrop_box_clip, "')");
        LRP_CHECK(reldrop_target == "label" || reldrop_target == "pred" || reldrop_target == "label*logit" ||
                      reldrop_target == "pred*logit",
                  "--reldrop-target must be label, pred, label*logit or pred*logit (got '", reldrop_target, "')");
        LRP_CHECK(reldrop_epsilon >= 0 && std::isfinite(reldrop_epsilon), "--reldrop-epsilon must be a finite number ",
                  ">= 0 (got ", reldrop_epsilon, "; 0: the composite's default)");
        check_composite("--reldrop-composite", reldrop_composite);
    }
    if (augment == "edda") {
        LRP_CHECK(edda_patch >= 0, "--edda-patch must be >= 0 (got ", edda_patch, "; 0: a quarter of the image side)");
        LRP_CHECK(edda_reduce == "sum" || edda_reduce == "abs" || edda_reduce == "relu",
                  "--edda-reduce must be sum, abs or relu (got '", edda_reduce, "')");
        LRP_CHECK(edda_target == "label" || edda_target == "pred", "--edda-target must be label or pred (got '",
                  edda_target, "')");
        LRP_CHECK(edda_epsilon >= 0 && std::isfinite(edda_epsilon), "--edda-epsilon must be a finite number >= 0 ",
                  "(got ", edda_epsilon, "; 0: the composite's default)");
        for (auto [flag, w] : {std::pair<const char*, float>{"--edda-w-clean", edda_w_clean},
                               {"--edda-w-salient", edda_w_salient}, {"--edda-w-nonsalient", edda_w_nonsalient}})
            LRP_CHECK(w >= 0 && std::isfinite(w), flag, " must be a finite number >= 0 (got ", w, ")");
        LRP_CHECK(edda_w_clean + edda_w_salient + edda_w_nonsalient > 0, "--edda-w-clean, --edda-w-salient and ",
                  "--edda-w-nonsalient are all 0: nothing would be trained");
        // Before the data load (their values follow the dataset and model later): the names and syntax.
        parse_edda_salient_target(edda_salient_target);
        check_composite("--edda-composite", edda_composite);
        check_fill_syntax("--edda-fill", edda_fill);
    }
    if (augment == "isnet") {
        LRP_CHECK(isnet_p >= 0 && isnet_p < 1, "--isnet-p must be in [0, 1) ", below_one(isnet_p));
        LRP_CHECK(isnet_epsilon > 0 && std::isfinite(isnet_epsilon), "--isnet-epsilon must be a finite number > 0 (got ",
                  isnet_epsilon, ")");
        LRP_CHECK(isnet_explain == "stochastic" || isnet_explain == "selective" || isnet_explain == "selective-softmin" ||
                      isnet_explain == "label" || isnet_explain == "pred" || isnet_explain == "all",
                  "--isnet-explain must be stochastic, selective, selective-softmin, label, pred or all (got '",
                  isnet_explain, "')");
        LRP_CHECK(isnet_selective_eps > 0 && std::isfinite(isnet_selective_eps), "--isnet-selective-eps must be a ",
                  "finite number > 0 (got ", isnet_selective_eps, ")");
        LRP_CHECK(isnet_first_rule == "zb" || isnet_first_rule == "epsilon", "--isnet-first-rule must be zb or ",
                  "epsilon (got '", isnet_first_rule, "')");
        LRP_CHECK(isnet_decay >= 0 && isnet_decay <= 1, "--isnet-decay must be in [0, 1] (got ", isnet_decay, ")");
        LRP_CHECK(isnet_lds_decay >= 0 && isnet_lds_decay <= 1, "--isnet-lds-decay must be in [0, 1] (got ",
                  isnet_lds_decay, ")");
        LRP_CHECK(isnet_lds || isnet_lds_layers.empty(), "--isnet-lds-layers names the layers of LRP deep supervision: ",
                  "give --isnet-lds true with it");
        ops::isnet_foreground_mode(isnet_foreground, "--isnet-foreground");
        LRP_CHECK(isnet_e > 0 && std::isfinite(isnet_e), "--isnet-e must be a finite number > 0 (got ", isnet_e, ")");
        for (auto [flag, w] : {std::pair<const char*, float>{"--isnet-a", isnet_a}, {"--isnet-b", isnet_b}})
            LRP_CHECK(w >= 0 && std::isfinite(w), flag, " must be a finite number >= 0 (got ", w, ")");
        LRP_CHECK(isnet_c1 > 0 && isnet_c1 <= isnet_c2 && std::isfinite(isnet_c2), "--isnet-c1/--isnet-c2: need 0 < C1 ",
                  "<= C2 (got ", isnet_c1, ", ", isnet_c2, ")");
        LRP_CHECK(isnet_calibrate.empty() || (isnet_c1 == 1.f && isnet_c2 == 25.f), "--isnet-calibrate measures C1 and ",
                  "C2, so --isnet-c1 ", isnet_c1, " and --isnet-c2 ", isnet_c2, " would not be used: give one or the other");
        parse_isnet_mask(isnet_mask_spec());
        LRP_CHECK(isnet_mask_spec() != "data" || decoy != "none" || !masks.empty(), "--isnet-mask data (given, or the ",
                  "value a run trained with --masks recorded) takes the foreground from the dataset's masks: give them ",
                  "(--masks <dir>) or use a --decoy dataset");
    }
    if (augment == "rrr") {
        LRP_CHECK(rrr_lambda >= 0 && std::isfinite(rrr_lambda), "--rrr-lambda must be a finite number >= 0 (got ",
                  rrr_lambda, ")");
        try {
            parse_isnet_mask(rrr_mask_spec());
        } catch (const Error&) {
            LRP_THROW("--rrr-mask must be auto, threshold:<v> with v in [0, 1) or data (got '", rrr_mask, "')");
        }
        LRP_CHECK(rrr_mask_spec() != "data" || decoy != "none" || !masks.empty(), "--rrr-mask data (given, or the ",
                  "value a run trained with --masks recorded) takes the foreground from the dataset's masks: give them ",
                  "(--masks <dir>) or use a --decoy dataset");
    }
    if (augment == "sgt") {
        LRP_CHECK(sgt_frac > 0 && sgt_frac <= 1, "--sgt-frac must be in (0, 1] (got ", sgt_frac, ")");
        LRP_CHECK(sgt_lambda >= 0 && std::isfinite(sgt_lambda), "--sgt-lambda must be a finite number >= 0 (got ",
                  sgt_lambda, ")");
        LRP_CHECK(sgt_epsilon >= 0 && std::isfinite(sgt_epsilon), "--sgt-epsilon must be a finite number >= 0 (got ",
                  sgt_epsilon, "; 0: the composite's default)");
        const bool grad = sgt_saliency == "gradient" || sgt_saliency == "logprob-gradient";
        if (!grad) check_composite("--sgt-saliency", sgt_saliency, "gradient, logprob-gradient or ");
        LRP_CHECK(sgt_epsilon == 0 || !grad, "--sgt-epsilon applies to a saliency composite; --sgt-saliency ",
                  sgt_saliency, " has no epsilon");
        if (sgt_fill != "random" && sgt_fill != "image-mean") {
            LRP_CHECK(sgt_fill == "mean" || sgt_fill == "reference" || sgt_fill.rfind("raw:", 0) == 0 ||
                          sgt_fill.rfind("normalized:", 0) == 0,
                      "--sgt-fill must be random, image-mean, mean, reference, raw:<v> or normalized:<v> (got '",
                      sgt_fill, "')");
            check_fill_syntax("--sgt-fill", sgt_fill);
        }
    }
    LRP_CHECK(!reldrop_with_erasing || reldrop(), "--reldrop-with-erasing needs --augment reldrop-pixel, reldrop-block ",
              "or reldrop-patch (random erasing alone is --augment random-erasing)");
    LRP_CHECK(train_subset >= 0 && test_subset >= 0, "--train-subset/--test-subset must be >= 0");
    LRP_CHECK(val_split >= 0, "--val-split must be >= 0 (got ", val_split, "; 0: no validation split)");
    LRP_CHECK(log_every >= 1, "--log-every must be >= 1");
    LRP_CHECK(stop_after_epoch >= 0, "--stop-after-epoch must be >= 0");
    LRP_CHECK(stop_after_step >= 0, "--stop-after-step must be >= 0 (got ", stop_after_step, ")");
    LRP_CHECK(checkpoint_every >= 0, "--checkpoint-every must be >= 0 (got ", checkpoint_every, "; 0: per epoch only)");
    LRP_CHECK(!out_dir.empty(), "--out must not be empty");
    LRP_CHECK(init == "torchvision" || init == "pytorch-default", "--init must be torchvision or pytorch-default");
    parse_init_head(init_head);
    LRP_CHECK(!log_clean_accuracy || reldrop(), "--log-clean-accuracy compares RelDrop's occluded training batches ",
              "with the clean ones; --augment ", augment, " trains on no occluded batch it could compare with");
    LRP_CHECK(init_head == "keep" || !init_weights.empty(), "--init-head ", init_head, " applies to the classifier ",
              "of --init-weights; without them every layer is initialised by --init");
    LRP_CHECK(stream == "auto" || stream == "on" || stream == "off", "--stream must be auto, on or off (got '",
              stream, "')");
    LRP_CHECK(stream != "on" || dataset == "folder", "--stream on: only image folders (--dataset folder) can ",
              "stream; '", dataset, "' is loaded whole (use --stream auto or off)");
    LRP_CHECK(resident_limit_mb >= 0, "--resident-limit-mb must be >= 0 (got ", resident_limit_mb, ")");
    LRP_CHECK(resize >= 0 && crop >= 0, "--resize and --crop must be >= 0 (0 = off)");
    LRP_CHECK((resize == 0 && crop == 0) || dataset == "folder", "--resize/--crop apply to --dataset folder only");
    LRP_CHECK(masks.empty() || dataset == "folder", "--masks reads segmentation masks for an image folder's images ",
              "(--dataset folder); '", dataset, "' has none");
}

#define LRP_CFG_FIELDS(X)                                                                                   \
    X("dataset", dataset) X("data-dir", data_dir) X("train-subset", train_subset) X("test-subset", test_subset) \
    X("val-split", val_split) X("decoy", decoy) X("decoy-test", decoy_test) X("decoy-size", decoy_size)          \
    X("decoy-seed", decoy_seed) X("masks", masks)                                                          \
    X("resize", resize) X("crop", crop) X("normalize", normalize) X("stream", stream)                        \
    X("resident-limit-mb", resident_limit_mb)                                                              \
    X("arch", arch) X("width", width) X("init", init) X("init-weights", init_weights)  \
    X("init-head", init_head) X("epochs", epochs) X("batch-size", batch_size)          \
    X("drop-last", drop_last)                                                                              \
    X("optimizer", optimizer) X("lr", lr) X("momentum", momentum) X("nesterov", nesterov)                      \
    X("weight-decay", weight_decay) X("adam-beta1", adam_beta1) X("adam-beta2", adam_beta2) X("adam-eps", adam_eps) \
    X("schedule", schedule) X("warmup-epochs", warmup_epochs) X("min-lr", min_lr)                  \
    X("cycle-momentum", cycle_momentum) X("base-momentum", base_momentum) X("max-momentum", max_momentum)      \
    X("step-gamma", step_gamma) X("step-epochs", step_epochs) X("label-smoothing", label_smoothing)            \
    X("clip-grad-norm", clip_grad_norm) X("augment", augment) X("crop-padding", crop_padding) X("flip", flip)  \
    X("random-resized-crop", random_resized_crop) X("rrc-scale-min", rrc_scale_min) X("rrc-scale-max", rrc_scale_max) \
    X("rrc-ratio-min", rrc_ratio_min) X("rrc-ratio-max", rrc_ratio_max)                                        \
    X("erasing-p", erasing_p) X("erasing-fill", erasing_fill) X("box-sl", box_sl) X("box-sh", box_sh)              \
    X("box-r1", box_r1) X("box-attempts", box_attempts) X("reldrop-p", reldrop_p) X("reldrop-alpha", reldrop_alpha) \
    X("reldrop-beta", reldrop_beta) X("reldrop-k", reldrop_k) X("reldrop-coin", reldrop_coin)                     \
    X("reldrop-pixel-norm", reldrop_pixel_norm) X("reldrop-box-clip", reldrop_box_clip)                     \
    X("reldrop-with-erasing", reldrop_with_erasing) X("reldrop-patch-count", reldrop_patch_count)          \
    X("reldrop-fill", reldrop_fill) X("reldrop-composite", reldrop_composite)                                     \
    X("reldrop-epsilon", reldrop_epsilon) X("reldrop-target", reldrop_target) X("reldrop-rule", reldrop_rules)      \
    X("reldrop-first-rule", reldrop_first_rules) X("reldrop-layer-rule", reldrop_layer_rules)                    \
    X("reldrop-residual", reldrop_residual) X("reldrop-bn-fold", reldrop_bn_fold) X("reldrop-lrp-samples", reldrop_lrp_samples) \
    X("log-clean-accuracy", log_clean_accuracy) X("edda-patch", edda_patch) X("edda-reduce", edda_reduce)       \
    X("edda-composite", edda_composite) X("edda-epsilon", edda_epsilon) X("edda-target", edda_target)              \
    X("edda-salient-target", edda_salient_target) X("edda-w-clean", edda_w_clean)                              \
    X("edda-w-salient", edda_w_salient) X("edda-w-nonsalient", edda_w_nonsalient) X("edda-fill", edda_fill)      \
    X("isnet-p", isnet_p) X("isnet-epsilon", isnet_epsilon) X("isnet-explain", isnet_explain)                     \
    X("isnet-decay", isnet_decay) X("isnet-e", isnet_e) X("isnet-a", isnet_a) X("isnet-b", isnet_b)               \
    X("isnet-c1", isnet_c1) X("isnet-c2", isnet_c2) X("isnet-mask", isnet_mask)                                   \
    X("isnet-calibrate", isnet_calibrate) X("isnet-selective-eps", isnet_selective_eps)                          \
    X("isnet-first-rule", isnet_first_rule) X("isnet-lds", isnet_lds) X("isnet-lds-decay", isnet_lds_decay)      \
    X("isnet-lds-layers", isnet_lds_layers) X("isnet-foreground", isnet_foreground)                            \
    X("rrr-lambda", rrr_lambda) X("rrr-mask", rrr_mask)                                                       \
    X("sgt-frac", sgt_frac) X("sgt-lambda", sgt_lambda) X("sgt-saliency", sgt_saliency) X("sgt-epsilon", sgt_epsilon) \
    X("sgt-abs", sgt_abs) X("sgt-fill", sgt_fill) X("sgt-detach-clean", sgt_detach_clean)                      \
    X("seed", seed) X("device", device) X("out", out_dir) X("log-every", log_every) X("stop-after-epoch", stop_after_epoch) X("stop-after-step", stop_after_step) X("checkpoint-every", checkpoint_every)

float parse_isnet_mask(const std::string& spec) {
    if (spec == "data") return -1.f;
    const std::string pre = "threshold:";
    LRP_CHECK(spec.rfind(pre, 0) == 0, "--isnet-mask must be auto, threshold:<v> with v in [0, 1) (the raw pixel value ",
              "above which a pixel is foreground) or data (the dataset's masks), got '", spec, "'");
    const std::optional<float> v = parse_finite_float(spec.substr(pre.size()));
    LRP_CHECK(v && *v >= 0 && *v < 1, "--isnet-mask threshold:<v> needs a number v in [0, 1), got '", spec, "'");
    return *v;
}

void to_json(nlohmann::json& j, const TrainConfig& c) {
    j = nlohmann::json::object();
#define X(key, field) j[key] = c.field;
    LRP_CFG_FIELDS(X)
#undef X
}

namespace {
// Reads j[key] into out when present: an error names the key, the expected type and the value given;
// an integer setting refuses a fractional number instead of truncating it.
void read_key(const nlohmann::json& j, const char* key, std::vector<std::string>& out) {
    if (!j.contains(key)) return;
    const nlohmann::json& v = j.at(key);
    const bool ok = v.is_array() && std::all_of(v.begin(), v.end(), [](const nlohmann::json& e) { return e.is_string(); });
    LRP_CHECK(ok, "config key '", key, "' must be a list of strings, got ", nn::json_brief(v));
    out = v.get<std::vector<std::string>>();
}

template <class T>
void read_key(const nlohmann::json& j, const char* key, T& out) {
    if (!j.contains(key)) return;
    const nlohmann::json& v = j.at(key);
    const char* want = std::is_same_v<T, bool> ? "true or false"
                       : std::is_unsigned_v<T> ? "a non-negative integer"
                       : std::is_integral_v<T> ? "an integer"
                       : std::is_floating_point_v<T> ? "a number"
                                                     : "a string";
    const bool ok = std::is_same_v<T, bool> ? v.is_boolean()
                    : std::is_unsigned_v<T> ? v.is_number_unsigned()  // -1 would wrap around
                    : std::is_integral_v<T> ? v.is_number_integer()
                    : std::is_floating_point_v<T> ? v.is_number()
                                                  : v.is_string();
    LRP_CHECK(ok, "config key '", key, "' must be ", want, ", got ", nn::json_brief(v));
    try {
        v.get_to(out);
    } catch (const nlohmann::json::exception& e) {
        LRP_THROW("config key '", key, "': ", e.what());
    }
}
}  // namespace

void from_json(const nlohmann::json& j, TrainConfig& c) {
    LRP_CHECK(j.is_object(), "config must be a JSON object");
    std::set<std::string> known;
#define X(key, field) known.insert(key);
    LRP_CFG_FIELDS(X)
#undef X
    for (auto it = j.begin(); it != j.end(); ++it)
        LRP_CHECK(known.count(it.key()) || it.key() == "resume", "unknown config key '", it.key(), "'");
#define X(key, field) read_key(j, key, c.field);
    LRP_CFG_FIELDS(X)
#undef X
}

std::string tidy_recorded_rule(const std::string& spec) {
    std::string s = spec;
    if (s.size() > 1 && s.back() == ':' && s[s.size() - 2] != ':' && s[s.size() - 2] != '=') s.pop_back();
    std::string out;
    std::set<std::string> options;
    size_t start = 0;
    for (size_t colon;; start = colon + 1) {
        colon = s.find(':', start);
        const std::string tok = s.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        const bool option = tok == "clip" || tok == "norm_scale" || tok == "zero_bias";
        if (!option || options.insert(tok).second) out += (start ? ":" : "") + tok;
        if (colon == std::string::npos) break;
    }
    return out;
}

std::vector<std::string> inherit_settings(TrainConfig& c, const nlohmann::json& saved,
                                          const std::set<std::string>& given) {
    LRP_CHECK(saved.is_object(), "the checkpoint's settings are not a JSON object");
    static const std::set<std::string> per_run{"out", "resume", "stop-after-epoch", "stop-after-step", "device"};
    std::set<std::string> known;
#define X(key, field) known.insert(key);
    LRP_CFG_FIELDS(X)
#undef X
    nlohmann::json take = nlohmann::json::object();
    std::vector<std::string> keys;
    for (auto it = saved.begin(); it != saved.end(); ++it)
        if (known.count(it.key()) && !given.count(it.key()) && !per_run.count(it.key())) {
            take[it.key()] = it.value();
            keys.push_back(it.key());
        }
    try {
        from_json(take, c);
    } catch (const Error& e) {
        LRP_THROW("the checkpoint's settings cannot be read back: ", e.what());
    }
    for (std::vector<std::string>* rules : {&c.reldrop_rules, &c.reldrop_first_rules, &c.reldrop_layer_rules})
        for (std::string& r : *rules) r = tidy_recorded_rule(r);
    if (!saved.contains("drop-last") && !given.count("drop-last")) {  // recorded before the setting: it dropped
        c.drop_last = true;
        keys.push_back("drop-last");
    }
    if (!saved.contains("isnet-first-rule") && !given.count("isnet-first-rule")) {  // recorded before z^B existed
        c.isnet_first_rule = "epsilon";
        keys.push_back("isnet-first-rule");
    }
    return keys;
}

}  // namespace lrp::train
