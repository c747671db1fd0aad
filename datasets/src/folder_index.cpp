// FolderIndex helpers: subsets (the same rows as Dataset::subset / take_stratified) and the streaming
// per-channel statistics, decoded on a few threads with exactly compute_mean_std's integer sums.
#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "io.h"

namespace lrp::data {

namespace {

FolderIndex gather(const FolderIndex& ix, const std::vector<int64_t>& rows) {
    FolderIndex r = ix;
    r.files.clear();
    r.labels.clear();
    r.mask_files.clear();
    r.files.reserve(rows.size());
    r.labels.reserve(rows.size());
    for (int64_t i : rows) {
        r.files.push_back(ix.files[static_cast<size_t>(i)]);
        r.labels.push_back(ix.labels[static_cast<size_t>(i)]);
        if (!ix.mask_files.empty()) r.mask_files.push_back(ix.mask_files[static_cast<size_t>(i)]);
    }
    return r;
}

}  // namespace

FolderIndex FolderIndex::subset(int64_t begin, int64_t end) const {
    LRP_CHECK(0 <= begin && begin <= end && end <= size(), "subset: rows [", begin, ", ", end,
              ") out of range for dataset '", name, "' of ", size(), " samples");
    std::vector<int64_t> rows;
    for (int64_t i = begin; i < end; ++i) rows.push_back(i);
    return gather(*this, rows);
}

FolderIndex FolderIndex::take_stratified(int64_t n, uint64_t seed) const {
    LRP_CHECK(labels.size() == files.size(), "take_stratified: index '", name, "' has ", files.size(), " files but ",
              labels.size(), " labels");
    return gather(*this, stratified_indices(labels.data(), size(), num_classes(), n, seed, name));
}

FolderIndex FolderIndex::evenly_spaced(int64_t n) const {
    LRP_CHECK(labels.size() == files.size(), "evenly_spaced: index '", name, "' has ", files.size(), " files but ",
              labels.size(), " labels");
    return gather(*this, evenly_spaced_rows(size(), n, name));
}

std::pair<FolderIndex, FolderIndex> FolderIndex::split_stratified(int64_t n, uint64_t seed) const {
    LRP_CHECK(labels.size() == files.size(), "split_stratified: index '", name, "' has ", files.size(), " files but ",
              labels.size(), " labels");
    const std::vector<int64_t> held = held_out_indices(labels.data(), size(), num_classes(), n, seed, name);
    return {gather(*this, held), gather(*this, complement_rows(held, size()))};
}

void folder_mean_std(FolderIndex& ix, int64_t max_images, int threads) {
    const int64_t n = ix.size();
    LRP_CHECK(n > 0 && ix.image_bytes() > 0, "folder_mean_std: index '", ix.name, "' is empty");
    // Evenly spaced rows when sampling, else all of them.
    const int64_t m = (max_images > 0 && max_images < n) ? max_images : n;
    const std::vector<int64_t> rows = evenly_spaced_rows(n, m, ix.name);
    auto row = [&](int64_t k) { return rows[static_cast<size_t>(k)]; };
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = static_cast<int>(std::min<int64_t>(threads, m));

    const int64_t c = ix.channels, hw = int64_t(ix.height) * ix.width;
    std::vector<std::vector<uint64_t>> s(threads, std::vector<uint64_t>(c, 0)), s2 = s;
    // A corrupt image stops the work past it: every shard leaves the rows after the first failing one known, so
    // the error reported is always the one of the lowest failing row, whatever the thread count.
    std::vector<std::exception_ptr> errors(threads);
    std::vector<int64_t> failed_at(threads, m);
    std::atomic<int64_t> first_failure{m};
    auto work = [&](int t) {
        int64_t k = t;
        try {
            std::vector<uint8_t> buf(static_cast<size_t>(ix.image_bytes()));
            for (; k < m && k < first_failure.load(std::memory_order_relaxed); k += threads) {
                decode_indexed(ix, row(k), buf.data());
                detail::add_channel_sums(buf.data(), c, hw, s[t].data(), s2[t].data());
            }
        } catch (...) {
            errors[t] = std::current_exception();
            failed_at[t] = k;
            int64_t seen = first_failure.load();
            while (k < seen && !first_failure.compare_exchange_weak(seen, k)) {
            }
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(threads));
    int started = 1;  // shards 1 .. started-1 run on threads of their own
    try {
        for (; started < threads; ++started) pool.emplace_back(work, started);
    } catch (...) {  // fewer threads allowed (a container's process limit, no memory): the other shards run here
    }
    for (int t = started; t < threads; ++t) work(t);
    work(0);
    for (auto& th : pool) th.join();
    const auto first = std::min_element(failed_at.begin(), failed_at.end());
    if (*first < m) std::rethrow_exception(errors[static_cast<size_t>(first - failed_at.begin())]);
    for (int t = 1; t < threads; ++t)
        for (int64_t ch = 0; ch < c; ++ch) {
            s[0][ch] += s[t][ch];
            s2[0][ch] += s2[t][ch];
        }
    detail::mean_std_from_sums(s[0], s2[0], static_cast<double>(m) * static_cast<double>(hw), ix.mean, ix.std);
}

}  // namespace lrp::data
