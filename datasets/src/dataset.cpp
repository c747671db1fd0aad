// Dataset basics: shape accessors, subset, take_stratified (balanced, seeded selection) and the
// per-channel mean/std used by the readers whose statistics are computed from the data.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "io.h"
#include "lrp/generator.h"

namespace lrp::data {

namespace {

// The same metadata with the rows `idx` (ascending or not) copied out.
Dataset gather(const Dataset& d, const std::vector<int64_t>& idx) {
    Dataset r;
    r.name = d.name;
    r.num_classes = d.num_classes;
    r.class_names = d.class_names;
    r.mean = d.mean;
    r.std = d.std;
    std::vector<int64_t> dims = d.images.shape().dims();
    dims[0] = static_cast<int64_t>(idx.size());
    r.images = Tensor::empty(Shape(dims), d.images.dtype());
    r.labels = Tensor::empty(Shape{dims[0]}, DType::I32);
    const size_t row = d.images.dim(0) > 0 ? d.images.nbytes() / static_cast<size_t>(d.images.dim(0)) : 0;
    const auto* src = static_cast<const uint8_t*>(d.images.raw_data());
    auto* dst = static_cast<uint8_t*>(r.images.raw_data());
    const int32_t* ls = d.labels.data<int32_t>();
    int32_t* ld = r.labels.data<int32_t>();
    for (size_t i = 0; i < idx.size(); ++i) {
        std::memcpy(dst + i * row, src + static_cast<size_t>(idx[i]) * row, row);
        ld[i] = ls[idx[i]];
    }
    if (d.masks.defined()) {
        LRP_CHECK(d.masks.dtype() == DType::U8 && d.masks.ndim() == 4 && d.masks.dim(0) == d.images.dim(0) &&
                      d.masks.dim(1) == 1 && d.masks.dim(2) == d.images.dim(2) && d.masks.dim(3) == d.images.dim(3),
                  "dataset '", d.name, "': masks ", d.masks.shape().str(), " do not match images ", d.images.shape().str());
        std::vector<int64_t> md = d.masks.shape().dims();
        md[0] = dims[0];
        r.masks = Tensor::empty(Shape(md), DType::U8);
        const size_t mrow = d.masks.dim(0) > 0 ? d.masks.nbytes() / static_cast<size_t>(d.masks.dim(0)) : 0;
        const auto* ms = static_cast<const uint8_t*>(d.masks.raw_data());
        auto* mdst = static_cast<uint8_t*>(r.masks.raw_data());
        for (size_t i = 0; i < idx.size(); ++i) std::memcpy(mdst + i * mrow, ms + static_cast<size_t>(idx[i]) * mrow, mrow);
    }
    return r;
}

void check_usable(const Dataset& d, const char* op) {
    LRP_CHECK(d.images.defined() && d.labels.defined(), op, ": dataset '", d.name, "' has no images or labels");
    LRP_CHECK(d.images.device().is_cpu() && d.labels.device().is_cpu(), op, ": dataset '", d.name,
              "' must be on the CPU");
    LRP_CHECK(d.labels.dtype() == DType::I32 && d.labels.ndim() == 1 && d.labels.dim(0) == d.images.dim(0), op,
              ": dataset '", d.name, "' labels ", d.labels.shape().str(), " ", dtype_name(d.labels.dtype()),
              " do not match images ", d.images.shape().str());
}

}  // namespace

const char* split_name(Split s) { return s == Split::Train ? "train" : "test"; }

int64_t Dataset::size() const { return images.defined() && images.ndim() >= 1 ? images.dim(0) : 0; }
int Dataset::channels() const { return images.defined() && images.ndim() == 4 ? static_cast<int>(images.dim(1)) : 0; }
int Dataset::height() const { return images.defined() && images.ndim() == 4 ? static_cast<int>(images.dim(2)) : 0; }
int Dataset::width() const { return images.defined() && images.ndim() == 4 ? static_cast<int>(images.dim(3)) : 0; }

Dataset Dataset::subset(int64_t begin, int64_t end) const {
    check_usable(*this, "subset");
    LRP_CHECK(0 <= begin && begin <= end && end <= size(), "subset: rows [", begin, ", ", end,
              ") out of range for dataset '", name, "' of ", size(), " samples");
    std::vector<int64_t> idx(static_cast<size_t>(end - begin));
    for (int64_t i = begin; i < end; ++i) idx[i - begin] = i;
    return gather(*this, idx);
}

namespace {
// The rows of each class (classes < num_classes, or 1 + the largest label when num_classes <= 0), each list
// shuffled by one seeded Fisher-Yates pass, class 0 first. `op` names the caller in errors.
std::vector<std::vector<int64_t>> shuffled_by_class(const int32_t* lab, int64_t count, int num_classes,
                                                    uint64_t seed, const std::string& what, const char* op) {
    int k = num_classes;
    if (k <= 0) k = 1 + *std::max_element(lab, lab + count);
    std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(k));
    for (int64_t i = 0; i < count; ++i) {
        LRP_CHECK(lab[i] >= 0 && lab[i] < k, op, ": label ", lab[i], " at index ", i, " out of range [0, ", k,
                  ") in dataset '", what, "'");
        by_class[lab[i]].push_back(i);
    }
    Generator g(seed);
    for (auto& v : by_class)
        for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[g.next_below(static_cast<uint32_t>(i))]);
    return by_class;
}

// The first quota[c] rows of each shuffled class, ascending.
std::vector<int64_t> first_rows(const std::vector<std::vector<int64_t>>& by_class, const std::vector<int64_t>& quota) {
    std::vector<int64_t> idx;
    for (size_t c = 0; c < by_class.size(); ++c)
        idx.insert(idx.end(), by_class[c].begin(), by_class[c].begin() + quota[c]);
    std::sort(idx.begin(), idx.end());
    return idx;
}
}  // namespace

std::vector<int64_t> held_out_indices(const int32_t* lab, int64_t count, int num_classes, int64_t n, uint64_t seed,
                                      const std::string& what) {
    LRP_CHECK(n >= 1 && n < count, "split_stratified: ", n, " held-out samples must be in [1, ", count - 1,
              "] for dataset '", what, "' of ", count, " samples (some must remain)");
    const auto by_class = shuffled_by_class(lab, count, num_classes, seed, what, "split_stratified");
    const size_t k = by_class.size();
    // Quotas in proportion to the class sizes (largest remainder, ties to the lower class), each class keeping
    // at least one sample; what a class cannot give goes to those with room, in the same order.
    std::vector<int64_t> quota(k), cap(k);
    std::vector<size_t> order(k);
    int64_t left = n, room = 0;
    for (size_t c = 0; c < k; ++c) {
        const int64_t s = static_cast<int64_t>(by_class[c].size());
        cap[c] = std::max<int64_t>(0, s - 1);
        quota[c] = std::min(n * s / count, cap[c]);
        left -= quota[c];
        room += cap[c];
        order[c] = c;
    }
    LRP_CHECK(room >= n, "split_stratified: cannot hold out ", n, " of the ", count, " samples of dataset '", what,
              "' and keep one sample of each of its ", k, " classes (at most ", room, ")");
    auto remainder = [&](size_t c) { return n * static_cast<int64_t>(by_class[c].size()) % count; };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return remainder(a) > remainder(b); });
    while (left > 0)
        for (size_t c : order)
            if (left > 0 && quota[c] < cap[c]) ++quota[c], --left;
    return first_rows(by_class, quota);
}

std::vector<int64_t> stratified_indices(const int32_t* lab, int64_t count, int num_classes, int64_t n,
                                        uint64_t seed, const std::string& what) {
    LRP_CHECK(n >= 1 && n <= count, "take_stratified: n = ", n, " must be in [1, ", count, "] for dataset '",
              what, "'");
    const auto by_class = shuffled_by_class(lab, count, num_classes, seed, what, "take_stratified");
    const int k = static_cast<int>(by_class.size());

    // Water-filling: classes smaller than the fair share give all they have; the rest share what is left,
    // the remainder going to the lowest class indices.
    std::vector<int64_t> quota(static_cast<size_t>(k), 0);
    std::vector<int> order;
    for (int c = 0; c < k; ++c)
        if (!by_class[c].empty()) order.push_back(c);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return by_class[a].size() < by_class[b].size(); });
    int64_t remaining = n;
    size_t first_big = 0;
    while (first_big < order.size()) {
        const int64_t share = remaining / static_cast<int64_t>(order.size() - first_big);
        const int c = order[first_big];
        if (static_cast<int64_t>(by_class[c].size()) > share) break;
        quota[c] = static_cast<int64_t>(by_class[c].size());
        remaining -= quota[c];
        ++first_big;
    }
    std::vector<int> big(order.begin() + static_cast<std::ptrdiff_t>(first_big), order.end());
    std::sort(big.begin(), big.end());
    if (!big.empty()) {
        const int64_t m = static_cast<int64_t>(big.size());
        for (int64_t j = 0; j < m; ++j) quota[big[j]] = remaining / m + (j < remaining % m ? 1 : 0);
    }

    const std::vector<int64_t> idx = first_rows(by_class, quota);
    LRP_CHECK(static_cast<int64_t>(idx.size()) == n, "take_stratified: internal error, picked ", idx.size(), " of ", n);
    return idx;
}

std::vector<int64_t> evenly_spaced_rows(int64_t count, int64_t n, const std::string& what) {
    LRP_CHECK(n >= 1 && n <= count, "evenly_spaced: n = ", n, " must be in [1, ", count, "] for dataset '", what, "'");
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) rows[static_cast<size_t>(k)] = static_cast<int64_t>((__int128)k * count / n);
    return rows;
}

Dataset Dataset::evenly_spaced(int64_t n) const {
    check_usable(*this, "evenly_spaced");
    return gather(*this, evenly_spaced_rows(size(), n, name));
}

Dataset Dataset::take_stratified(int64_t n, uint64_t seed) const {
    check_usable(*this, "take_stratified");
    return gather(*this, stratified_indices(labels.data<int32_t>(), size(), num_classes, n, seed, name));
}

std::vector<int64_t> complement_rows(const std::vector<int64_t>& rows, int64_t count) {
    std::vector<int64_t> rest;
    rest.reserve(static_cast<size_t>(std::max<int64_t>(0, count - static_cast<int64_t>(rows.size()))));
    size_t j = 0;
    for (int64_t i = 0; i < count; ++i) {
        if (j < rows.size() && rows[j] == i) ++j;
        else rest.push_back(i);
    }
    LRP_CHECK(j == rows.size(), "complement_rows: the rows are not ascending rows of 0..", count - 1);
    return rest;
}

std::pair<Dataset, Dataset> Dataset::split_stratified(int64_t n, uint64_t seed) const {
    check_usable(*this, "split_stratified");
    const std::vector<int64_t> held = held_out_indices(labels.data<int32_t>(), size(), num_classes, n, seed, name);
    return {gather(*this, held), gather(*this, complement_rows(held, size()))};
}

namespace detail {

void add_channel_sums(const uint8_t* image, int64_t c, int64_t hw, uint64_t* s, uint64_t* s2) {
    for (int64_t ch = 0; ch < c; ++ch) {
        const uint8_t* q = image + ch * hw;
        uint64_t a = 0, b = 0;
        for (int64_t j = 0; j < hw; ++j) {
            a += q[j];
            b += uint64_t(q[j]) * q[j];
        }
        s[ch] += a;
        s2[ch] += b;
    }
}

void mean_std_from_sums(const std::vector<uint64_t>& s, const std::vector<uint64_t>& s2, double count,
                        std::vector<float>& mean, std::vector<float>& stddev) {
    const size_t c = s.size();
    mean.assign(c, 0.f);
    stddev.assign(c, 0.f);
    if (count == 0) return;
    for (size_t ch = 0; ch < c; ++ch) {
        const double m = static_cast<double>(s[ch]) / count / 255.0;
        const double v = static_cast<double>(s2[ch]) / count / (255.0 * 255.0) - m * m;
        mean[ch] = static_cast<float>(m);
        const double sd = std::sqrt(std::max(v, 0.0));
        stddev[ch] = static_cast<float>(sd < 1e-6 ? 1.0 : sd);  // a constant channel: centred, not divided by 0
    }
}

}  // namespace detail

void compute_mean_std(const Tensor& images, std::vector<float>& mean, std::vector<float>& stddev) {
    check_dtype("compute_mean_std", "images", images, DType::U8);
    check_ndim("compute_mean_std", "images", images, 4);
    LRP_CHECK(images.device().is_cpu(), "compute_mean_std: images must be on the CPU");
    const int64_t n = images.dim(0), c = images.dim(1), hw = images.dim(2) * images.dim(3);
    std::vector<uint64_t> s(static_cast<size_t>(c), 0), s2(static_cast<size_t>(c), 0);
    const uint8_t* p = images.data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) detail::add_channel_sums(p + i * c * hw, c, hw, s.data(), s2.data());
    detail::mean_std_from_sums(s, s2, static_cast<double>(n) * static_cast<double>(hw), mean, stddev);
}

}  // namespace lrp::data
