// TrainConfig: every setting of `lrpcu train`, with validation and JSON round trip. The CLI fills it
// from flags and/or a JSON config file (a flag wins over the file); checkpoints store it for resume.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lrp::train {

struct TrainConfig {
    // data
    std::string dataset = "fashion-mnist";
    std::string data_dir;         // empty: the dataset's default location
    int64_t train_subset = 0;     // > 0: stratified subset of the training split
    int64_t test_subset = 0;      // > 0: first n test samples
    // > 0: set this many training images aside (stratified by class, drawn with the seed) as a validation split
    // that is never trained on; each epoch is evaluated on it, and the run reports the test accuracy of the
    // epoch with the best validation accuracy (model selection without looking at the test split)
    int64_t val_split = 0;
    int resize = 0;               // image folders: > 0 scales the shorter side to this
    int crop = 0;                 // image folders: > 0 centre-crops crop x crop (after resize)
    // data (the dataset's published constants, an image folder's training-split statistics) | imagenet |
    // M1,M2,M3/S1,S2,S3 (raw [0, 1] units; e.g. what pretrained --init-weights were trained with)
    std::string normalize = "data";
    std::string stream = "auto";  // auto (stream image folders over the limit) | on | off (resident)
    int64_t resident_limit_mb = 2048;  // --stream auto: datasets of more uint8 bytes stream
    // Decoy benchmark (Ross et al. 2017's Decoy MNIST; docs/isnet.md): a decoy_size^2 grey swatch in a corner of
    // every image, its shade that of the label (label), of a random class (random) or none; decoy applies to the
    // training (and validation) split, decoy_test to the test split when decoy is not none. Fixed by decoy_seed.
    std::string decoy = "none";         // none | label | random
    std::string decoy_test = "random";  // none | label | random
    int decoy_size = 4;
    uint64_t decoy_seed = 0;
    // model
    std::string arch = "resnet18";
    int width = 64;
    std::string init = "torchvision";
    // Pretrained weights to start from (empty: none): an lrpcu checkpoint or model file, or a PyTorch/timm
    // state_dict in safetensors. init_head: keep | reinit | normal:<std> for the classifier (init_from.h).
    std::string init_weights;
    std::string init_head = "keep";
    // schedule
    int epochs = 10;
    int batch_size = 128;
    // Leave out each epoch's last partial batch. Off: it is trained on, as PyTorch's DataLoader and the RelDrop
    // reference do (a last batch of one image is still left out: BatchNorm cannot normalise one sample). Runs
    // recorded before this setting existed dropped it, and resume so (inherit_settings).
    bool drop_last = false;
    std::string optimizer = "sgd";  // sgd | adamw
    float lr = 0.1f;
    float momentum = 0.9f;
    bool nesterov = true;
    float weight_decay = 5e-4f;
    float adam_beta1 = 0.9f, adam_beta2 = 0.999f, adam_eps = 1e-8f;  // AdamW's betas and eps (PyTorch's defaults)
    std::string schedule = "onecycle";  // constant | step | cosine | onecycle
    float warmup_epochs = 0.f;
    float min_lr = 0.f;  // cosine: the LR it anneals to (PyTorch's CosineAnnealingLR eta_min)
    // onecycle: the momentum (SGD) or beta1 (AdamW) cycles against the LR between these, as PyTorch's
    // OneCycleLR(cycle_momentum=True) does; off (the default): it stays at --momentum (--adam-beta1), as
    // cycle_momentum=False.
    bool cycle_momentum = false;
    float base_momentum = 0.85f, max_momentum = 0.95f;
    float step_gamma = 0.1f;
    int step_epochs = 30;
    float label_smoothing = 0.f;
    float clip_grad_norm = 0.f;
    // augmentation: random crop / flip (every --augment), then the input occlusion method
    // none | random-erasing | reldrop-pixel | reldrop-block | reldrop-patch | edda | isnet | rrr | sgt
    std::string augment = "none";
                                   // (crop-flip: old name of none)
    int crop_padding = 4;          // 0: no random crop
    // torchvision's RandomResizedCrop to the stored image's own size instead of the padded crop (crop_padding 0):
    // area fraction in [rrc_scale_min, rrc_scale_max], width / height log-uniform in [rrc_ratio_min, rrc_ratio_max]
    bool random_resized_crop = false;
    float rrc_scale_min = 0.08f, rrc_scale_max = 1.f, rrc_ratio_min = 0.75f, rrc_ratio_max = 4.f / 3.f;
    bool flip = true;
    float erasing_p = 0.5f;
    std::string erasing_fill = "mean";  // mean | reference (255, RelDrop's RE baseline) | zhong | raw:<v> | normalized:<v>
    float box_sl = 0.02f, box_sh = 0.4f, box_r1 = 0.3f;  // Random-Erasing box geometry (erasing, block, patch)
    int box_attempts = 100;
    // RelDrop (reldrop.md 4, 6.1): p / k of exactly -1 (unset) take the variant's reference value
    // (pixel p 0.3; block p 0.5, k 1; patch p 0.5, k 5); see resolve_defaults(). Any other value is validated.
    float reldrop_p = -1.f;
    float reldrop_alpha = 0.3f, reldrop_beta = 0.5f;
    int reldrop_k = -1;
    std::string reldrop_coin = "reference";      // reference | per_batch | per_sample
    std::string reldrop_pixel_norm = "signed_minmax";  // pixel: signed_minmax (reference) | positive_max | abs_max
    std::string reldrop_box_clip = "truncate";         // block/patch at the border: truncate (reference) | shift
    std::string reldrop_patch_count = "1";             // patch: 1 box on a random top-k centre (reference) | k boxes
    // Random erasing (--erasing-p, --erasing-fill, the --box-* geometry) on the images as well, before RelDrop's
    // attribution (reldrop.md Q16; the reference runs one or the other)
    bool reldrop_with_erasing = false;
    std::string reldrop_fill = "reference";      // reference | mean | raw:<v> | normalized:<v>
    std::string reldrop_composite = "reldrop";   // any LRP composite name
    float reldrop_epsilon = 0.f;                 // > 0: Epsilon of the composite (0: its default; reldrop 1e-3)
    std::string reldrop_target = "label";        // label | pred | label*logit | pred*logit
    // User rule maps of the composite (TYPE=RULE / NAME=RULE, as explain's --rule, --first-rule, --layer-rule)
    // and its residual mode (norm_split | copy; empty: the composite's)
    std::vector<std::string> reldrop_rules, reldrop_first_rules, reldrop_layer_rules;
    std::string reldrop_residual;
    // BatchNorm folded into the conv before it for the attribution (reldrop.md Q17): zennit_0_5_1 (the reference's,
    // with its 1/sqrt(1 + eps) residue) | exact | none
    std::string reldrop_bn_fold = "zennit_0_5_1";
    // Which samples get the attribution (reldrop.md Q7): all (the reference) | selected (those whose per-sample
    // coin selects them; the same maps up to float rounding, for a fraction of the cost)
    std::string reldrop_lrp_samples = "all";
    // reldrop.md Q19: also the accuracy on each training batch before occlusion (an eval-mode forward of the
    // weights RelDrop attributed with; one more forward per step), as train_clean_acc in the metrics
    bool log_clean_accuracy = false;
    // EDDA (--augment edda; docs/edda.md): the side of the occluded window (0: ceil(min(H, W) / 4)), the channel
    // reduction of the map (sum | abs | relu), its composite, epsilon (0: the composite's) and explained class
    // (label | pred), the salient-occluded copy's target (uniform | label | smooth:<s>), the three parts' loss
    // weights and the fill (as --reldrop-fill)
    int edda_patch = 0;
    std::string edda_reduce = "sum";
    std::string edda_composite = "reldrop";
    float edda_epsilon = 0.f;
    std::string edda_target = "label";
    std::string edda_salient_target = "uniform";
    float edda_w_clean = 1.f, edda_w_salient = 1.f, edda_w_nonsalient = 1.f;
    std::string edda_fill = "mean";
    // ISNet (--augment isnet; docs/isnet.md, isnet-edda.md Part A): the heatmap-loss weight P, the LRP-epsilon of
    // the LRP-Flex pass, the explained logit, the heatmap loss's GWRP decay, E, A, B, C1, C2 (the authors' run-script
    // defaults, A.3), and the foreground mask
    float isnet_p = 0.7f, isnet_epsilon = 1e-2f;
    std::string isnet_explain = "stochastic";  // stochastic | selective | selective-softmin | label | pred | all
    float isnet_selective_eps = 1e-2f;          // e of selective's log(p + e) - log(1 - p + e)
    std::string isnet_first_rule = "zb";        // zb (the authors' default) | epsilon; runs before it: epsilon
    bool isnet_lds = false;                     // LRP deep supervision (hidden maps' heatmap losses too)
    float isnet_lds_decay = 0.8f;               // GWRP decay over the supervised layers (the authors' dLoss)
    std::vector<std::string> isnet_lds_layers;  // the supervised modules by name (empty: ResNet stages / VGG pools)
    float isnet_decay = 0.9f, isnet_e = 1.f, isnet_a = 1.f, isnet_b = 3.f, isnet_c1 = 1.f, isnet_c2 = 25.f;
    // the foreground term above C2 (the authors' alternativeForeground): l2 (the original) | l1 | hybrid (Faster ISNet)
    std::string isnet_foreground = "l2";
    // auto: data when `masks` are given, else threshold:0.02 (resolve_defaults() records which); see parse_isnet_mask
    std::string isnet_mask = "auto";
    // --masks <dir>: segmentation masks for an image folder's images (data::FolderOptions::mask_dir: a folder
    // mirroring --data-dir, one PNG per image, nonzero = foreground), ISNet's foreground; empty: none
    std::string masks;
    // --isnet-calibrate <weights>: C1 and C2 measured on this plain model's heatmaps at the start of the run
    // (isnet-edda.md A.2; isnet_calibration.h) instead of isnet_c1/isnet_c2; empty: off
    std::string isnet_calibrate;
    // Right for the Right Reasons (--augment rrr; Ross et al. 2017, docs/rrr.md): the weight of the penalty
    // sum (background * d sum_k log p_k / d x)^2 (x in 0-255 pixel units, as the authors' code) and its foreground
    // (as --isnet-mask: auto, threshold:<v> or data; the background is the rest)
    float rrr_lambda = 1000.f;
    std::string rrr_mask = "auto";
    // Saliency Guided Training (--augment sgt; docs/sgt.md, isnet-edda.md Part C): the masked fraction of the pixels,
    // the KL weight, the saliency (gradient | an LRP composite) and its epsilon (0: the composite's), ranking by |.|,
    // the fill (random | image-mean | as --reldrop-fill) and whether the clean prediction is a detached KL target
    float sgt_frac = 0.1f, sgt_lambda = 1.f;
    std::string sgt_saliency = "gradient";
    float sgt_epsilon = 0.f;
    bool sgt_abs = false;
    std::string sgt_fill = "random";
    bool sgt_detach_clean = false;
    // run
    uint64_t seed = 0;
    std::string device = "auto";
    std::string out_dir = "runs/default";
    bool resume = false;
    int stop_after_epoch = 0;  // > 0: stop after this epoch (time-sliced jobs; continue with --resume)
    int64_t stop_after_step = 0;  // > 0: stop after this global step, mid-epoch too (continue with --resume)
    int64_t checkpoint_every = 0;  // > 0: also checkpoint every N steps inside an epoch (crash-safe long epochs)
    int log_every = 50;  // steps between progress updates (each reads the loss: one host sync)

    bool reldrop() const { return augment.rfind("reldrop-", 0) == 0; }
    std::string reldrop_variant() const { return reldrop() ? augment.substr(8) : std::string(); }
    // Fills in the variant-dependent RelDrop defaults (reldrop_p, reldrop_k == -1) and maps the
    // old augment name crop-flip to none, and resolves --isnet-mask and --rrr-mask auto. run_training() calls it before
    // validating and saving the config.
    void resolve_defaults();
    // The foreground --isnet-mask (--rrr-mask) means here: "auto" resolved (data with --masks, else threshold:0.02).
    std::string isnet_mask_spec() const { return mask_spec(isnet_mask); }
    std::string rrr_mask_spec() const { return mask_spec(rrr_mask); }
    std::string mask_spec(const std::string& spec) const;
    void validate() const;  // throws lrp::Error naming the bad setting and its allowed values
};

// --isnet-mask threshold:<v>: the raw pixel value v in [0, 1) above which (in some channel) a pixel is foreground;
// returns v. data: the dataset's masks alone (a --masks folder's, or a decoy's: all but the swatch); returns -1, a
// level every pixel exceeds. Throws naming the flag and the accepted forms (auto is resolved before this).
float parse_isnet_mask(const std::string& spec);

void to_json(nlohmann::json& j, const TrainConfig& c);
void from_json(const nlohmann::json& j, TrainConfig& c);  // unknown keys are an error naming them
// A rule assignment (KEY=RULE[:...]) as builds before 2026-12-07 accepted and recorded it, with a trailing ':' or a
// repeated clip, norm_scale or zero_bias (which changed nothing): without them, so that such a run still resumes
// (the rule parser now refuses them).
std::string tidy_recorded_rule(const std::string& spec);
// --resume: takes every setting the checkpoint recorded (`saved`) except those the user gave now (`given`:
// keys = flag names without dashes, from flags or --config) and the per-invocation ones (out, resume,
// stop-after-epoch, stop-after-step, device: the machine may differ); keys this build does not know are
// skipped. Returns the keys taken.
std::vector<std::string> inherit_settings(TrainConfig& c, const nlohmann::json& saved,
                                          const std::set<std::string>& given);

}  // namespace lrp::train
