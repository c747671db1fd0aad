// StreamingLoader: decoding threads claim whole batches in order (at most `depth` ahead of the consumer),
// decode them (and their masks) with data::decode_indexed into reused host buffers, and batch() uploads and
// augments them with identity rows and DeviceLoader's generator draws. Failures travel to batch() as exceptions.
#include "lrp/train/streaming_loader.h"

#include <algorithm>
#include <numeric>

#include "lrp/nvtx.h"
#include "lrp/ops/gemm.h"

namespace lrp::train {

StreamingLoader::StreamingLoader(data::FolderIndex index, Device device, int batch_size, bool train,
                                 const AugmentSettings& aug, const StreamingOptions& opt)
    : ix_(std::move(index)), device_(device), batch_(batch_size), train_(train), aug_(aug) {
    loader_detail::check_sizes(ix_.size(), batch_size, ix_.name);
    LRP_CHECK(ix_.labels.size() == ix_.files.size(), "StreamingLoader: index '", ix_.name, "' has ", ix_.files.size(),
              " files but ", ix_.labels.size(), " labels");
    LRP_CHECK(ix_.channels >= 1 && ix_.channels <= 4 && ix_.height > 0 && ix_.width > 0, "StreamingLoader: index '",
              ix_.name, "' has no usable image size (", ix_.channels, "x", ix_.height, "x", ix_.width, ")");
    LRP_CHECK(opt.prefetch >= 1 && opt.prefetch <= 16, "StreamingLoader: prefetch ", opt.prefetch,
              " must be in [1, 16]");
    depth_ = opt.prefetch;
    const int cores = ops::cpu_kernel_threads();  // the CPUs this process may use (affinity, cgroup quota)
    threads_ = opt.threads > 0 ? opt.threads : std::max(1, cores - 1);
    threads_ = std::min(threads_, depth_);
    if (ix_.mean.empty() || ix_.std.empty()) data::folder_mean_std(ix_, 0, cores);
    std::vector<int32_t> rows(static_cast<size_t>(batch_));
    std::iota(rows.begin(), rows.end(), 0);
    identity_ = Tensor::from_vector(rows, {batch_}, device_);
}

StreamingLoader::~StreamingLoader() { stop_workers(); }

int64_t StreamingLoader::batches_per_epoch() const {
    return loader_detail::batches_per_epoch(ix_.size(), batch_, train_, keep_last_);
}

void StreamingLoader::stop_workers() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
    }
    space_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
}

void StreamingLoader::start_epoch(uint64_t seed, int64_t epoch) { resume_epoch(seed, epoch, 0, 0); }

void StreamingLoader::resume_epoch(uint64_t seed, int64_t epoch, int64_t first, uint64_t rng_offset) {
    LRP_CHECK(first >= 0 && first <= batches_per_epoch(), "resume_epoch: batch ", first, " out of range");
    // What may throw (the order, the labels' upload) comes first, into locals: such a failure leaves the loader as
    // it was, not the old epoch's batches under a new order.
    const int64_t n = ix_.size();
    std::vector<int32_t> order = loader_detail::epoch_order(n, train_, seed, epoch);
    std::vector<int32_t> labels(order.size());
    for (size_t i = 0; i < order.size(); ++i) labels[i] = ix_.labels[order[i]];
    Tensor on_device = Tensor::from_vector(labels, {n}, device_);
    stop_workers();
    order_ = std::move(order);
    labels_ = std::move(on_device);
    gen_ = Generator(epoch_seed(seed, epoch, 2), rng_offset);
    {
        std::lock_guard<std::mutex> lk(mu_);
        for (auto& kv : ready_) spare_.push_back(std::move(kv.second));
        ready_.clear();
        next_ = claimed_ = first;
        error_batch_ = -1;
        error_ = nullptr;
    }
    started_ = true;
    if (first >= batches_per_epoch()) return;  // nothing left to decode (a checkpoint after the epoch's last step)
    // A thread that cannot be started (a pids or ulimit cap, no memory) leaves the epoch to those that could; with
    // none at all, batch() reports why (the epoch is this one, so it does not start another).
    try {
        workers_.reserve(static_cast<size_t>(threads_));
        for (int t = 0; t < threads_; ++t) workers_.emplace_back([this] { worker(); });
    } catch (const std::exception& e) {
        if (workers_.empty()) {
            std::lock_guard<std::mutex> lk(mu_);
            error_ = std::make_exception_ptr(Error(str("StreamingLoader: cannot start a decoding thread for '",
                                                       ix_.name, "' (", e.what(), ")")));
            error_batch_ = first;
        }
    }
}

void StreamingLoader::worker() {
    const int64_t nb = batches_per_epoch(), n = ix_.size(), row_bytes = ix_.image_bytes();
    const int64_t mask_bytes = ix_.mask_files.empty() ? 0 : int64_t(ix_.height) * ix_.width;
    int64_t b = 0;  // the batch being worked on, which an exception is charged to
    try {
        for (;;) {
            Decoded buf;
            {
                std::unique_lock<std::mutex> lk(mu_);
                space_.wait(lk, [&] { return stop_ || error_ || claimed_ >= nb || claimed_ - next_ < depth_; });
                if (stop_ || error_ || claimed_ >= nb) return;
                b = claimed_++;
                if (!spare_.empty()) {
                    buf = std::move(spare_.back());
                    spare_.pop_back();
                }
            }
            const int64_t begin = b * batch_, end = std::min<int64_t>(n, begin + batch_);
            try {
                buf.px.resize(static_cast<size_t>((end - begin) * row_bytes));
                buf.mask.resize(static_cast<size_t>((end - begin) * mask_bytes));
            } catch (const std::exception& e) {  // std::bad_alloc: say which batch and how large
                LRP_THROW("cannot hold decoded batch ", b, " of '", ix_.name, "' (", end - begin, " images of ",
                          row_bytes, " bytes): ", e.what());
            }
            for (int64_t r = begin; r < end; ++r) {
                if (stop_) return;
                const int64_t row = order_[static_cast<size_t>(r)];
                try {
                    data::decode_indexed(ix_, row, buf.px.data() + (r - begin) * row_bytes,
                                         mask_bytes ? buf.mask.data() + (r - begin) * mask_bytes : nullptr);
                } catch (const Error&) {
                    throw;
                } catch (const std::exception& e) {  // e.g. std::bad_alloc: still name the file
                    LRP_THROW(ix_.files[static_cast<size_t>(row)], ": cannot decode image (", e.what(), ")");
                }
            }
            {
                std::lock_guard<std::mutex> lk(mu_);
                ready_[b] = std::move(buf);
            }
            ready_cv_.notify_all();
        }
    } catch (...) {  // never let an exception end the thread: batch() rethrows it
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (!error_ || b < error_batch_) {
                error_ = std::current_exception();
                error_batch_ = b;
            }
        }
        ready_cv_.notify_all();
        space_.notify_all();
    }
}

StreamingLoader::Batch StreamingLoader::batch(int64_t i) {
    LRP_NVTX_RANGE("loader.batch");
    LRP_CHECK(i >= 0 && i < batches_per_epoch(), "batch index ", i, " out of range");
    if (!started_) start_epoch(0, 0);
    Decoded buf;
    {
        std::unique_lock<std::mutex> lk(mu_);
        LRP_CHECK(i == next_, "StreamingLoader reads batches in order after start_epoch: asked for batch ", i,
                  ", the next one is ", next_, " (call start_epoch to begin again)");
        ready_cv_.wait(lk, [&] { return ready_.count(i) || (error_ && error_batch_ <= i); });
        auto it = ready_.find(i);
        if (it == ready_.end()) std::rethrow_exception(error_);
        buf = std::move(it->second);
        ready_.erase(it);
        ++next_;
    }
    space_.notify_all();
    const int64_t begin = i * batch_, rows = static_cast<int64_t>(buf.px.size()) / ix_.image_bytes();
    Tensor images, masks;
    {
        LRP_NVTX_RANGE("loader.upload");
        images = Tensor::from_vector(buf.px, {rows, ix_.channels, ix_.height, ix_.width}, device_);  // one H2D copy
        if (!buf.mask.empty()) masks = Tensor::from_vector(buf.mask, {rows, 1, ix_.height, ix_.width}, device_);
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        spare_.push_back(std::move(buf));
    }
    Batch b;
    b.x = loader_detail::augment_rows(images, identity_.slice(0, rows), train_, aug_, ix_.mean, ix_.std, gen_, masks,
                                      &b.allowed);
    b.y = labels_.slice(begin, begin + rows);
    return b;
}

}  // namespace lrp::train
