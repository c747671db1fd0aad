// CachingAllocator policy, on a fake raw allocator: reuse without raw calls in steady state, bounded
// waste, peak tracking, release-and-retry on out-of-memory, an OOM error carrying the stats, and graph
// pools (captured blocks kept from other tensors until released).
#include "lrp/caching_allocator.h"

#include <cstdlib>
#include <map>

#include "test_util.h"

using lrp::CachingAllocator;

namespace {
struct FakeRaw {
    size_t budget = size_t(1) << 30;
    size_t used = 0;
    std::map<void*, size_t> live;
    // The allocator never frees on destruction (by design); what it still holds is freed here, so a
    // leak checker sees only real leaks.
    ~FakeRaw() {
        for (auto& kv : live) std::free(kv.first);
    }
    CachingAllocator make() {
        return CachingAllocator(
            "fake",
            [this](size_t n) -> void* {
                if (used + n > budget) return nullptr;
                used += n;
                void* p = std::malloc(n);
                live[p] = n;
                return p;
            },
            [this](void* p) {
                used -= live[p];
                live.erase(p);
                std::free(p);
            });
    }
};
}  // namespace

TEST(CachingAllocatorCpu, RoundsSizes) {
    EXPECT_EQ(CachingAllocator::round_size(1), 512u);
    EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
    EXPECT_EQ(CachingAllocator::round_size((1 << 20) + 1), size_t(2) << 20);
    EXPECT_EQ(CachingAllocator::round_size(0), 512u);
}

TEST(CachingAllocatorCpu, SteadyStateMakesNoRawAllocations) {
    FakeRaw raw;
    auto a = raw.make();
    for (int step = 0; step < 5; ++step) {
        void* p1 = a.allocate(1000);
        void* p2 = a.allocate(5u << 20);
        void* p3 = a.allocate(300);
        a.deallocate(p2);
        a.deallocate(p1);
        a.deallocate(p3);
    }
    auto s = a.stats();
    EXPECT_EQ(s.raw_allocs, 3u);
    EXPECT_EQ(s.cache_hits, 12u);
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_EQ(s.peak_in_use, 1024u + (6u << 20) + 512u);
    EXPECT_EQ(s.reserved, s.peak_in_use);
}

TEST(CachingAllocatorCpu, DoesNotHandOutFarLargerBlocks) {
    FakeRaw raw;
    auto a = raw.make();
    void* big = a.allocate(64 * 1024);
    a.deallocate(big);
    void* small = a.allocate(512);  // 128x smaller: must not take the 64 KiB block
    EXPECT_NE(small, big);
    EXPECT_EQ(a.stats().raw_allocs, 2u);
    a.deallocate(small);
}

TEST(CachingAllocatorCpu, PeakResets) {
    FakeRaw raw;
    auto a = raw.make();
    void* p = a.allocate(4096);
    a.deallocate(p);
    EXPECT_EQ(a.stats().peak_in_use, 4096u);
    a.reset_peak();
    EXPECT_EQ(a.stats().peak_in_use, 0u);
}

TEST(CachingAllocatorCpu, OutOfMemoryReleasesCacheThenThrowsWithStats) {
    FakeRaw raw;
    raw.budget = 7u << 20;
    auto a = raw.make();
    void* p = a.allocate(6u << 20);  // 6 MiB block
    a.deallocate(p);                 // cached
    void* q = a.allocate(2u << 20);  // too small to reuse it, no room beside it: cache released, retried
    EXPECT_NE(q, nullptr);
    EXPECT_EQ(a.stats().raw_frees, 1u);
    try {
        a.allocate(100u << 20);
        FAIL() << "no throw";
    } catch (const lrp::Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("out of memory"), std::string::npos) << m;
        EXPECT_NE(m.find("in use"), std::string::npos) << m;
    }
    a.deallocate(q);
    a.release_cached();
    EXPECT_TRUE(raw.live.empty());
}

// ---- graph pools: the blocks a captured graph works in stay its own until the pool is released ----

// An eager run warms the cache; the capture then needs no raw allocation, and what the captured work
// frees is not handed to later allocations while the graph lives.
TEST(CachingAllocatorCpu, GraphPoolKeepsCapturedBlocksFromOtherTensors) {
    FakeRaw raw;
    auto a = raw.make();
    auto work = [&] {  // a step: two temporaries freed inside, one output kept
        void* t1 = a.allocate(3000);
        void* t2 = a.allocate(3u << 20);
        void* out = a.allocate(100);
        a.deallocate(t1);
        a.deallocate(t2);
        return out;
    };
    a.deallocate(work());
    const size_t raw0 = a.stats().raw_allocs;
    const int pool = a.begin_pool_capture();
    EXPECT_GT(pool, 0);
    EXPECT_THROW(a.begin_pool_capture(), lrp::Error);
    void* out = work();
    a.end_pool_capture();
    EXPECT_EQ(a.stats().raw_allocs, raw0) << "the capture took the cached blocks";
    EXPECT_EQ(a.live_pools(), 1);
    // After the capture, same-size requests must not get the graph's temporaries (a replay writes there).
    void* e1 = a.allocate(3000);
    void* e2 = a.allocate(3u << 20);
    EXPECT_EQ(a.stats().raw_allocs, raw0 + 2);
    // The graph's output, freed by its tensor after the capture, also stays in the pool.
    a.deallocate(out);
    void* e3 = a.allocate(100);
    EXPECT_NE(e3, out);
    a.deallocate(e1), a.deallocate(e2), a.deallocate(e3);
    // Released: the pool's blocks serve other tensors again, without raw allocations.
    a.release_pool(pool);
    EXPECT_EQ(a.live_pools(), 0);
    const size_t raw1 = a.stats().raw_allocs;
    void* f1 = a.allocate(3000);
    void* f2 = a.allocate(3u << 20);
    void* f3 = a.allocate(100);
    void* f4 = a.allocate(100);
    EXPECT_EQ(a.stats().raw_allocs, raw1);
    a.deallocate(f1), a.deallocate(f2), a.deallocate(f3), a.deallocate(f4);
    EXPECT_EQ(a.stats().in_use, 0u);
}

// A block of graph A freed during graph B's capture is used by both: it stays out of the shared cache until
// both pools are released, and neither capture reuses it while the other graph holds it.
TEST(CachingAllocatorCpu, BlockSharedByTwoGraphsWaitsForBoth) {
    FakeRaw raw;
    auto a = raw.make();
    const int ga = a.begin_pool_capture();
    void* p = a.allocate(4096);  // graph A's output, handed to graph B
    a.end_pool_capture();
    const int gb = a.begin_pool_capture();
    a.deallocate(p);  // graph B consumed and freed it
    void* q = a.allocate(4096);
    EXPECT_NE(q, p) << "graph B reused a block graph A still writes";
    a.end_pool_capture();
    a.release_pool(ga);
    void* r = a.allocate(4096);
    EXPECT_NE(r, p) << "graph B (still alive) replays on it";
    const int gc = a.begin_pool_capture();
    void* s2 = a.allocate(4096);
    EXPECT_NE(s2, p) << "another graph's block";
    a.end_pool_capture();
    a.release_pool(gb);
    void* t = a.allocate(4096);
    EXPECT_EQ(t, p) << "both graphs gone: the shared cache has it again";
    for (void* b : {q, r, s2, t}) a.deallocate(b);
    a.release_pool(gc);
    EXPECT_EQ(a.live_pools(), 0);
    EXPECT_EQ(a.stats().in_use, 0u);
}

// A block the graph still holds when its pool is released returns to the shared cache when freed; a
// block freed during the capture is reused by the same capture (its pool) first.
TEST(CachingAllocatorCpu, GraphPoolReusesItsOwnBlocksAndHandsBackLiveOnes) {
    FakeRaw raw;
    auto a = raw.make();
    const int pool = a.begin_pool_capture();
    void* t = a.allocate(2048);
    a.deallocate(t);
    void* u = a.allocate(2048);
    EXPECT_EQ(u, t) << "the pool's own freed block";
    a.end_pool_capture();
    a.release_pool(pool);
    a.deallocate(u);  // freed after the release: back to the shared cache
    void* v = a.allocate(2048);
    EXPECT_EQ(v, u);
    a.deallocate(v);
    EXPECT_EQ(a.stats().raw_allocs, 1u);
}

// A block allocated before the capture and freed inside it (an eager tensor the captured work used, then
// dropped) is the graph's as well: not handed to later tensors, not returned by release_cached() nor by
// the out-of-memory retry while the graph lives; released with the pool.
TEST(CachingAllocatorCpu, GraphPoolTakesBlocksAllocatedBeforeAndFreedDuringTheCapture) {
    FakeRaw raw;
    auto a = raw.make();
    void* t = a.allocate(2048);
    const int pool = a.begin_pool_capture();
    a.deallocate(t);
    a.end_pool_capture();
    void* u = a.allocate(2048);
    EXPECT_NE(u, t) << "a replay may still write to the block";
    a.release_cached();
    EXPECT_EQ(raw.live.count(t), 1u) << "the graph's block must not be freed while the graph lives";
    a.release_pool(pool);
    void* v = a.allocate(2048);
    EXPECT_EQ(v, t) << "released with the pool";
    a.deallocate(u), a.deallocate(v);
    EXPECT_EQ(a.stats().in_use, 0u);
    a.release_cached();
    EXPECT_TRUE(raw.live.empty());
}

// Out of memory during a capture: the cache is not released (a raw free would break the capture), and
// the error says why.
TEST(CachingAllocatorCpu, OutOfMemoryDuringCaptureKeepsTheCache) {
    FakeRaw raw;
    raw.budget = 7u << 20;
    auto a = raw.make();
    a.deallocate(a.allocate(6u << 20));
    const int pool = a.begin_pool_capture();
    lrp::test::expect_error([&] { a.allocate(2u << 20); }, {"out of memory", "during a graph capture"});
    EXPECT_EQ(a.stats().raw_frees, 0u);
    a.end_pool_capture();
    a.release_pool(pool);
    a.release_cached();
    EXPECT_TRUE(raw.live.empty());
}

// Inside a capture a request takes the best fit among the capture's freed blocks and the shared cache: a
// 1024-byte request with an exact block in the cache leaves the capture's freed 2048-byte block to the
// 2048-byte request after it (taking the capture's own block first cost that request a raw allocation).
TEST(CachingAllocatorCpu, CaptureTakesTheBestFitAcrossItsBlocksAndTheCache) {
    FakeRaw raw;
    CachingAllocator a = raw.make();
    a.deallocate(a.allocate(1024));  // in the shared cache
    const int pool = a.begin_pool_capture();
    void* big = a.allocate(2048);
    a.deallocate(big);  // the capture's own freed block
    const size_t raw0 = a.stats().raw_allocs;
    void* small = a.allocate(1024);
    void* big2 = a.allocate(2048);
    EXPECT_EQ(a.stats().raw_allocs, raw0) << "both requests are served from cached blocks";
    EXPECT_EQ(big2, big);
    a.deallocate(small), a.deallocate(big2);
    a.end_pool_capture();
    a.release_pool(pool);
    EXPECT_EQ(a.stats().in_use, 0u);
}
