// DeviceLoader: upload once, shuffle per epoch on the host (Fisher-Yates from Philox), augment on the device.
#include "lrp/train/loader.h"

#include <numeric>

#include "lrp/nvtx.h"
#include "lrp/ops/augment.h"

namespace lrp::train {

uint64_t epoch_seed(uint64_t seed, int64_t epoch, uint64_t stream) {
    // splitmix64 over the three inputs: distinct (seed, epoch, stream) give unrelated streams.
    uint64_t z = seed ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(epoch + 1)) ^ (stream << 56);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

DeviceLoader::DeviceLoader(const data::Dataset& ds, Device device, int batch_size, bool train,
                           const AugmentSettings& aug)
    : device_(device), batch_(batch_size), train_(train), aug_(aug), n_(ds.size()), C_(ds.channels()),
      H_(ds.height()), W_(ds.width()), mean_(ds.mean), std_(ds.std) {
    LRP_CHECK(n_ > 0, "dataset '", ds.name, "' is empty");
    LRP_CHECK(batch_size > 0, "batch size must be positive");
    LRP_CHECK(!train || n_ >= batch_size, "dataset '", ds.name, "' has ", n_, " samples, fewer than one batch of ",
              batch_size);
    images_ = ds.images.to(device);
    host_labels_ = ds.labels.to_vector<int32_t>();
    start_epoch(0, 0);
}

int64_t DeviceLoader::batches_per_epoch() const { return train_ ? n_ / batch_ : (n_ + batch_ - 1) / batch_; }

void DeviceLoader::start_epoch(uint64_t seed, int64_t epoch) {
    std::vector<int32_t> order(static_cast<size_t>(n_));
    std::iota(order.begin(), order.end(), 0);
    if (train_) {
        Generator g(epoch_seed(seed, epoch, 1));
        for (int64_t i = n_ - 1; i > 0; --i) std::swap(order[i], order[g.next_below(static_cast<uint32_t>(i + 1))]);
    }
    std::vector<int32_t> labels(order.size());
    for (size_t i = 0; i < order.size(); ++i) labels[i] = host_labels_[order[i]];
    order_ = Tensor::from_vector(order, {n_}, device_);
    labels_ = Tensor::from_vector(labels, {n_}, device_);
    gen_ = Generator(epoch_seed(seed, epoch, 2));
}

DeviceLoader::Batch DeviceLoader::batch(int64_t i) {
    LRP_NVTX_RANGE("loader.batch");
    LRP_CHECK(i >= 0 && i < batches_per_epoch(), "batch index ", i, " out of range");
    const int64_t begin = i * batch_, end = std::min<int64_t>(n_, begin + batch_);
    Batch b;
    b.x = Tensor::empty({end - begin, C_, H_, W_}, DType::F32, device_);
    const bool aug = train_;
    ops::augment_batch(images_, order_.slice(begin, end), aug ? aug_.crop_padding : 0, aug && aug_.flip, mean_, std_,
                       gen_, b.x);
    if (aug && aug_.erasing_p > 0.f) {
        // Zhong et al.'s reference fills with the raw-space mean written into the normalised tensor
        // (reldrop.md 3); lrpcu keeps the box sampler and fills with 0 = the normalised dataset mean.
        ops::random_erasing(b.x, aug_.erasing_p, 0.02f, 0.4f, 0.3f, 100, std::vector<float>(C_, 0.f), gen_);
    }
    b.y = labels_.slice(begin, end);
    return b;
}

}  // namespace lrp::train
