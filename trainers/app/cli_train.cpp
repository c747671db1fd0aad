// `lrpcu train`: flags and/or a JSON config file (a flag wins over the file) into a TrainConfig.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "cli.h"
#include "cli_train_warnings.h"
#include "lrp/data/dataset.h"
#include "lrp/log.h"
#include "lrp/nn/json_parse.h"
#include "lrp/nn/models.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/trainer.h"

namespace lrp::cli {

namespace {
std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}
}  // namespace

void add_train_options(CLI::App& app, train::TrainConfig& c, std::string& config_path) {
    app.add_option("--config", config_path, "JSON file with any of these settings (keys = flag names without --)");
    app.add_option("--dataset", c.dataset, "dataset: " + join(data::known_datasets()))->capture_default_str();
    app.add_option("--data-dir", c.data_dir, "dataset directory (default: the dataset's standard location)");
    app.add_option("--train-subset", c.train_subset, "use a class-balanced subset of N training images (0: all)");
    app.add_option("--test-subset", c.test_subset, "evaluate on the first N test images (0: all; of an image folder, "
                                                   "whose files are sorted by class, N evenly spaced ones)");
    app.add_option("--val-split", c.val_split,
                   "set N training images aside (stratified by class, from --seed) for validation, never trained on; "
                   "the run then reports the test accuracy at the epoch of best validation accuracy and keeps those "
                   "weights in model_best_val.safetensors (0: off; --train-subset then picks from the rest)");
    app.add_option("--resize", c.resize, "image folders: scale the shorter side to N pixels (0: off)");
    app.add_option("--crop", c.crop, "image folders: centre crop N x N after --resize (0: off)");
    app.add_option("--normalize", c.normalize, "input normalisation: data (the dataset's published mean/std, an image "
                                               "folder's training-split statistics) | imagenet (torchvision's "
                                               "constants, e.g. for --init-weights trained on ImageNet) | "
                                               "M1,M2,M3/S1,S2,S3 (raw [0, 1] units); recorded for eval and explain")
        ->capture_default_str();
    app.add_option("--masks", c.masks, "image folders, --augment isnet|rrr: segmentation masks, the foreground: a "
                                       "folder mirroring --data-dir, one PNG per image at the image's relative path "
                                       "with the extension .png, of the image's size (nonzero: foreground); resized, "
                                       "cropped and flipped with its image");
    app.add_option("--stream", c.stream, "auto | on | off: stream image folders from disk instead of holding "
                                         "them on the device (auto: when over --resident-limit-mb)")
        ->capture_default_str();
    app.add_option("--resident-limit-mb", c.resident_limit_mb, "--stream auto: largest dataset (uint8 MiB) kept "
                                                               "resident on the device")
        ->capture_default_str();
    app.add_option("--decoy", c.decoy,
                   "decoy benchmark (Ross et al.'s Decoy MNIST, docs/isnet.md): none | label (a --decoy-size grey "
                   "swatch in a corner of every training image, its shade coding the label: a shortcut) | random (the "
                   "shade of a random class); --augment isnet then keeps relevance off the swatch; a --val-split is "
                   "held out of the decoyed training images")
        ->capture_default_str();
    app.add_option("--decoy-test", c.decoy_test, "with --decoy: the test split's swatch shade, random (Ross et al.'s "
                                                 "test set) | label | none")
        ->capture_default_str();
    app.add_option("--decoy-size", c.decoy_size, "with --decoy: the swatch side in pixels")->capture_default_str();
    app.add_option("--decoy-seed", c.decoy_seed, "with --decoy: which corner (and random shade) each image gets")
        ->check(non_negative())
        ->capture_default_str();
    app.add_option("--arch", c.arch, "model: " + join(nn::known_archs()))->capture_default_str();
    app.add_option("--width", c.width, "channels of the first stage (64 = standard)")->capture_default_str();
    app.add_option("--init", c.init, "weight init: torchvision | pytorch-default")->capture_default_str();
    app.add_option("--init-weights", c.init_weights,
                   "start from these weights (safetensors: an lrpcu checkpoint or model file, or a PyTorch/timm "
                   "state_dict with torchvision's names); every tensor must fit the --arch and --width built for the "
                   "data, the classifier as --init-head says");
    app.add_option("--init-head", c.init_head,
                   "with --init-weights, the classifier (last Linear layer): keep (the file's; its classes must be "
                   "the data's) | reinit (drawn as --init does) | normal:<std> (N(0, std), bias 0; the RelDrop "
                   "reference fine-tunes with normal:0.01)")
        ->capture_default_str();
    app.add_option("--epochs", c.epochs, "number of epochs")->capture_default_str();
    app.add_option("--batch-size", c.batch_size, "batch size")->capture_default_str();
    app.add_option("--drop-last", c.drop_last, "leave out each epoch's last partial batch (true/false; false: it is "
                                               "trained on, as PyTorch does, unless it holds one image)")
        ->capture_default_str();
    app.add_option("--optimizer", c.optimizer, "sgd | adamw")->capture_default_str();
    app.add_option("--lr", c.lr, "peak learning rate (--optimizer adamw without --lr: 0.001, PyTorch's AdamW default)")
        ->capture_default_str();
    app.add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
    app.add_option("--nesterov", c.nesterov, "SGD Nesterov momentum (true/false)")->capture_default_str();
    app.add_option("--weight-decay", c.weight_decay, "weight decay of every parameter, BatchNorm's and biases too, as "
                                                     "torch.optim over model.parameters() (decoupled for AdamW; "
                                                     "--optimizer adamw without --weight-decay: 0.01, PyTorch's AdamW "
                                                     "default)")
        ->capture_default_str();
    app.add_option("--adam-beta1", c.adam_beta1, "AdamW beta1 (the gradient's running-average coefficient)")
        ->capture_default_str();
    app.add_option("--adam-beta2", c.adam_beta2, "AdamW beta2 (the squared gradient's running-average coefficient)")
        ->capture_default_str();
    app.add_option("--adam-eps", c.adam_eps, "AdamW eps (added to the root of the second moment)")->capture_default_str();
    app.add_option("--schedule", c.schedule, "LR schedule: constant | step | cosine | onecycle")->capture_default_str();
    app.add_option("--warmup-epochs", c.warmup_epochs, "linear warmup (cosine schedule)")->capture_default_str();
    app.add_option("--min-lr", c.min_lr, "cosine schedule: the LR it anneals to at the end (PyTorch's eta_min)")
        ->capture_default_str();
    app.add_option("--cycle-momentum", c.cycle_momentum, "onecycle: cycle the momentum (SGD) or beta1 (AdamW) against "
                                                          "the LR, from --max-momentum down to --base-momentum and back, "
                                                          "as PyTorch's OneCycleLR does by default (false: it stays at "
                                                          "--momentum or --adam-beta1: cycle_momentum=False)")
        ->capture_default_str();
    app.add_option("--base-momentum", c.base_momentum, "--cycle-momentum: the lowest momentum (at the peak LR)")
        ->capture_default_str();
    app.add_option("--max-momentum", c.max_momentum, "--cycle-momentum: the highest momentum (at the start and end)")
        ->capture_default_str();
    app.add_option("--step-epochs", c.step_epochs, "step schedule: epochs between decays")->capture_default_str();
    app.add_option("--step-gamma", c.step_gamma, "step schedule: decay factor")->capture_default_str();
    app.add_option("--label-smoothing", c.label_smoothing, "label smoothing in [0, 1)")->capture_default_str();
    app.add_option("--clip-grad-norm", c.clip_grad_norm, "clip the global gradient norm (0: off)")->capture_default_str();
    app.add_option("--augment", c.augment, "training method after crop/flip: none | random-erasing | reldrop-pixel | "
                                           "reldrop-block | reldrop-patch | edda (docs/edda.md) | isnet (not an "
                                           "augmentation: ISNet's heatmap loss, docs/isnet.md) | rrr (Right for the "
                                           "Right Reasons' input-gradient penalty, docs/rrr.md) | sgt (Saliency "
                                           "Guided Training, docs/sgt.md)")->capture_default_str();
    app.add_option("--crop-padding", c.crop_padding, "random-crop padding in pixels (0: no crop)")->capture_default_str();
    app.add_option("--random-resized-crop", c.random_resized_crop,
                   "torchvision's RandomResizedCrop instead of the padded crop (true/false): a random window of the "
                   "stored image (after --resize/--crop) resampled bilinearly to its size; --crop-padding becomes 0")
        ->capture_default_str();
    app.add_option("--rrc-scale-min", c.rrc_scale_min, "--random-resized-crop: smallest window area (fraction)")
        ->capture_default_str();
    app.add_option("--rrc-scale-max", c.rrc_scale_max, "--random-resized-crop: largest window area (fraction)")
        ->capture_default_str();
    app.add_option("--rrc-ratio-min", c.rrc_ratio_min, "--random-resized-crop: smallest width / height")
        ->capture_default_str();
    app.add_option("--rrc-ratio-max", c.rrc_ratio_max, "--random-resized-crop: largest width / height")
        ->capture_default_str();
    app.add_option("--flip", c.flip, "random horizontal flips (true/false; --dataset mnist without --flip: false)")
        ->capture_default_str();
    app.add_option("--erasing-p", c.erasing_p, "random-erasing: probability per image")->capture_default_str();
    app.add_option("--erasing-fill", c.erasing_fill, "random-erasing fill: mean (0 normalised) | reference (255 "
                                                     "normalised, RelDrop's RE baseline) | zhong | raw:<v> | normalized:<v>")
        ->capture_default_str();
    app.add_option("--box-sl", c.box_sl, "erasing/block/patch: smallest box area (fraction of the image)")
        ->capture_default_str();
    app.add_option("--box-sh", c.box_sh, "erasing/block/patch: largest box area (fraction)")->capture_default_str();
    app.add_option("--box-r1", c.box_r1, "erasing/block/patch: aspect ratio range [r1, 1/r1]")->capture_default_str();
    app.add_option("--box-attempts", c.box_attempts, "erasing/block/patch: box size attempts")->capture_default_str();
    app.add_option("--reldrop-p", c.reldrop_p, "RelDrop: coin probability (default -1: pixel 0.3, block/patch 0.5)");
    app.add_option("--reldrop-alpha", c.reldrop_alpha, "RelDrop pixel: weight of the noise")->capture_default_str();
    app.add_option("--reldrop-beta", c.reldrop_beta, "RelDrop pixel: drop iff alpha*u + (1-alpha)*rn >= 1 - beta")
        ->capture_default_str();
    app.add_option("--reldrop-k", c.reldrop_k, "RelDrop block/patch: top-k candidate centres (default -1: block 1, "
                                               "patch 5; patch area = box area / k)");
    app.add_option("--reldrop-coin", c.reldrop_coin, "RelDrop: reference (pixel per sample, block/patch per batch) | "
                                                     "per_batch | per_sample")->capture_default_str();
    app.add_option("--reldrop-pixel-norm", c.reldrop_pixel_norm,
                   "RelDrop pixel: how the map becomes rn in [0, 1]: signed_minmax (the reference: (v - min) / (max - "
                   "min), zero relevance lands mid-range) | positive_max (max(v, 0) / max) | abs_max (|v| / max |v|)")
        ->capture_default_str();
    app.add_option("--reldrop-box-clip", c.reldrop_box_clip,
                   "RelDrop block/patch: a box crossing the image border is truncated (the reference) | shift (moved "
                   "inside whole, keeping its size)")
        ->capture_default_str();
    app.add_option("--reldrop-patch-count", c.reldrop_patch_count,
                   "RelDrop patch: 1 box of area / k on a random one of the top-k centres (the reference) | k (one such "
                   "box on each centre)")
        ->capture_default_str();
    app.add_option("--reldrop-with-erasing", c.reldrop_with_erasing,
                   "RelDrop: random-erase the images as well (--erasing-p, --erasing-fill, --box-*), before the "
                   "attribution (true/false; the reference runs one or the other)")
        ->capture_default_str();
    app.add_option("--reldrop-fill", c.reldrop_fill, "RelDrop fill: reference (raw MEAN written into the normalised "
                                                     "tensor) | mean (0 normalised) | raw:<v> | normalized:<v>")
        ->capture_default_str();
    app.add_option("--reldrop-composite", c.reldrop_composite, "RelDrop: LRP composite of the attribution pass")
        ->capture_default_str();
    app.add_option("--reldrop-epsilon", c.reldrop_epsilon, "RelDrop: Epsilon of the composite (0: its default, "
                                                           "reldrop 1e-3)")->capture_default_str();
    app.add_option("--reldrop-target", c.reldrop_target,
                   "RelDrop: relevance of the label or the pred class (one-hot); label*logit, pred*logit: one-hot x "
                   "that logit")
        ->capture_default_str();
    app.add_option("--reldrop-rule", c.reldrop_rules, "RelDrop: TYPE=RULE, repeatable: a rule ahead of the "
                                                      "composite's layer map (as explain --rule)");
    app.add_option("--reldrop-first-rule", c.reldrop_first_rules, "RelDrop: TYPE=RULE, repeatable: as explain "
                                                                  "--first-rule (the first layer any entry matches)");
    app.add_option("--reldrop-layer-rule", c.reldrop_layer_rules, "RelDrop: NAME=RULE, repeatable: the rule of one "
                                                                  "layer by name (as explain --layer-rule)");
    app.add_option("--reldrop-residual", c.reldrop_residual, "RelDrop: residual sums norm_split | copy (default: the "
                                                             "composite's; reldrop copies)");
    app.add_option("--reldrop-bn-fold", c.reldrop_bn_fold,
                   "RelDrop: BatchNorm folded into the conv before it for the attribution: zennit_0_5_1 (the "
                   "reference's, with zennit's 1/sqrt(1 + eps) residue) | exact (the standard fold) | none")
        ->capture_default_str();
    app.add_option("--reldrop-lrp-samples", c.reldrop_lrp_samples,
                   "RelDrop with per-sample coins (pixel; --reldrop-coin per_sample): attribute all samples (the "
                   "reference) | selected (only those a coin selects: the same masks up to float rounding, for a fraction of "
                   "the pass)")
        ->capture_default_str();
    app.add_option("--log-clean-accuracy", c.log_clean_accuracy,
                   "RelDrop: also measure each training batch before occlusion (eval mode, the weights RelDrop "
                   "attributed with; one more forward per step): train_clean_acc in metrics.jsonl (true/false)")
        ->capture_default_str();
    app.add_option("--edda-patch", c.edda_patch, "EDDA: side of the occluded square window (0: a quarter of the "
                                                 "smaller image side, rounded up)")->capture_default_str();
    app.add_option("--edda-reduce", c.edda_reduce, "EDDA: channel reduction of the relevance map: sum (signed) | abs | "
                                                   "relu")->capture_default_str();
    app.add_option("--edda-composite", c.edda_composite, "EDDA: LRP composite of the attribution pass")
        ->capture_default_str();
    app.add_option("--edda-epsilon", c.edda_epsilon, "EDDA: Epsilon of the composite (0: its default)")
        ->capture_default_str();
    app.add_option("--edda-target", c.edda_target, "EDDA: the class explained: label | pred")->capture_default_str();
    app.add_option("--edda-salient-target", c.edda_salient_target,
                   "EDDA: target of the copy whose most relevant window is occluded: uniform (1/K) | label | "
                   "smooth:<s> ((1 - s) one-hot + s/K)")
        ->capture_default_str();
    app.add_option("--edda-w-clean", c.edda_w_clean, "EDDA: loss weight of the clean images")->capture_default_str();
    app.add_option("--edda-w-salient", c.edda_w_salient, "EDDA: loss weight of the salient-occluded copies")
        ->capture_default_str();
    app.add_option("--edda-w-nonsalient", c.edda_w_nonsalient, "EDDA: loss weight of the non-salient-occluded copies "
                                                               "(target: the label)")->capture_default_str();
    app.add_option("--edda-fill", c.edda_fill, "EDDA fill: mean (0 normalised) | reference | raw:<v> | normalized:<v>")
        ->capture_default_str();
    app.add_option("--isnet-p", c.isnet_p, "ISNet: weight P of the heatmap loss, (1 - P) CE + P L_heat, in [0, 1)")
        ->capture_default_str();
    app.add_option("--isnet-epsilon", c.isnet_epsilon, "ISNet: LRP-epsilon of the LRP-Flex heatmap")
        ->capture_default_str();
    app.add_option("--isnet-explain", c.isnet_explain, "ISNet: what the heatmap explains: stochastic (the arg-max "
                                                       "logit or, half the time, another class) | selective (Selective "
                                                       "ISNet: log(p + e) - log(1 - p + e) of the lowest logit's "
                                                       "probability p, as LRP-Flex) | selective-softmin (the same "
                                                       "logit by the LRP Block's softmin over the logit differences) "
                                                       "| label | pred | all (the original "
                                                       "ISNet: one map per class, a pass per class each step)")
        ->capture_default_str();
    app.add_option("--isnet-selective-eps", c.isnet_selective_eps, "ISNet: e of --isnet-explain selective")
        ->capture_default_str();
    app.add_option("--isnet-first-rule", c.isnet_first_rule, "ISNet: the heatmap's first-layer rule: zb (the authors' "
                                                              "default: z^B with the bounds raw 0 and 1) | epsilon "
                                                              "(LRP-epsilon down to the raw input)")->capture_default_str();
    app.add_option("--isnet-lds", c.isnet_lds, "ISNet: LRP deep supervision (the authors' penalizeAll): the heatmap "
                                               "loss also on the LRP-Flex maps at hidden layers (ResNet: each stage's "
                                               "output; VGG: each max-pool's), the mask shrunk to each (true/false)")
        ->capture_default_str();
    app.add_option("--isnet-lds-layers", c.isnet_lds_layers, "ISNet --isnet-lds: the supervised layers by module name "
                                                             "(comma list, e.g. layer1.0,layer1.1,layer2; each must "
                                                             "end in a ReLU or a max-pool after one; default: ResNet "
                                                             "stages, VGG max-pools)")
        ->delimiter(',');
    app.add_option("--isnet-lds-decay", c.isnet_lds_decay, "ISNet --isnet-lds: GWRP decay over the layers' losses, "
                                                           "worst first, in [0, 1] (the authors' dLoss; 1: the mean)")
        ->capture_default_str();
    app.add_option("--isnet-decay", c.isnet_decay, "ISNet: GWRP decay of the background peak, in [0, 1] (0: maximum, "
                                                   "1: mean)")->capture_default_str();
    app.add_option("--isnet-foreground", c.isnet_foreground, "ISNet: the foreground term above C2 (the authors' "
                                                              "alternativeForeground): l2 (the original: ((F - C2) / "
                                                              "C1)^2) | l1 (F - C2) | hybrid (Faster ISNet: l2 up to "
                                                              "C1 + C2, then F - C1 - C2 + 1)")
        ->capture_default_str();
    app.add_option("--isnet-e", c.isnet_e, "ISNet: E of the background activation g / (g + E)")->capture_default_str();
    app.add_option("--isnet-a", c.isnet_a, "ISNet: weight of the background term")->capture_default_str();
    app.add_option("--isnet-b", c.isnet_b, "ISNet: weight of the foreground-range term")->capture_default_str();
    app.add_option("--isnet-c1", c.isnet_c1, "ISNet: lower end of the foreground relevance total")->capture_default_str();
    app.add_option("--isnet-c2", c.isnet_c2, "ISNet: upper end of the foreground relevance total")->capture_default_str();
    app.add_option("--isnet-calibrate", c.isnet_calibrate,
                   "ISNet: measure C1 and C2 on the heatmaps of this plain model (weights of the same --arch and "
                   "--width, e.g. the model.safetensors of a short --augment none run on the same data) before "
                   "training, as the authors' tuneCut (docs/isnet.md): C1 = max(mean/5, mean - 3 stdev), C2 = "
                   "min(25 C1, mean + 3 stdev) of the per-image totals of |R|; replaces --isnet-c1/--isnet-c2");
    app.add_option("--isnet-mask", c.isnet_mask, "ISNet foreground: threshold:<v>, pixels whose raw value exceeds v "
                                                 "in some channel (objects on a dark background), except a --decoy "
                                                 "swatch; data: the dataset's masks alone (--masks, or a --decoy's: "
                                                 "all but the swatch); auto: data with --masks, else threshold:0.02")
        ->capture_default_str();
    app.add_option("--rrr-lambda", c.rrr_lambda, "RRR: weight of the penalty on the input gradient of sum_k log p_k "
                                                 "over the background (pixels in 0-255 units, as Ross et al.'s code; "
                                                 "their Decoy MNIST value)")->capture_default_str();
    app.add_option("--rrr-mask", c.rrr_mask, "RRR foreground, as --isnet-mask (the penalty covers the rest)")
        ->capture_default_str();
    app.add_option("--sgt-frac", c.sgt_frac, "SGT: fraction of the pixels masked per image, in (0, 1] (the authors' "
                                             "--featuresDroped)")->capture_default_str();
    app.add_option("--sgt-lambda", c.sgt_lambda, "SGT: weight of KL(clean || masked) in the loss")->capture_default_str();
    app.add_option("--sgt-saliency", c.sgt_saliency, "SGT: what ranks the pixels: gradient (the input gradient of the "
                                                     "label's logit), logprob-gradient (of its log-probability, as "
                                                     "the authors' MNIST net) or a composite name (an LRP one, or deconvnet, guided_backprop, beta_smooth)")
        ->capture_default_str();
    app.add_option("--sgt-epsilon", c.sgt_epsilon, "SGT: Epsilon of an LRP saliency's composite (0: its default)")
        ->capture_default_str();
    app.add_option("--sgt-abs", c.sgt_abs, "SGT: rank by |saliency| (the authors' --abs; false: by the signed value)")
        ->capture_default_str();
    app.add_option("--sgt-fill", c.sgt_fill, "SGT fill: random (uniform in the image channel's [min, max], the "
                                             "authors' --RandomMasking) | image-mean | mean | reference | raw:<v> | "
                                             "normalized:<v>")->capture_default_str();
    app.add_option("--sgt-detach-clean", c.sgt_detach_clean, "SGT: the clean prediction as a constant KL target (the "
                                                             "authors differentiate through it)")->capture_default_str();
    app.add_option("--seed", c.seed, "random seed (same seed, same result)")->check(non_negative())->capture_default_str();
    app.add_option("--device", c.device, "auto | cpu | cuda | cuda:N")->capture_default_str();
    app.add_option("--out", c.out_dir, "output directory (metrics, checkpoints, weights)")->capture_default_str();
    app.add_flag("--resume", c.resume, "continue from <out>/checkpoint.safetensors with the settings it recorded; "
                                       "flags given now must agree, except --epochs, --device (default auto, not "
                                       "the recorded one), --data-dir, --masks (another folder, not none instead "
                                       "of one), --log-every, --checkpoint-every, --stream, --resident-limit-mb, "
                                       "which replace the recorded values (--init-weights is not read again); "
                                       "without a checkpoint it starts a new run only when a flag other than these "
                                       "describes one");
    app.add_option("--log-every", c.log_every, "steps between progress updates")->capture_default_str();
    app.add_option("--stop-after-epoch", c.stop_after_epoch, "stop after epoch N (continue later with --resume)");
    app.add_option("--checkpoint-every", c.checkpoint_every,
                   "also checkpoint every N steps inside an epoch, so a crash loses at most N steps (0: at the end of "
                   "each epoch only)");
    app.add_option("--stop-after-step", c.stop_after_step,
                   "stop after global step N with a mid-epoch checkpoint (continue later with --resume; Ctrl-C or "
                   "SIGTERM do the same at the current step)");
}

// A run's config.json records the defaults it resolved for its method (RelDrop's p and k per variant, the mask spec
// of ISNet/RRR per --masks). Given back with another --augment or --masks on the command line, such a key (not given
// now) takes the new method's default instead of the old one's: reset to unresolved, with a note.
static void reresolve_file_defaults(train::TrainConfig& cfg, const std::set<std::string>& file_defaults,
                             const nlohmann::json& file_resolved) {
    nlohmann::json now, dflt, resolved;
    train::to_json(now, cfg);
    train::to_json(dflt, train::TrainConfig{});
    train::TrainConfig r;
    r.augment = cfg.augment, r.masks = cfg.masks;
    r.resolve_defaults();
    train::to_json(resolved, r);
    auto show = [](const nlohmann::json& v) {
        char b[32];
        if (!v.is_number_float()) return v.dump();
        std::snprintf(b, sizeof b, "%g", v.get<double>());
        return std::string(b);
    };
    bool changed = false;
    for (const std::string& k : file_defaults) {
        if (!now.contains(k) || !dflt.contains(k) || !resolved.contains(k) || !file_resolved.contains(k)) continue;
        if (now[k] != file_resolved[k] || now[k] == dflt[k] || resolved[k] == file_resolved[k]) continue;
        const bool used = k.rfind("reldrop-", 0) == 0 ? cfg.reldrop()
                          : k == "isnet-mask"         ? cfg.augment == "isnet"
                          : k == "rrr-mask"           ? cfg.augment == "rrr"
                                                      : true;
        if (!used) continue;  // a setting of a method this run does not use: as the file has it, without a note
        std::printf("--config: the file's %s %s is the default of its --augment/--masks; with --augment %s%s this run "
                    "takes %s\n", k.c_str(), show(now[k]).c_str(), cfg.augment.c_str(),
                    cfg.masks.empty() ? "" : (" --masks " + cfg.masks).c_str(), show(resolved[k]).c_str());
        now[k] = dflt[k];
        changed = true;
    }
    if (changed) train::from_json(now, cfg);
}

int run_train(const std::vector<std::string>& args) {
    // Pass 1: find --config. Pass 2: parse the flags over the values from the file, so flags win.
    train::TrainConfig cfg;
    std::string config_path;
    {
        CLI::App probe;
        probe.allow_extras();
        probe.add_option("--config", config_path);
        probe.set_help_flag();
        parse_args(probe, args, /*quiet=*/true, /*keep_empty_text=*/true);
    }
    std::set<std::string> given;  // settings the user gave now (flags or the config file)
    // Keys of the config file that hold the default value (a run's config.json records every setting): they are not
    // warned about as settings of an unused method.
    std::set<std::string> file_defaults;
    nlohmann::json file_resolved;  // the defaults resolved for the file's method and masks
    std::string file_augment, file_optimizer, file_dataset;  // the file's --augment, --optimizer, --dataset ("": none)
    bool file_rrc = false;                                    // the file's --random-resized-crop (false: none)
    std::set<std::string> file_keys, cli_keys;  // settings the config file holds; settings given as flags
    if (!config_path.empty()) {
        LRP_CHECK(!std::filesystem::is_directory(config_path), "--config: '", config_path, "' is a directory, not a ",
                  "JSON file");
        std::ifstream in(config_path);
        LRP_CHECK(in.good(), "--config: cannot read '", config_path, "'");
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        nlohmann::json j;
        try {
            j = nn::parse_json_limited(text, "--config '" + config_path + "'");
        } catch (const nlohmann::json::exception& e) {
            LRP_THROW("--config '", config_path, "' is not valid JSON: ", e.what());
        }
        train::from_json(j, cfg);
        file_augment = j.is_object() && j.contains("augment") ? cfg.augment : "";
        file_optimizer = j.is_object() && j.contains("optimizer") ? cfg.optimizer : "";
        file_dataset = j.is_object() && j.contains("dataset") ? cfg.dataset : "";
        file_rrc = j.is_object() && j.contains("random-resized-crop") && cfg.random_resized_crop;
        // The defaults as given and as a run records them (resolved for the file's method and masks).
        nlohmann::json read, dflt, resolved;
        train::to_json(read, cfg);  // the file's values as the settings hold them (floats rounded alike)
        train::to_json(dflt, train::TrainConfig{});
        train::TrainConfig r;
        r.augment = cfg.augment, r.masks = cfg.masks;
        r.resolve_defaults();
        train::to_json(resolved, r);
        file_resolved = resolved;
        if (j.is_object())
            for (auto it = j.begin(); it != j.end(); ++it) {
                const std::string& k = it.key();
                given.insert(k);
                file_keys.insert(k);
                if (read.contains(k) && (read[k] == dflt.value(k, nlohmann::json()) ||
                                         read[k] == resolved.value(k, nlohmann::json())))
                    file_defaults.insert(k);
            }
    }
    CLI::App app("Train a ResNet/VGG classifier.", "lrpcu train");
    add_train_options(app, cfg, config_path);
    if (int rc = parse_args(app, args, /*quiet=*/false, /*keep_empty_text=*/true); rc >= 0) return rc;
    for (const CLI::Option* o : app.get_options())
        if (o->count() > 0)
            for (const std::string& n : o->get_lnames()) given.insert(n), cli_keys.insert(n), file_defaults.erase(n);
    if (!config_path.empty()) reresolve_file_defaults(cfg, file_defaults, file_resolved);
    // --resume continues with the checkpoint's settings; what is given now must agree (run_training checks).
    const std::string ckpt = (std::filesystem::path(cfg.out_dir) / "checkpoint.safetensors").string();
    if (cfg.resume && !std::filesystem::exists(ckpt)) {  // a new run then, but only one the user described
        train::check_out_not_in_use(cfg.out_dir);  // a run that has no checkpoint yet: "in use", not "none"
        // (flags a resume may change describe no run: `--resume --epochs 30` with a mistyped --out starts none)
        static const std::set<std::string> per_run{
            "out",    "resume", "device", "log-every", "config",           "checkpoint-every", "stop-after-epoch",
            "stop-after-step", "epochs", "data-dir", "masks", "stream", "resident-limit-mb"};
        bool described = false;
        for (const std::string& k : given) described = described || !per_run.count(k);
        LRP_CHECK(described, "--resume: there is no checkpoint in '", cfg.out_dir, "' to continue (is --out right?), ",
                  "and only flags that a resume may change were given, none that describes a new run (give one, e.g. ",
                  "--dataset, to start a new run with --resume)");
    }
    if (cfg.resume && std::filesystem::exists(ckpt)) {
        train::inherit_settings(cfg, train::read_checkpoint_state(ckpt).config, given);
        std::printf("--resume: continuing with the settings recorded in %s (%d epochs, data %s; a flag given now "
                    "must agree with them, except --epochs, --device, --data-dir, --masks, --stream, "
                    "--resident-limit-mb and the logging/checkpoint flags)\n",
                    ckpt.c_str(), cfg.epochs, data::data_location(cfg.dataset, cfg.data_dir).c_str());
    }
    // Defaults that follow a choice of the run, for a new run: ISNet's authors clip the gradient norm at 1 in every
    // script (their README: without it training diverges); AdamW takes PyTorch's lr 1e-3 and weight decay 1e-2
    // (SGD's 0.1 and 5e-4 made it diverge). A flag given now wins. A --config file's value is kept, unless the file
    // names another choice (optimizer, augment) and the value is that choice's default: a run's config.json records
    // every setting, so the file of an SGD run holds lr 0.1 and that of an ISNet run clip-grad-norm 1.
    const bool new_run = !(cfg.resume && std::filesystem::exists(ckpt));
    auto choice_default = [&](const char* key, bool chosen, const std::string& file_choice, bool file_chose,
                              float& value, float on, float off, const char* why) {
        if (!new_run || cli_keys.count(key)) return;
        const bool from_file = file_keys.count(key) > 0;
        if (from_file && (file_choice.empty() || file_chose == chosen || value != (file_chose ? on : off))) return;
        const float to = chosen ? on : off;
        if (value == to) return;
        const float was = value;
        value = to;
        if (chosen)
            std::printf("--%s %g (%s%s; give --%s to choose another)\n", key, to, why,
                        from_file ? "; the --config file's value is the default of a run without it" : "", key);
        else
            std::printf("--%s %g (the --config file's %g is the default of its run's choice, %s, which this run does "
                        "not make; give --%s to choose another)\n", key, to, was, why, key);
    };
    choice_default("clip-grad-norm", cfg.augment == "isnet", file_augment, file_augment == "isnet", cfg.clip_grad_norm,
                   1.f, 0.f, "ISNet: the authors' setting");
    choice_default("lr", cfg.optimizer == "adamw", file_optimizer, file_optimizer == "adamw", cfg.lr, 1e-3f,
                   train::TrainConfig{}.lr, "AdamW: PyTorch's default");
    choice_default("weight-decay", cfg.optimizer == "adamw", file_optimizer, file_optimizer == "adamw",
                   cfg.weight_decay, 1e-2f, train::TrainConfig{}.weight_decay, "AdamW: PyTorch's default");
    // MNIST's digits are not flipped unless asked (a mirrored 2, 3, 4, 5, 7 or 9 is no digit; torchvision's MNIST
    // recipes do not flip). Fashion-MNIST's garments and the other datasets flip by default. A --config file's flip
    // true counts as asked only from an MNIST run's file (another dataset's file records its default).
    const bool file_asks_flip = file_keys.count("flip") && (file_dataset == "mnist" || file_dataset.empty());
    if (new_run && cfg.dataset == "mnist" && cfg.flip && !cli_keys.count("flip") && !file_asks_flip) {
        cfg.flip = false;
        std::printf("--flip false (MNIST: a mirrored digit is no digit; give --flip true to flip)\n");
    }
    // The resized crop replaces the padded one: a padding not given now gives way, also a --config file's, unless
    // that file asks for both (refused below); and a --config file's 0 of a resized-crop run gives way to the padded
    // crop's default when this run has none.
    if (new_run && !cli_keys.count("crop-padding")) {
        const bool file_pad = file_keys.count("crop-padding") > 0;
        if (cfg.random_resized_crop && cfg.crop_padding != 0 && !(file_pad && file_rrc)) {
            cfg.crop_padding = 0;
            std::printf("--crop-padding 0 (--random-resized-crop replaces the padded random crop)\n");
        } else if (!cfg.random_resized_crop && file_rrc && file_pad && cfg.crop_padding == 0) {
            cfg.crop_padding = train::TrainConfig{}.crop_padding;
            std::printf("--crop-padding %d (the --config file's 0 went with its run's --random-resized-crop, "
                        "which this run does not use; give --crop-padding to choose another)\n", cfg.crop_padding);
        }
    }
    warn_unused_settings(cfg, given, file_defaults);
    train::TrainSummary s = train::run_training(cfg);
    if (s.stopped) {
        std::printf("stopped early after %.1f s; outputs in %s\n", s.seconds, cfg.out_dir.c_str());
        return s.signal ? 128 + s.signal : 0;  // the shell's convention for a signal
    }
    std::printf("final test accuracy: %.2f%% (epoch %lld)\nbest test accuracy: %.2f%% (epoch %lld)\n",
                100 * s.final_test_acc, (long long)s.epochs, 100 * s.best_test_acc, (long long)s.best_epoch);
    if (s.best_val_epoch > 0)
        std::printf("test accuracy at the best validation epoch: %.2f%% (epoch %lld, validation accuracy %.2f%%; "
                    "weights in model_best_val.safetensors)\n",
                    100 * s.test_acc_at_best_val, (long long)s.best_val_epoch, 100 * s.best_val_acc);
    std::printf("wall time: %.1f s; outputs in %s\n", s.seconds, cfg.out_dir.c_str());
    return 0;
}

}  // namespace lrp::cli
