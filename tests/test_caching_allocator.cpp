// CachingAllocator policy, on a fake raw allocator: reuse without raw calls in steady state, bounded
// waste, peak tracking, release-and-retry on out-of-memory, and an OOM error carrying the stats.
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
