// CachingAllocator policy: size rounding, best-fit reuse with bounded waste, release-and-retry on OOM,
// graph pools that keep a captured graph's blocks out of the shared cache.
#include "lrp/caching_allocator.h"

#include <algorithm>
#include <iterator>

#include "lrp/error.h"
#include "lrp/log.h"

namespace lrp {

namespace {
constexpr size_t kSmallGranule = 512;
constexpr size_t kSmallLimit = size_t(1) << 20;
constexpr size_t kLargeGranule = size_t(2) << 20;
size_t round_up(size_t x, size_t g) { return (x + g - 1) / g * g; }
}  // namespace

CachingAllocator::CachingAllocator(std::string name, RawAlloc alloc, RawFree free)
    : name_(std::move(name)), raw_alloc_(std::move(alloc)), raw_free_(std::move(free)) {}

CachingAllocator::~CachingAllocator() = default;

size_t CachingAllocator::round_size(size_t bytes) {
    if (bytes == 0) bytes = 1;
    return bytes <= kSmallLimit ? round_up(bytes, kSmallGranule) : round_up(bytes, kLargeGranule);
}

// The smallest block of `list` that fits `rounded` with bounded waste (at most 2x for small, +1 granule for
// large) and is usable; list.end() when there is none.
template <class Usable>
std::multimap<size_t, void*>::iterator CachingAllocator::find_cached(std::multimap<size_t, void*>& list,
                                                                     size_t rounded, Usable usable) {
    const size_t limit = rounded <= kSmallLimit ? 2 * rounded : rounded + kLargeGranule;
    auto it = list.lower_bound(rounded);
    while (it != list.end() && it->first <= limit && !usable(it->second)) ++it;
    return it != list.end() && it->first <= limit ? it : list.end();
}

void* CachingAllocator::take(std::multimap<size_t, void*>& list, std::multimap<size_t, void*>::iterator it) {
    void* p = it->second;
    const size_t sz = it->first;
    list.erase(it);
    live_[p] = sz;
    stats_.in_use += sz;
    stats_.cache_hits++;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
    return p;
}

void* CachingAllocator::allocate(size_t bytes) {
    size_t rounded = round_size(bytes);
    std::lock_guard<std::mutex> lk(mu_);
    if (capturing_) {
        // The best fit among the capture's own freed blocks (no other graph may still use them) and the
        // shared cache, the capture's own on a tie. Taking the own list first even when the shared cache fits
        // better gave a later, larger request nothing (a cudaMalloc the eager pass did not need).
        const int me = capturing_;
        auto own = find_cached(held_, rounded, [&](void* b) {
            const std::set<int>& o = owners_.at(b);
            return o.size() == 1 && *o.begin() == me;
        });
        auto shared = find_cached(free_, rounded, [](void*) { return true; });
        void* p = nullptr;
        if (own != held_.end() && (shared == free_.end() || own->first <= shared->first)) p = take(held_, own);
        else if (shared != free_.end()) p = take(free_, shared);
        if (p) {
            owners_[p] = {me};
            return p;
        }
    } else {
        auto it = find_cached(free_, rounded, [](void*) { return true; });
        if (it != free_.end()) return take(free_, it);
    }
    void* p = raw_alloc_(rounded);
    if (!p && !free_.empty() && !capturing_) {  // out of memory: give the cache back and retry once
        release_cached_locked();
        p = raw_alloc_(rounded);
    }
    LRP_CHECK(p != nullptr, name_, ": out of memory allocating ", bytes, " bytes (in use ", stats_.in_use,
              ", peak ", stats_.peak_in_use, ", reserved ", stats_.reserved, ")",
              capturing_ ? " during a graph capture, where the cache cannot be released" : "");
    if (capturing_) owners_[p] = {capturing_};
    live_[p] = rounded;
    stats_.raw_allocs++;
    stats_.reserved += rounded;
    stats_.in_use += rounded;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
    return p;
}

void CachingAllocator::deallocate(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lk(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) {
        log_error(name_, ": deallocate of a pointer this allocator does not own");
        return;
    }
    stats_.in_use -= it->second;
    // Freed inside a capture: the captured work may have used it, so a replay may too; the capturing graph
    // holds it (with any graph that already did).
    if (capturing_) owners_[p].insert(capturing_);
    if (owners_.count(p)) held_.emplace(it->second, p);  // a graph still writes here on replay
    else free_.emplace(it->second, p);
    live_.erase(it);
}

int CachingAllocator::begin_pool_capture() {
    std::lock_guard<std::mutex> lk(mu_);
    LRP_CHECK(capturing_ == 0, name_, ": a graph capture is already open (pool ", capturing_, ")");
    capturing_ = next_pool_++;
    pools_.insert(capturing_);
    return capturing_;
}

void CachingAllocator::end_pool_capture() {
    std::lock_guard<std::mutex> lk(mu_);
    capturing_ = 0;
}

void CachingAllocator::release_pool(int id) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!pools_.erase(id)) return;
    if (capturing_ == id) capturing_ = 0;
    for (auto it = owners_.begin(); it != owners_.end();) {
        it->second.erase(id);
        it = it->second.empty() ? owners_.erase(it) : std::next(it);
    }
    // Freed blocks no graph holds any more serve other tensors again; blocks still held by tensors return
    // to the shared cache when those are freed.
    for (auto it = held_.begin(); it != held_.end();) {
        if (owners_.count(it->second)) {
            ++it;
        } else {
            free_.emplace(it->first, it->second);
            it = held_.erase(it);
        }
    }
}

int CachingAllocator::live_pools() const {
    std::lock_guard<std::mutex> lk(mu_);
    return static_cast<int>(pools_.size());
}

void CachingAllocator::release_cached_locked() {
    for (auto& [sz, p] : free_) {
        raw_free_(p);
        stats_.reserved -= sz;
        stats_.raw_frees++;
    }
    free_.clear();
}

void CachingAllocator::release_cached() {
    std::lock_guard<std::mutex> lk(mu_);
    release_cached_locked();
}

MemoryStats CachingAllocator::stats() const {
    std::lock_guard<std::mutex> lk(mu_);
    return stats_;
}

void CachingAllocator::reset_peak() {
    std::lock_guard<std::mutex> lk(mu_);
    stats_.peak_in_use = stats_.in_use;
}

}  // namespace lrp
