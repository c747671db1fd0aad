// DeviceLoader: upload once, shuffle per epoch on the host (Fisher-Yates from Philox), augment on the
// device; and the order/augmentation helpers the streaming loader shares with it.
#include "lrp/train/loader.h"

#include <numeric>

#include "lrp/nvtx.h"
#include "lrp/ops/augment.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reldrop.h"

namespace lrp::train {

uint64_t epoch_seed(uint64_t seed, int64_t epoch, uint64_t stream) {
    // splitmix64 over the three inputs: distinct (seed, epoch, stream) give unrelated streams.
    uint64_t z = seed ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(epoch + 1)) ^ (stream << 56);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::vector<float> erasing_fill(const std::string& mode, const std::vector<float>& mean,
                                const std::vector<float>& stdev) {
    if (mode == "reference") return std::vector<float>(mean.size(), 255.f);
    if (mode == "zhong") return ops::reldrop_fill("reference", mean, stdev, "--erasing-fill zhong (the dataset mean)");
    LRP_CHECK(mode == "mean" || mode.rfind("raw:", 0) == 0 || mode.rfind("normalized:", 0) == 0,
              "--erasing-fill: unknown fill '", mode, "' (known: mean, reference, zhong, raw:<v>, normalized:<v>)");
    return ops::reldrop_fill(mode, mean, stdev, "--erasing-fill");
}

void BatchSource::resume_epoch(uint64_t, int64_t, int64_t, uint64_t) {
    LRP_THROW("this batch source cannot resume in the middle of an epoch");
}

namespace loader_detail {

void check_sizes(int64_t n, int batch_size, const std::string& what) {
    LRP_CHECK(n > 0, "dataset '", what, "' is empty");
    LRP_CHECK(batch_size > 0, "batch size must be positive");
}

int64_t batches_per_epoch(int64_t n, int batch_size, bool train, bool keep_last) {
    const int64_t full = n / batch_size, rest = n % batch_size;
    if (!train) return full + (rest > 0);
    const int64_t steps = full + (keep_last && rest >= 2);
    LRP_CHECK(steps > 0, "the training split's ", n, " image", n == 1 ? " is" : "s are", " fewer than one batch of ",
              batch_size, keep_last ? ", and a last partial batch of one image is left out (train-mode BatchNorm needs "
                                      "two values per channel)"
                                    : str(", and --drop-last true leaves ", n == 1 ? "it" : "them", " out"),
              ": no training step is left (", keep_last ? "more images or --batch-size 1" : "--drop-last false",
              " trains ", n == 1 ? "it" : "them", ")");
    return steps;
}

std::string left_out_note(int64_t n, int batch_size, bool keep_last) {
    const int64_t left = n - batches_per_epoch(n, batch_size, true, keep_last) * batch_size;
    if (left <= 0) return "";
    // A batch of one image is left out even when asked for: train-mode BatchNorm needs more than one value per
    // channel where a feature map is 1 x 1 (PyTorch raises there).
    return str(" (", left, " image", left == 1 ? "" : "s", " of each epoch's order not trained on: ",
               keep_last ? "a last batch of one image is left out" : "--drop-last", ")");
}

std::vector<int32_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch) {
    std::vector<int32_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    if (shuffle) {
        Generator g(epoch_seed(seed, epoch, 1));
        for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[g.next_below(static_cast<uint32_t>(i + 1))]);
    }
    return order;
}

Tensor augment_rows(const Tensor& images, const Tensor& rows, bool train, const AugmentSettings& aug,
                    const std::vector<float>& mean, const std::vector<float>& std, Generator& g,
                    const Tensor& masks, Tensor* allowed) {
    const int64_t C = images.dim(1);
    ops::ResizedCrop resized = aug.resized;
    resized.enabled = train && resized.enabled;
    Tensor x = Tensor::empty({rows.numel(), C, images.dim(2), images.dim(3)}, DType::F32, images.device());
    if (masks.defined()) {
        LRP_CHECK(allowed, "augment_rows: masks given without an output for them");
        // The same counters as the images' crop and flip (augment_batch draws the same count whatever C is); a
        // resized crop samples the masks' window with nearest neighbours, so they stay 0 or not.
        Generator same = g;
        Tensor m = Tensor::empty({rows.numel(), 1, images.dim(2), images.dim(3)}, DType::F32, images.device());
        ops::ResizedCrop nearest = resized;
        nearest.nearest = true;
        ops::augment_batch(masks, rows, train ? aug.crop_padding : 0, train && aug.flip, {0.f}, {1.f}, same, m,
                           nearest);
        ops::lrp_eps_div(m, m, 1e-30f, m);  // v / 255 in (0, 1] -> exactly 1, 0 -> 0
        *allowed = m.reshape({rows.numel(), images.dim(2), images.dim(3)});
    }
    ops::augment_batch(images, rows, train ? aug.crop_padding : 0, train && aug.flip, mean, std, g, x, resized);
    if (train && aug.erasing_p > 0.f) {
        ops::random_erasing(x, aug.erasing_p, aug.sl, aug.sh, aug.r1, aug.attempts,
                            erasing_fill(aug.erasing_fill, mean, std), g);
    }
    return x;
}

}  // namespace loader_detail

DeviceLoader::DeviceLoader(const data::Dataset& ds, Device device, int batch_size, bool train,
                           const AugmentSettings& aug)
    : device_(device), batch_(batch_size), train_(train), aug_(aug), n_(ds.size()), mean_(ds.mean),
      std_(ds.std) {
    loader_detail::check_sizes(n_, batch_size, ds.name);
    images_ = ds.images.to(device);
    if (ds.masks.defined()) {
        LRP_CHECK(ds.masks.dtype() == DType::U8 && ds.masks.shape() == Shape({n_, 1, ds.height(), ds.width()}),
                  "dataset '", ds.name, "': masks ", ds.masks.shape().str(), " do not match its images ",
                  ds.images.shape().str());
        masks_ = ds.masks.to(device);
    }
    host_labels_ = ds.labels.to_vector<int32_t>();
    start_epoch(0, 0);
}

int64_t DeviceLoader::batches_per_epoch() const {
    return loader_detail::batches_per_epoch(n_, batch_, train_, keep_last_);
}

void DeviceLoader::start_epoch(uint64_t seed, int64_t epoch) {
    std::vector<int32_t> order = loader_detail::epoch_order(n_, train_, seed, epoch);
    std::vector<int32_t> labels(order.size());
    for (size_t i = 0; i < order.size(); ++i) labels[i] = host_labels_[order[i]];
    order_ = Tensor::from_vector(order, {n_}, device_);
    labels_ = Tensor::from_vector(labels, {n_}, device_);
    gen_ = Generator(epoch_seed(seed, epoch, 2));
}

void DeviceLoader::resume_epoch(uint64_t seed, int64_t epoch, int64_t first, uint64_t rng_offset) {
    LRP_CHECK(first >= 0 && first <= batches_per_epoch(), "resume_epoch: batch ", first, " out of range");
    start_epoch(seed, epoch);
    gen_.set_state(gen_.seed(), rng_offset);
}

DeviceLoader::Batch DeviceLoader::batch(int64_t i) {
    LRP_NVTX_RANGE("loader.batch");
    LRP_CHECK(i >= 0 && i < batches_per_epoch(), "batch index ", i, " out of range");
    const int64_t begin = i * batch_, end = std::min<int64_t>(n_, begin + batch_);
    Batch b;
    b.x = loader_detail::augment_rows(images_, order_.slice(begin, end), train_, aug_, mean_, std_, gen_, masks_,
                                      &b.allowed);
    b.y = labels_.slice(begin, end);
    return b;
}

}  // namespace lrp::train
