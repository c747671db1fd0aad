// Training checkpoints: one safetensors file holding the model ("model.<torchvision key>"), the
// optimiser state ("optim.<...>") and, in the metadata, the run config, epoch, step and best accuracy
// (and, for a run stopped mid-epoch, where in the epoch).
// Written atomically (temp file + fsync + rename): the previous checkpoint survives until the new one
// is complete. The model part alone is also exportable as a plain state_dict for PyTorch.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "lrp/nn/module.h"
#include "lrp/train/isnet_calibration.h"
#include "lrp/train/optimizer.h"

namespace lrp::train {

// Where a run stopped inside an epoch (a mid-epoch checkpoint: an interrupt or --stop-after-step): the
// batches done of epoch `epoch + 1`, the epoch's running sums and the offsets of its random streams, so
// that --resume continues it bit for bit.
struct PartialEpoch {
    int64_t batches = 0;  // 0: the checkpoint is at an epoch boundary (nothing else is used)
    float loss_sum = 0, correct_sum = 0, occluded_sum = 0, nonfinite_sum = 0;  // the device sums, as they were
    float clean_correct_sum = 0;  // --log-clean-accuracy (absent in older checkpoints: 0)
    float salient_correct_sum = 0, nonsalient_correct_sum = 0;  // EDDA's occluded copies classified as their label
    float coincident_sum = 0;  // EDDA: images whose two windows coincided (absent in older checkpoints: 0)
    float flat_sum = 0;  // RelDrop: occluded images whose map was flat (kRelDropAppliedFlat; absent in older: 0)
    float heat_loss_sum = 0, foreground_sum = 0;  // ISNet: heatmap loss and foreground fraction, times batch sizes
    float empty_mask_sum = 0;  // ISNet: images without a foreground pixel (-1: unknown, from a checkpoint without it)
    float masked_correct_sum = 0, kl_sum = 0;  // SGT: masked images classified as their label; KL term times batch sizes
    std::vector<float> layer_loss_sums;  // ISNet with --isnet-lds: each layer's heatmap loss (input map first) times batch sizes
    int64_t attributed = 0;  // images RelDrop's attribution ran on (-1: unknown, from a checkpoint without it)
    int64_t images = 0;
    double seconds = 0;  // training time of the epoch so far
    uint64_t loader_rng = 0, reldrop_rng = 0, dropout_rng = 0;
    bool preview_pending = false;
};

struct CheckpointState {
    nlohmann::json config;   // TrainConfig as JSON
    int64_t epoch = 0;       // epochs completed
    int64_t global_step = 0;  // an exported model.safetensors: the step of its weights (-1: not recorded)
    double last_test_acc = -1;
    double best_test_acc = -1;
    int64_t best_epoch = -1;
    // With a validation split (--val-split): the best validation accuracy, its epoch (the first to reach it) and
    // the test accuracy of that epoch; -1 without one.
    double best_val_acc = -1;
    int64_t best_val_epoch = -1;
    double test_acc_at_best_val = -1;
    int64_t val_source_images = -1;  // the training split's size the validation images were drawn from (-1: none)
    std::vector<std::string> class_names;  // of the training split, in label order (empty in older checkpoints)
    // The per-channel mean/std (raw [0, 1] units) that normalised the training inputs; eval and explain
    // normalise with them by default (empty in older checkpoints).
    std::vector<float> mean, stdev;
    int64_t train_images = -1;  // the training split's size (-1 in older checkpoints)
    std::optional<IsnetCalibration> isnet_calibration;  // the C1, C2 --isnet-calibrate measured (a resume keeps them)
    std::string numerics;  // what computed the run (e.g. "cpu: OpenBLAS ... 2 threads"); empty in older checkpoints
    // At an epoch boundary: first_batch.png is still to be written (RelDrop's per-batch coin selected no batch yet).
    bool preview_pending = false;
    PartialEpoch partial;
};

void save_checkpoint(const std::string& path, nn::Module& model, const Optimizer& opt, const CheckpointState& st);
// Reads only the state (config, epoch, ...) without touching a model.
CheckpointState read_checkpoint_state(const std::string& path);
// The state when `path` is an lrpcu checkpoint; std::nullopt when it is a readable safetensors file without
// lrpcu metadata (a plain state_dict, ours or PyTorch's). A missing, truncated or corrupt file throws, naming it.
std::optional<CheckpointState> read_checkpoint_state_if_any(const std::string& path);
// What a weights file records about its model, for eval and explain: a checkpoint's state; for the
// model.safetensors a run exports (export_model), its model settings as `config` (arch, width, dataset,
// resize, crop), class names and input normalisation; an empty state for a plain state_dict
// (PyTorch's, or an older lrpcu's without the metadata). A corrupt file or corrupt metadata throws, naming it.
CheckpointState recorded_state(const std::string& path);
// Writes `model`'s weights as a plain state_dict (torchvision keys; PyTorch-loadable), with the metadata
// recorded_state() reads back from `st` (the model settings of its config, class names, normalisation).
void export_model(const std::string& path, nn::Module& model, const CheckpointState& st);
// Loads model and optimiser state (onto their devices) and returns the run state.
CheckpointState load_checkpoint(const std::string& path, nn::Module& model, Optimizer* opt);

// Checks that a dataset's classes (label order) are the ones a checkpoint was trained on; either list
// empty (unknown) passes. `what` names the data in the error.
void check_class_names(const std::vector<std::string>& trained, const std::vector<std::string>& data,
                       const std::string& weights, const std::string& what);

// "[a, b, c]": class names in messages.
std::string bracket_list(const std::vector<std::string>& names);

// A --arch given for an lrpcu checkpoint (its stored config `cfg`) must be the one it was trained as.
void check_arch(const std::string& given, const nlohmann::json& cfg, const std::string& weights);

// The first-stage width to build: the recorded one (`cfg`: a checkpoint's config or a model file's settings;
// a different `given` > 0 is an error naming both), else `given`, else the weights' own (their first
// convolution's output channels), else 64 (torchvision's). A `given` or recorded width the first convolution
// contradicts is an error, as is a negative `given`.
int checked_width(int given, const nlohmann::json& cfg, const std::string& weights);

// The image geometry (shorter side, centre crop; 0: off) for image folders and image inputs: each flag's value
// when given (it must be >= 0), else the recorded one (`cfg`; anything but an integer in [0, 65536] is corrupt
// metadata naming `weights`), else 0.
std::pair<int, int> checked_geometry(std::optional<int> resize, std::optional<int> crop, const nlohmann::json& cfg,
                                     const std::string& weights);

// What makes a model tensor unusable: NaN or Inf anywhere, a negative BatchNorm running_var; empty: nothing.
std::string weight_problem(const std::string& name, const Tensor& t);
// Model weights with torchvision keys (from a checkpoint or a plain PyTorch state_dict file). A tensor with a
// weight_problem (a parameter or a BatchNorm statistic) is an error naming it and the file, after the names and
// shapes are checked (weights of another model are refused as such first).
void load_model_weights(const std::string& path, nn::Module& model);
// The name of the model's first parameter or buffer (BatchNorm running statistics) holding NaN or Inf; empty: none.
std::string first_nonfinite(nn::Module& model);
// The model tensors of such a file, on the host: a checkpoint's "model." part (prefix dropped), or all of them.
nn::StateDict read_model_weights(const std::string& path);
// The first-stage width of the weights in a file: the output channels of its first convolution (ResNet's
// conv1, VGG's features.0); without that tensor, the size of the BatchNorm after it, the first block's input
// channels or a VGG's next convolution's; -1 when it has none of them. source tells the tensor, e.g.
// "bn1.weight's 64 channels" (empty with -1).
struct InferredWidth {
    int width = -1;
    std::string source;
};
InferredWidth inferred_width(const std::string& path);
int infer_width(const std::string& path);  // inferred_width(path).width
// The number of classes a weights file was trained for: the rows of its final linear layer (ResNet's
// fc, VGG's last classifier layer), or -1 when the file has none of them.
int infer_num_classes(const std::string& path);
// The input channels a weights file takes: its first convolution's (ResNet's conv1, VGG's features.0),
// or -1 when it has neither.
int infer_in_channels(const std::string& path);

}  // namespace lrp::train
