// StreamingLoader: an image folder too large to hold resident, decoded by background threads a few
// batches ahead into host uint8 buffers (with its masks, when it has them); each batch is copied to the
// device once and augmented there.
// It gives bit for bit the batches a DeviceLoader over the loaded folder gives (same order, same draws).
#pragma once
#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "lrp/train/loader.h"

namespace lrp::train {

struct StreamingOptions {
    int prefetch = 4;  // batches decoded ahead of the one being used (the queue depth), 1..16
    int threads = 0;   // decoding threads, each working on a whole batch; <= 0: min(prefetch, cores - 1, 1+)
};

class StreamingLoader : public BatchSource {
public:
    // The index's mean/std normalise the images; when they are empty they are computed from all images
    // first (data::folder_mean_std). Nothing is decoded until the first batch is asked for or an epoch starts.
    StreamingLoader(data::FolderIndex index, Device device, int batch_size, bool train, const AugmentSettings& aug,
                    const StreamingOptions& opt = {});
    ~StreamingLoader() override;  // stops and joins the decoding threads (mid-epoch too)
    StreamingLoader(const StreamingLoader&) = delete;
    StreamingLoader& operator=(const StreamingLoader&) = delete;

    int64_t size() const override { return ix_.size(); }
    int64_t batches_per_epoch() const override;
    // Stops any decoding still going on, fixes the epoch's order and starts decoding it.
    void start_epoch(uint64_t seed, int64_t epoch) override;
    // Batch i of the epoch: i must be the next one (0, 1, 2, ...). Waits for it when it is not decoded yet;
    // a file that fails to decode throws its lrp::Error (naming the file) here, for this batch and again
    // on every later call until the next start_epoch.
    Batch batch(int64_t i) override;
    // start_epoch, with decoding and batch() starting at batch `first` and the stream at `rng_offset`.
    void resume_epoch(uint64_t seed, int64_t epoch, int64_t first, uint64_t rng_offset) override;
    uint64_t rng_offset() const override { return gen_.offset(); }

    const data::FolderIndex& index() const { return ix_; }

private:
    void stop_workers();
    void worker();

    data::FolderIndex ix_;
    Device device_;
    int batch_;
    bool train_;
    AugmentSettings aug_;
    int depth_, threads_;
    Tensor identity_;  // I32 0..batch-1 on the device: the rows of an uploaded batch
    Tensor labels_;    // I32 labels in epoch order, on the device
    Generator gen_;
    bool started_ = false;

    // One decoded batch: its images and, when the index has masks, their masks (rows x H x W).
    struct Decoded {
        std::vector<uint8_t> px, mask;
    };
    // Shared with the workers (under mu_, except order_, which is fixed while they run).
    std::vector<int32_t> order_;
    std::mutex mu_;
    std::condition_variable space_, ready_cv_;
    std::map<int64_t, Decoded> ready_;  // decoded batches not yet taken
    std::vector<Decoded> spare_;        // buffers to reuse
    int64_t next_ = 0;                               // the batch batch() hands out next
    int64_t claimed_ = 0;                            // the batch the next free worker decodes
    int64_t error_batch_ = -1;                       // the first batch whose decoding failed
    std::exception_ptr error_;
    std::atomic<bool> stop_{false};
    std::vector<std::thread> workers_;
};

}  // namespace lrp::train
