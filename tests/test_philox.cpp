// Philox4x32-10 against Random123's published known-answer vectors; stream layout and Generator.
#include <set>

#include "lrp/generator.h"
#include "lrp/philox.h"
#include "test_util.h"

using namespace lrp;

TEST(PhiloxCpu, Random123KnownAnswers) {
    Philox4 a = philox4x32_10(0, 0, 0, 0, 0, 0);
    EXPECT_EQ(a.v[0], 0x6627e8d5u);
    EXPECT_EQ(a.v[1], 0xe169c58du);
    EXPECT_EQ(a.v[2], 0xbc57ac4cu);
    EXPECT_EQ(a.v[3], 0x9b00dbd8u);
    Philox4 b = philox4x32_10(~0u, ~0u, ~0u, ~0u, ~0u, ~0u);
    EXPECT_EQ(b.v[0], 0x408f276du);
    EXPECT_EQ(b.v[1], 0x41c83b0eu);
    EXPECT_EQ(b.v[2], 0xa20bc7c6u);
    EXPECT_EQ(b.v[3], 0x6d5451fdu);
    Philox4 c = philox4x32_10(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u);
    EXPECT_EQ(c.v[0], 0xd16cfe09u);
    EXPECT_EQ(c.v[1], 0x94fdccebu);
    EXPECT_EQ(c.v[2], 0x5001e420u);
    EXPECT_EQ(c.v[3], 0x24126ea1u);
}

TEST(PhiloxCpu, UniformStreamLayoutAndRange) {
    const uint64_t seed = 0x1234abcd5678ull;
    Philox4 r = philox(seed, 10);
    for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(philox_uniform(seed, 10, lane), uniform01(r.v[lane]));
    EXPECT_EQ(philox_uniform(seed, 10, 4), philox_uniform(seed, 11, 0));
    double sum = 0;
    for (int i = 0; i < 40000; ++i) {
        float u = philox_uniform(seed, 0, i);
        ASSERT_GE(u, 0.f);
        ASSERT_LT(u, 1.f);
        sum += u;
    }
    EXPECT_NEAR(sum / 40000, 0.5, 0.01);
    EXPECT_NE(philox_uniform(seed, 0, 0), philox_uniform(seed + 1, 0, 0));
}

TEST(PhiloxCpu, NormalMoments) {
    double s = 0, s2 = 0;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
        float z = philox_normal(7, 0, i);
        ASSERT_TRUE(std::isfinite(z));
        s += z;
        s2 += double(z) * z;
    }
    EXPECT_NEAR(s / n, 0.0, 0.02);
    EXPECT_NEAR(s2 / n, 1.0, 0.02);
}

TEST(GeneratorCpu, ReservesDisjointRangesAndRestores) {
    Generator g(5);
    EXPECT_EQ(g.reserve(10), 0u);
    EXPECT_EQ(g.reserve(3), 10u);
    EXPECT_EQ(g.offset(), 13u);
    uint32_t a = g.next_u32();
    Generator h(0);
    h.set_state(5, 13);
    EXPECT_EQ(h.next_u32(), a);
    std::set<uint32_t> seen;
    for (int i = 0; i < 1000; ++i) {
        uint32_t k = g.next_below(7);
        ASSERT_LT(k, 7u);
        seen.insert(k);
    }
    EXPECT_EQ(seen.size(), 7u);
}
