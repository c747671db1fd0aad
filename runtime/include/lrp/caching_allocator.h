// CachingAllocator: keeps freed blocks in size-sorted free lists and reuses them, so steady-state
// training does no raw allocation (cudaMalloc/cudaFree). Backend-agnostic (raw alloc/free are
// callbacks), so its policy is tested on the CPU. Safe for one stream per device: a block freed
// on the host may be reused by the next launch because the stream orders the accesses.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace lrp {

struct MemoryStats {
    size_t in_use = 0;          // bytes handed out and not yet freed (rounded sizes)
    size_t peak_in_use = 0;     // maximum of in_use since the last reset_peak()
    size_t reserved = 0;        // bytes held from the raw allocator (in use + cached)
    size_t raw_allocs = 0;      // number of raw allocations (cudaMalloc calls)
    size_t raw_frees = 0;       // number of raw frees
    size_t cache_hits = 0;      // allocations served from the cache
};

class CachingAllocator {
public:
    using RawAlloc = std::function<void*(size_t)>;  // returns nullptr on out-of-memory
    using RawFree = std::function<void(void*)>;

    CachingAllocator(std::string name, RawAlloc alloc, RawFree free);
    ~CachingAllocator();  // does not free (process-lifetime allocators; freeing at exit races driver teardown)
    CachingAllocator(const CachingAllocator&) = delete;
    CachingAllocator& operator=(const CachingAllocator&) = delete;

    void* allocate(size_t bytes);  // throws lrp::Error with the stats on out-of-memory
    void deallocate(void* p);      // p must come from allocate(); nullptr is ignored
    void release_cached();         // returns every cached block to the raw allocator
    MemoryStats stats() const;
    void reset_peak();

    static size_t round_size(size_t bytes);  // 512-byte granules up to 1 MiB, 2 MiB granules above

private:
    void* take_cached(size_t rounded);  // caller holds mu_
    void release_cached_locked();

    std::string name_;
    RawAlloc raw_alloc_;
    RawFree raw_free_;
    mutable std::mutex mu_;
    std::multimap<size_t, void*> free_;          // size -> block
    std::unordered_map<void*, size_t> live_;     // block -> size
    MemoryStats stats_;
};

}  // namespace lrp
