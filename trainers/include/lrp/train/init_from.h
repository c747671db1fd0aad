// Starting a run from pretrained weights (`lrpcu train --init-weights FILE --init-head MODE`): the model
// takes every tensor of FILE (an lrpcu checkpoint or model file, or a PyTorch/timm state_dict in safetensors),
// and its classifier either keeps the file's values or is initialised anew (reldrop.md Q18: the reference
// fine-tunes a backbone trained on the same data with the classifier drawn from N(0, 0.01), bias 0).
#pragma once
#include <string>

#include "lrp/nn/module.h"
#include "lrp/generator.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/config.h"
#include "lrp/train/data_source.h"

namespace lrp::train {

// --init-head: `keep` (the file's classifier), `reinit` (the --init scheme's, as a new model has it) or
// `normal:<std>` (weight from N(0, std), bias 0).
struct InitHead {
    enum class Kind { Keep, Reinit, Normal } kind = Kind::Keep;
    float std = 0.f;  // Normal only
};
// Throws naming --init-head and the accepted forms.
InitHead parse_init_head(const std::string& spec);

// The dotted name of the model's classifier: its last Linear layer ("fc" for ResNet, "classifier" or
// "classifier.6" for VGG). Throws when the model has no Linear layer.
std::string classifier_name(nn::Module& model);

// The checks of cfg.init_weights that need no data, from the file's header alone (cheap; before a run reads
// its data): a readable safetensors file (a PyTorch pickle is named as such), the recorded --arch, the width of
// the first convolution. Returns what the file records (checkpoint_state.h's recorded_state).
CheckpointState check_init_weights_file(const TrainConfig& cfg);

// Loads cfg.init_weights into `model` (built from cfg for `data`'s classes, channels and image size, and
// initialised already) and applies cfg.init_head to the classifier, drawing from `g` for normal:<std>. Every
// tensor of the file must fit, except the classifier's when it is not kept; each mismatch is named with the
// setting that fixes it (--arch, --width, --init-head), and a file with NaN or Inf values is refused. Returns
// one line that says what was loaded, for the log.
std::string init_from_weights(const TrainConfig& cfg, nn::Module& model, Generator& g, const DataSplit& data);

}  // namespace lrp::train
