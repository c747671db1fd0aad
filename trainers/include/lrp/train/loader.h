// DeviceLoader: a dataset resident on the device as uint8 with labels, per-epoch shuffling and the
// on-device augmentation (crop with padding, flip, normalisation, optional random erasing). One
// host-to-device copy per epoch (the permutation); none per step. Randomness comes from a generator
// derived from (seed, epoch), so an epoch is reproducible on its own (resume at epoch boundaries).
#pragma once
#include <vector>

#include "lrp/data/dataset.h"
#include "lrp/generator.h"
#include "lrp/tensor.h"

namespace lrp::train {

struct AugmentSettings {
    int crop_padding = 0;
    bool flip = false;
    float erasing_p = 0.f;  // > 0: random erasing after normalisation
};

class DeviceLoader {
public:
    // shuffle + drop_last for training; in order, keeping the last partial batch, for evaluation.
    DeviceLoader(const data::Dataset& ds, Device device, int batch_size, bool train, const AugmentSettings& aug);

    int64_t size() const { return n_; }
    int64_t batches_per_epoch() const;
    void start_epoch(uint64_t seed, int64_t epoch);

    struct Batch {
        Tensor x;  // F32 [B, C, H, W], normalised
        Tensor y;  // I32 [B]
    };
    Batch batch(int64_t i);

private:
    Device device_;
    int batch_;
    bool train_;
    AugmentSettings aug_;
    int64_t n_;
    int C_, H_, W_;
    std::vector<float> mean_, std_;
    std::vector<int32_t> host_labels_;
    Tensor images_;   // U8 on the device
    Tensor order_;    // I32 permutation of the epoch, on the device
    Tensor labels_;   // I32 labels in epoch order, on the device
    Generator gen_;
};

// Mixes a run seed and an epoch number into an independent generator seed.
uint64_t epoch_seed(uint64_t seed, int64_t epoch, uint64_t stream);

}  // namespace lrp::train
