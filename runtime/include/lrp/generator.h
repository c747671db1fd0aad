// Generator: a (seed, offset) pair handing out disjoint Philox counter ranges. Its whole state is two
// integers, so checkpoints save it and resume reproduces the same random stream on CPU and CUDA.
#pragma once
#include <cstdint>

#include "lrp/philox.h"

namespace lrp {

class Generator {
public:
    explicit Generator(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
    uint64_t seed() const { return seed_; }
    uint64_t offset() const { return offset_; }
    void set_state(uint64_t seed, uint64_t offset) {
        seed_ = seed;
        offset_ = offset;
    }
    // Reserves `counters` Philox counters and returns the first one.
    uint64_t reserve(uint64_t counters) {
        uint64_t o = offset_;
        offset_ += counters;
        return o;
    }
    // Host-side draws (each consumes one counter).
    uint32_t next_u32() { return philox(seed_, reserve(1)).v[0]; }
    float next_uniform() { return uniform01(next_u32()); }
    // Uniform integer in [0, n) by rejection (no modulo bias); n > 0.
    uint32_t next_below(uint32_t n);

private:
    uint64_t seed_;
    uint64_t offset_;
};

inline uint32_t Generator::next_below(uint32_t n) {
    const uint64_t range = uint64_t(1) << 32;
    const uint64_t limit = range - range % n;
    for (;;) {
        uint32_t x = next_u32();
        if (x < limit) return x % n;
    }
}

}  // namespace lrp
