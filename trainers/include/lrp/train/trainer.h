// The `lrpcu train` loop: data resident on the device or streamed (data_source.h), model, optimiser and
// schedule from a TrainConfig; per epoch a progress display, evaluation, a JSONL metrics row and an atomic
// checkpoint; --resume continues from the last checkpoint and gives the same result as an uninterrupted run.
// SIGINT/SIGTERM or --stop-after-step stop it after a step with a mid-epoch checkpoint that --resume continues; a
// signal during an evaluation stops it at the next batch, with a checkpoint after the epoch's steps.
#pragma once
#include <functional>
#include <string>

#include "lrp/nn/module.h"
#include "lrp/train/config.h"
#include "lrp/train/loader.h"

namespace lrp::train {

struct EvalResult {
    double loss = 0, top1 = 0, top5 = 0;
    int64_t samples = 0;
    int64_t nonfinite = 0;          // samples whose logits hold NaN or Inf (counted wrong; the loss is then NaN)
    std::vector<double> per_class;  // accuracy per class (NaN for a class without samples)
    bool stopped = false;           // `stop` said so before the last batch: no metrics
};

// Eval-mode pass over a batch source (in order); metrics read back once at the end. `stop`, when given, is
// asked before each batch; true ends the pass there (stopped, no metrics).
EvalResult evaluate(nn::Module& model, BatchSource& loader, int num_classes, const std::function<bool()>& stop = {});

struct TrainSummary {
    double final_test_acc = 0;
    double best_test_acc = 0;
    int64_t best_epoch = 0;
    // With a validation split: its best accuracy, that epoch, and the test accuracy then (else -1).
    double best_val_acc = -1;
    int64_t best_val_epoch = -1;
    double test_acc_at_best_val = -1;
    int64_t epochs = 0;
    double seconds = 0;
    bool stopped = false;  // stopped early by a signal or --stop-after-step (not --stop-after-epoch)
    int signal = 0;        // the signal that stopped it (SIGINT, SIGTERM), else 0
};

// Runs (or resumes) training as configured; writes <out>/config.json, metrics.jsonl, checkpoint.safetensors
// and model.safetensors (weights only, PyTorch-loadable); with a validation split also model_best_val.safetensors
// (the weights of the epoch with the best validation accuracy).
TrainSummary run_training(TrainConfig cfg);
// Throws when another lrpcu run holds <out>/.lock (as run_training would), naming the folder; creates nothing.
void check_out_not_in_use(const std::string& out);

}  // namespace lrp::train
