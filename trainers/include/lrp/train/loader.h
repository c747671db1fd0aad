// Batch sources of the training loop: BatchSource (the interface the trainer and evaluate() use) and
// DeviceLoader, a dataset resident on the device as uint8 with per-epoch shuffling and on-device
// augmentation (crop with padding, flip, normalisation, optional random erasing). DeviceLoader makes one
// host-to-device copy per epoch (the permutation) and none per step. Randomness comes from generators
// derived from (seed, epoch), so an epoch is reproducible on its own, and from a batch index and the
// generator's offset mid-epoch (resume_epoch); StreamingLoader (streaming_loader.h) draws the same numbers and so gives the same batches.
#pragma once
#include <string>
#include <vector>

#include "lrp/data/dataset.h"
#include "lrp/generator.h"
#include "lrp/ops/augment.h"
#include "lrp/tensor.h"

namespace lrp::train {

struct AugmentSettings {
    int crop_padding = 0;
    ops::ResizedCrop resized;  // enabled: a random resized crop instead of the padded one (crop_padding 0)
    bool flip = false;
    float erasing_p = 0.f;  // > 0: random erasing after normalisation
    std::string erasing_fill = "mean";  // see erasing_fill()
    float sl = 0.02f, sh = 0.4f, r1 = 0.3f;  // box geometry (reldrop.md 4.1)
    int attempts = 100;
};

// The Random-Erasing fill per channel for a policy: "mean" (0 = the dataset mean in normalised space),
// "reference" (255 written into the normalised tensor: the RelDrop repository's RE baseline, reldrop.md
// 4.6), "zhong" (the raw-space mean written into the normalised tensor: Zhong et al.'s code), "raw:<v>",
// "normalized:<v>". Throws naming the policy when it is unknown.
std::vector<float> erasing_fill(const std::string& mode, const std::vector<float>& mean,
                                const std::vector<float>& stdev);

// Training: shuffled; by default each epoch's last partial batch is left out (drop_last), and with
// keep_last_batch(true) it is trained on as PyTorch's DataLoader does, unless it would hold a single image
// (BatchNorm cannot normalise one sample). Evaluation: in order, always with the last partial batch. Batches
// are taken with start_epoch(seed, epoch) then batch(i); sources that stream allow only i = 0, 1, 2, ...
class BatchSource {
public:
    struct Batch {
        Tensor x;        // F32 [B, C, H, W], normalised (and augmented when training)
        Tensor y;        // I32 [B]
        Tensor allowed;  // F32 [B, H, W]: the dataset's masks (1 where genuine content may lie) cropped and
                         // flipped with x; undefined when the dataset has none
    };
    virtual ~BatchSource() = default;
    virtual int64_t size() const = 0;
    virtual int64_t batches_per_epoch() const = 0;
    virtual void start_epoch(uint64_t seed, int64_t epoch) = 0;
    virtual Batch batch(int64_t i) = 0;
    // Mid-epoch resume: the epoch start_epoch(seed, epoch) gives, from batch `first` on, with the
    // augmentation stream at `rng_offset` (what rng_offset() said after batch first - 1). The base
    // class refuses (a source that cannot resume mid-epoch).
    virtual void resume_epoch(uint64_t seed, int64_t epoch, int64_t first, uint64_t rng_offset);
    virtual uint64_t rng_offset() const { return 0; }
    // Training sources: whether the last partial batch of an epoch is trained on (call before start_epoch).
    void keep_last_batch(bool keep) { keep_last_ = keep; }

protected:
    bool keep_last_ = false;
};

class DeviceLoader : public BatchSource {
public:
    DeviceLoader(const data::Dataset& ds, Device device, int batch_size, bool train, const AugmentSettings& aug);

    int64_t size() const override { return n_; }
    int64_t batches_per_epoch() const override;
    void start_epoch(uint64_t seed, int64_t epoch) override;
    Batch batch(int64_t i) override;  // any i in [0, batches_per_epoch()), in any order
    void resume_epoch(uint64_t seed, int64_t epoch, int64_t first, uint64_t rng_offset) override;
    uint64_t rng_offset() const override { return gen_.offset(); }

private:
    Device device_;
    int batch_;
    bool train_;
    AugmentSettings aug_;
    int64_t n_;
    std::vector<float> mean_, std_;
    std::vector<int32_t> host_labels_;
    Tensor images_;   // U8 on the device
    Tensor masks_;    // U8 [N, 1, H, W] on the device, or undefined (the dataset has none)
    Tensor order_;    // I32 permutation of the epoch, on the device
    Tensor labels_;   // I32 labels in epoch order, on the device
    Generator gen_;
};

// Mixes a run seed and an epoch number into an independent generator seed.
uint64_t epoch_seed(uint64_t seed, int64_t epoch, uint64_t stream);

// The pieces every loader shares, so that they give identical batches.
namespace loader_detail {
// Checks that the dataset has images and the batch size is positive; `what` names the dataset in errors.
void check_sizes(int64_t n, int batch_size, const std::string& what);
// Evaluation: every image; training: full batches, plus a last partial one of >= 2 images when keep_last (fewer
// images than a batch: that one batch, as PyTorch's DataLoader). A training epoch without a step is an error.
int64_t batches_per_epoch(int64_t n, int batch_size, bool train, bool keep_last);
// For the run's summary line: the training images no step of an epoch takes and why ("" when none).
std::string left_out_note(int64_t n, int batch_size, bool keep_last);
// The epoch's sample order: 0..n-1, Fisher-Yates shuffled from epoch_seed(seed, epoch, 1) when `shuffle`.
std::vector<int32_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch);
// F32 [rows, C, H, W] = normalise(augment(images[rows])) (+ random erasing); train = false: normalise only.
// masks (U8 [N, 1, H, W]) given: *allowed = F32 [rows, H, W], 1 where masks[rows] is nonzero after the same crop
// and flip (padding: 0), else 0.
Tensor augment_rows(const Tensor& images, const Tensor& rows, bool train, const AugmentSettings& aug,
                    const std::vector<float>& mean, const std::vector<float>& std, Generator& g,
                    const Tensor& masks = {}, Tensor* allowed = nullptr);
}  // namespace loader_detail

}  // namespace lrp::train
