// TrainConfig validation and its JSON form (keys are the CLI flag names without dashes).
#include "lrp/train/config.h"

#include <set>

#include "lrp/error.h"

namespace lrp::train {

void TrainConfig::validate() const {
    LRP_CHECK(epochs >= 1, "--epochs must be >= 1 (got ", epochs, ")");
    LRP_CHECK(batch_size >= 1, "--batch-size must be >= 1 (got ", batch_size, ")");
    LRP_CHECK(width >= 1, "--width must be >= 1 (got ", width, ")");
    LRP_CHECK(optimizer == "sgd" || optimizer == "adamw", "--optimizer must be sgd or adamw (got '", optimizer, "')");
    LRP_CHECK(lr >= 0 && lr < 1e3, "--lr must be in [0, 1000) (got ", lr, ")");
    LRP_CHECK(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1) (got ", momentum, ")");
    LRP_CHECK(!nesterov || optimizer != "sgd" || momentum > 0, "--nesterov needs --momentum > 0");
    LRP_CHECK(weight_decay >= 0, "--weight-decay must be >= 0 (got ", weight_decay, ")");
    LRP_CHECK(warmup_epochs >= 0 && warmup_epochs < epochs, "--warmup-epochs must be in [0, epochs) (got ",
              warmup_epochs, ")");
    LRP_CHECK(step_epochs >= 1, "--step-epochs must be >= 1");
    LRP_CHECK(label_smoothing >= 0 && label_smoothing < 1, "--label-smoothing must be in [0, 1)");
    LRP_CHECK(clip_grad_norm >= 0, "--clip-grad-norm must be >= 0");
    LRP_CHECK(augment == "none" || augment == "crop-flip" || augment == "random-erasing",
              "--augment must be none, crop-flip or random-erasing (got '", augment, "')");
    LRP_CHECK(crop_padding >= 0 && crop_padding <= 16, "--crop-padding must be in [0, 16]");
    LRP_CHECK(erasing_p >= 0 && erasing_p <= 1, "--erasing-p must be in [0, 1]");
    LRP_CHECK(train_subset >= 0 && test_subset >= 0, "--train-subset/--test-subset must be >= 0");
    LRP_CHECK(log_every >= 1, "--log-every must be >= 1");
    LRP_CHECK(stop_after_epoch >= 0, "--stop-after-epoch must be >= 0");
    LRP_CHECK(!out_dir.empty(), "--out must not be empty");
    LRP_CHECK(init == "torchvision" || init == "pytorch-default", "--init must be torchvision or pytorch-default");
    LRP_CHECK(stream == "auto" || stream == "on" || stream == "off", "--stream must be auto, on or off (got '",
              stream, "')");
    LRP_CHECK(stream != "on" || dataset == "folder", "--stream on: only image folders (--dataset folder) can ",
              "stream; '", dataset, "' is loaded whole (use --stream auto or off)");
    LRP_CHECK(resident_limit_mb >= 0, "--resident-limit-mb must be >= 0 (got ", resident_limit_mb, ")");
    LRP_CHECK(resize >= 0 && crop >= 0, "--resize and --crop must be >= 0 (0 = off)");
    LRP_CHECK((resize == 0 && crop == 0) || dataset == "folder", "--resize/--crop apply to --dataset folder only");
}

#define LRP_CFG_FIELDS(X)                                                                                   \
    X("dataset", dataset) X("data-dir", data_dir) X("train-subset", train_subset) X("test-subset", test_subset) \
    X("resize", resize) X("crop", crop) X("stream", stream) X("resident-limit-mb", resident_limit_mb)          \
    X("arch", arch) X("width", width) X("init", init) X("epochs", epochs) X("batch-size", batch_size)          \
    X("optimizer", optimizer) X("lr", lr) X("momentum", momentum) X("nesterov", nesterov)                      \
    X("weight-decay", weight_decay) X("schedule", schedule) X("warmup-epochs", warmup_epochs)                  \
    X("step-gamma", step_gamma) X("step-epochs", step_epochs) X("label-smoothing", label_smoothing)            \
    X("clip-grad-norm", clip_grad_norm) X("augment", augment) X("crop-padding", crop_padding) X("flip", flip)  \
    X("erasing-p", erasing_p) X("seed", seed) X("device", device) X("out", out_dir) X("log-every", log_every) X("stop-after-epoch", stop_after_epoch)

void to_json(nlohmann::json& j, const TrainConfig& c) {
    j = nlohmann::json::object();
#define X(key, field) j[key] = c.field;
    LRP_CFG_FIELDS(X)
#undef X
}

void from_json(const nlohmann::json& j, TrainConfig& c) {
    LRP_CHECK(j.is_object(), "config must be a JSON object");
    std::set<std::string> known;
#define X(key, field) known.insert(key);
    LRP_CFG_FIELDS(X)
#undef X
    for (auto it = j.begin(); it != j.end(); ++it)
        LRP_CHECK(known.count(it.key()) || it.key() == "resume", "unknown config key '", it.key(), "'");
    try {
#define X(key, field) \
    if (j.contains(key)) j.at(key).get_to(c.field);
        LRP_CFG_FIELDS(X)
#undef X
    } catch (const nlohmann::json::exception& e) {
        LRP_THROW("config: ", e.what());
    }
}

}  // namespace lrp::train
