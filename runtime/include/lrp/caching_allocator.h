// CachingAllocator: keeps freed blocks in size-sorted free lists and reuses them, so steady-state
// training does no raw allocation (cudaMalloc/cudaFree). Backend-agnostic (raw alloc/free are
// callbacks), so its policy is tested on the CPU. Safe for one stream per device: a block freed
// on the host may be reused by the next launch because the stream orders the accesses. Graph pools
// keep the blocks a captured CUDA graph works in away from everything else until the graph is gone.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
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

    // Graph pools (CUDA graph capture). Between begin_pool_capture() and end_pool_capture(), every block
    // handed out belongs to the new pool: a replay writes to those addresses, so when such a block is
    // freed (inside the capture or later) it goes back to its pool, never to the shared cache, and only
    // release_pool() returns the pool's blocks to the cache. Allocations during a capture take the pool's
    // own free blocks first, then the shared cache, then the raw allocator, and never release the cache
    // (a raw free would break the capture). A block allocated before the capture and freed during it
    // joins the pool too (the captured work may use it), as does a block of another graph's pool freed
    // during it: a block returns to the shared cache only once every pool that holds it is released, and a
    // capture reuses only freed blocks no other graph holds. Returns the pool id (> 0).
    int begin_pool_capture();
    void end_pool_capture();
    void release_pool(int id);  // after the graph is destroyed (its last replay is stream-ordered before reuse)
    int live_pools() const;     // pools not yet released

private:
    // find_cached: the smallest block of `list` (from size `rounded` up, waste bounded) that `usable`
    // accepts, or list.end(); take: moves it to the live blocks. Caller holds mu_.
    template <class Usable>
    std::multimap<size_t, void*>::iterator find_cached(std::multimap<size_t, void*>& list, size_t rounded,
                                                       Usable usable);
    void* take(std::multimap<size_t, void*>& list, std::multimap<size_t, void*>::iterator it);
    void release_cached_locked();

    std::string name_;
    RawAlloc raw_alloc_;
    RawFree raw_free_;
    mutable std::mutex mu_;
    std::multimap<size_t, void*> free_;          // size -> block
    std::unordered_map<void*, size_t> live_;     // block -> size
    MemoryStats stats_;
    int capturing_ = 0, next_pool_ = 1;                  // pool being captured (0: none)
    std::set<int> pools_;                                // pools not yet released
    std::unordered_map<void*, std::set<int>> owners_;    // block -> the graph pools that use it (never empty)
    std::multimap<size_t, void*> held_;                  // freed blocks that graphs still use (in owners_)
};

}  // namespace lrp
