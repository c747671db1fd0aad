// The method of a run's training steps (internal to lrp_trainers): the plain step (none, random-erasing, whose
// erasing happens in the loader), RelDrop, EDDA, ISNet, RRR or SGT; each method's device-side counters summed over the
// epoch (kept in mid-epoch checkpoints), its epoch metrics and the first-batch preview.
#pragma once
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "lrp/train/checkpoint.h"
#include "lrp/train/config.h"
#include "lrp/train/data_source.h"
#include "lrp/train/edda_step.h"
#include "lrp/train/isnet_calibration.h"
#include "lrp/train/isnet_step.h"
#include "lrp/train/reldrop_step.h"
#include "lrp/train/rrr_step.h"
#include "lrp/train/sgt_step.h"

namespace lrp::train {

class StepMethod {
public:
    // Builds RelDrop, EDDA, ISNet, RRR or SGT for the training split's images (validated now) and prints what it does;
    // ISNet takes C1 and C2 from `cal` when given (--isnet-calibrate).
    StepMethod(const TrainConfig& cfg, const DataSplit& train, Device dev, const IsnetCalibration* cal = nullptr);

    // With the model built: a warning for each --reldrop-rule/-first-rule/-layer-rule that no layer of it gets.
    void warn_unassigned_rules(nn::Module& model) const;
    // An epoch's sums start from a mid-epoch checkpoint's (or zero).
    void start_epoch(const PartialEpoch& from);
    // One training step on a batch; g feeds RelDrop's, ISNet's and SGT's draws. loss: the step's loss; correct: of the clean rows.
    StepResult step(nn::Module& model, Optimizer& opt, const BatchSource::Batch& batch, Generator& g,
                    const StepOptions& so);
    // Into a mid-epoch checkpoint (a host read per sum).
    void save(PartialEpoch& q) const;
    // The method's metrics of the epoch just finished (`images` trained on); warns about non-finite maps.
    void add_metrics(nlohmann::json& row, int64_t epoch, double images, nn::Module& model) const;
    // After step(): when the last step trained on what the method made of the batch (RelDrop: a batch its coin
    // selected), writes <out>/first_batch.png (plus the clean batch or the parts, as the method has them) and
    // returns true; step_number counts from 1 within the epoch.
    bool save_preview(const std::filesystem::path& out, const BatchSource::Batch& clean, int64_t step_number) const;

private:
    const TrainConfig& cfg_;
    std::vector<float> mean_, stdev_;
    Device dev_;
    std::unique_ptr<RelDrop> reldrop_;
    std::unique_ptr<Edda> edda_;
    std::unique_ptr<Isnet> isnet_;
    std::unique_ptr<Sgt> sgt_;
    std::unique_ptr<Rrr> rrr_;
    // per-epoch device sums
    Tensor occluded_, nonfinite_, flat_, clean_, salient_, nonsalient_, coincident_, heat_, foreground_, masked_, kl_;
    Tensor empty_masks_;  // ISNet: images without a foreground pixel
    // RelDrop: whether an image whose map ranks nothing is occluded at all (block/patch: the corner box; pixel: only
    // where the noise alone can reach the threshold, alpha u >= 1 - beta for some u < 1: alpha > 1 - beta, or beta 1).
    bool flat_maps_occlude() const;
    bool empty_masks_partial_ = false;  // the epoch resumed from a checkpoint without the count: only the rest counted
    Tensor layers_;  // ISNet with LDS: per-layer heatmap losses times batch sizes ([1 + L], made at the first step)
    int64_t attributed_ = 0;  // -1: unknown (a checkpoint from before it was counted)
    // the last step
    Tensor status_, applied_code_, flat_code_, nonfinite_code_;  // RelDrop's per-sample outcome, the codes counted
    Tensor trained_;                                 // the batch the last step trained on
    bool transformed_ = false;                       // whether the method changed that batch
};

}  // namespace lrp::train
