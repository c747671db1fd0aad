// `lrpcu train`: warnings for settings given (as flags or in a --config file) that the run does not use, such
// as --warmup-epochs without the cosine schedule or --reldrop-* without RelDrop.
#include "cli_train_warnings.h"

#include <algorithm>

#include "lrp/log.h"
#include "lrp/lrp/composites.h"

namespace lrp::cli {

void warn_unused_settings(const train::TrainConfig& cfg, const std::set<std::string>& given,
                          const std::set<std::string>& file_defaults) {
    for (const std::string& k : given) {
        if (file_defaults.count(k)) continue;
        if (k == "isnet-selective-eps" && cfg.augment == "isnet" && cfg.isnet_explain != "selective")
            log_warn("--isnet-selective-eps applies with --isnet-explain selective; with --isnet-explain ",
                     cfg.isnet_explain, " it changes nothing");
        if (k == "isnet-lds" && cfg.augment == "isnet" && cfg.isnet_lds && cfg.isnet_calibrate.empty())
            log_warn("--isnet-lds without --isnet-calibrate: every hidden map takes --isnet-c1 ", cfg.isnet_c1,
                     " and --isnet-c2 ", cfg.isnet_c2, " (the authors' code requires measured cuts with LDS, one pair per ",
                     "layer: --isnet-calibrate <plain model> measures them)");
        if (k == "isnet-lds-decay" && cfg.augment == "isnet" && !cfg.isnet_lds)
            log_warn("--isnet-lds-decay applies with --isnet-lds true; without it it changes nothing");
        if ((k == "warmup-epochs" || k == "min-lr") && cfg.schedule != "cosine")
            log_warn("--", k, " applies to --schedule cosine; with --schedule ", cfg.schedule, " it changes nothing");
        if ((k == "step-epochs" || k == "step-gamma") && cfg.schedule != "step")
            log_warn("--", k, " applies to --schedule step; with --schedule ", cfg.schedule, " it changes nothing");
        if ((k == "base-momentum" || k == "max-momentum") && !cfg.cycle_momentum)
            log_warn("--", k, " applies with --cycle-momentum true; without it it changes nothing");
        if (k == "momentum" && cfg.cycle_momentum)
            log_warn("--momentum is replaced by the cycled momentum of --cycle-momentum true (--base-momentum ",
                     cfg.base_momentum, " to --max-momentum ", cfg.max_momentum, ")");
        if ((k == "momentum" || k == "nesterov") && cfg.optimizer != "sgd")
            log_warn("--", k, " applies to --optimizer sgd; with --optimizer ", cfg.optimizer, " it changes nothing");
        if (k.rfind("adam-", 0) == 0 && cfg.optimizer != "adamw")
            log_warn("--", k, " applies to --optimizer adamw; with --optimizer ", cfg.optimizer, " it changes nothing");
        if (k == "adam-beta1" && cfg.optimizer == "adamw" && cfg.cycle_momentum)
            log_warn("--adam-beta1 is replaced by the cycled beta1 of --cycle-momentum true (--base-momentum ",
                     cfg.base_momentum, " to --max-momentum ", cfg.max_momentum, ")");
        if (k.rfind("rrc-", 0) == 0 && !cfg.random_resized_crop)
            log_warn("--", k, " applies with --random-resized-crop true; without it it changes nothing");
        if ((k == "erasing-p" || k == "erasing-fill") && cfg.augment != "random-erasing" &&
            !(cfg.reldrop() && cfg.reldrop_with_erasing))
            log_warn("--", k, " applies to --augment random-erasing (or RelDrop with --reldrop-with-erasing true); with ",
                     "--augment ", cfg.augment, " it changes nothing");
        if (k == "masks" && cfg.augment != "isnet" && cfg.augment != "rrr")
            log_warn("--masks gives ISNet (or RRR) its foreground; with --augment ", cfg.augment, " they are not read");
        if (k.rfind("decoy-", 0) == 0 && cfg.decoy == "none")
            log_warn("--", k, " applies with --decoy label or random; with --decoy none it changes nothing");
        const bool edda_key = k.rfind("edda-", 0) == 0, reldrop_key = k.rfind("reldrop-", 0) == 0,
                   isnet_key = k.rfind("isnet-", 0) == 0, sgt_key = k.rfind("sgt-", 0) == 0,
                   rrr_key = k.rfind("rrr-", 0) == 0;
        if ((edda_key && cfg.augment != "edda") || (reldrop_key && !cfg.reldrop()) ||
            (isnet_key && cfg.augment != "isnet") || (sgt_key && cfg.augment != "sgt") ||
            (rrr_key && cfg.augment != "rrr"))
            log_warn("--", k, " applies to --augment ",
                     edda_key    ? "edda"
                     : isnet_key ? "isnet"
                     : sgt_key   ? "sgt"
                     : rrr_key   ? "rrr"
                                 : "reldrop-pixel|block|patch",
                     "; with --augment ", cfg.augment, " it changes nothing");
        // Torchvision's VGGs have no residual sums, and the plain ones no BatchNorm.
        const bool resnet = cfg.arch.rfind("resnet", 0) == 0,
                   batchnorm = resnet || cfg.arch.find("_bn") != std::string::npos;  // vgg11_bn, vgg11_bn_imagenet
        if (k == "reldrop-residual" && cfg.reldrop() && !resnet)
            log_warn("--reldrop-residual applies to residual sums; ", cfg.arch, " has none, it changes nothing");
        // RelDrop's variants: the pixel rule's flags, the boxes' flags (the box geometry also sizes random erasing).
        const std::string v = cfg.reldrop_variant();
        if ((k == "reldrop-alpha" || k == "reldrop-beta" || k == "reldrop-pixel-norm") && cfg.reldrop() && v != "pixel")
            log_warn("--", k, " applies to --augment reldrop-pixel; with --augment ", cfg.augment, " it changes nothing");
        if ((k == "reldrop-k" || k == "reldrop-box-clip") && v == "pixel")
            log_warn("--", k, " applies to --augment reldrop-block and reldrop-patch; with --augment reldrop-pixel it ",
                     "changes nothing");
        const bool boxes = cfg.augment == "random-erasing" || (cfg.reldrop() && (v != "pixel" || cfg.reldrop_with_erasing));
        if (k.rfind("box-", 0) == 0 && !boxes)
            log_warn("--", k, " sizes the boxes of --augment random-erasing, reldrop-block and reldrop-patch (and of "
                     "--reldrop-with-erasing true); with --augment ", cfg.augment, " it changes nothing");
        // Epsilon: a parameter of the LRP composites only (not of deconvnet, guided_backprop, beta_smooth or
        // excitation_backprop).
        auto epsilon_unused = [](const std::string& composite) {
            const std::vector<std::string> known = explain::known_composites();
            return std::find(known.begin(), known.end(), composite) != known.end() &&
                   !explain::composite_takes(composite, explain::CompositeParam::Epsilon);
        };
        if ((k == "reldrop-epsilon" && cfg.reldrop() && epsilon_unused(cfg.reldrop_composite)) ||
            (k == "edda-epsilon" && cfg.augment == "edda" && epsilon_unused(cfg.edda_composite)) ||
            (k == "sgt-epsilon" && cfg.augment == "sgt" && epsilon_unused(cfg.sgt_saliency)))
            log_warn("--", k, " is not a parameter of composite ",
                     k == "edda-epsilon" ? cfg.edda_composite
                     : k == "sgt-epsilon" ? cfg.sgt_saliency
                                          : cfg.reldrop_composite,
                     "; it changes nothing");
        if (k == "reldrop-bn-fold" && cfg.reldrop() && !batchnorm)
            log_warn("--reldrop-bn-fold applies to BatchNorm layers; ", cfg.arch, " has none, it changes nothing");
    }
}

}  // namespace lrp::cli
