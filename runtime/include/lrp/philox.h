// Philox4x32-10 counter-based RNG (Salmon et al., SC'11), identical on host and device: the same
// (seed, counter) gives the same bits on the CPU and in CUDA kernels. Element i of a stream at
// `offset` uses counter offset + i/4, lane i%4 (uniform) or offset + i/2, lanes 2(i%2),2(i%2)+1 (normal).
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define LRP_HD __host__ __device__ __forceinline__
#else
#define LRP_HD inline
#endif

namespace lrp {

struct Philox4 {
    uint32_t v[4];
};

LRP_HD uint32_t philox_mulhi(uint32_t a, uint32_t b) {
    return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

LRP_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
    const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 += W0;
            k1 += W1;
        }
        uint32_t hi0 = philox_mulhi(M0, c0), lo0 = M0 * c0;
        uint32_t hi1 = philox_mulhi(M1, c2), lo1 = M1 * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
    }
    return {{c0, c1, c2, c3}};
}

// Key = seed, counter = (lo, hi) of `counter`, then zeros.
LRP_HD Philox4 philox(uint64_t seed, uint64_t counter) {
    return philox4x32_10(static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u,
                         static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// [0, 1) with 24 random bits; exactly representable in fp32.
LRP_HD float uniform01(uint32_t x) { return static_cast<float>(x >> 8) * 5.9604644775390625e-08f; }
// (0, 1]: safe under log().
LRP_HD float uniform01_open0(uint32_t x) { return static_cast<float>((x >> 8) + 1u) * 5.9604644775390625e-08f; }

// Word k of r chosen with selects: a runtime index into r.v would put r in local memory on a GPU.
LRP_HD uint32_t philox_word(const Philox4& r, unsigned k) {
    return k == 0 ? r.v[0] : k == 1 ? r.v[1] : k == 2 ? r.v[2] : r.v[3];
}

LRP_HD float philox_uniform(uint64_t seed, uint64_t offset, uint64_t i) {
    Philox4 r = philox(seed, offset + i / 4);
    return uniform01(philox_word(r, static_cast<unsigned>(i % 4)));
}

LRP_HD float philox_normal(uint64_t seed, uint64_t offset, uint64_t i) {
    Philox4 r = philox(seed, offset + i / 2);
    const bool second = i % 2 != 0;
    float u1 = uniform01_open0(second ? r.v[2] : r.v[0]);
    float u2 = uniform01(second ? r.v[3] : r.v[1]);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.283185307179586f * u2);
}

// Counters consumed by n elements of each stream kind (to advance an offset past a draw).
LRP_HD uint64_t philox_uniform_counters(uint64_t n) { return (n + 3) / 4; }
LRP_HD uint64_t philox_normal_counters(uint64_t n) { return (n + 1) / 2; }

}  // namespace lrp
