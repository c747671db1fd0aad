// CUDA emulation (tests only): the CUB block collectives lrpcu uses, with CUB's contracts: the block has
// exactly BLOCK_THREADS threads, a reduction's result is defined in thread 0 only (others get NaN or their
// own input here, so reading it elsewhere shows), and reusing TempStorage needs a __syncthreads between.
#pragma once
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace cub {
namespace emu_detail {
inline int linear_tid() { return static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)); }
inline void check_block(int want, const char* what) {
    const int have = static_cast<int>(blockDim.x * blockDim.y * blockDim.z);
    if (have != want)
        throw std::runtime_error(std::string(what) + " for " + std::to_string(want) + " threads used in a block of " +
                                 std::to_string(have));
}
}  // namespace emu_detail

template <class T, int BLOCK_THREADS>
class BlockReduce {
public:
    struct TempStorage {
        T v[BLOCK_THREADS];
    };
    explicit BlockReduce(TempStorage& s) : s_(s) { emu_detail::check_block(BLOCK_THREADS, "cub::BlockReduce"); }

    template <class Op>
    T Reduce(T in, Op op) {
        const int t = emu_detail::linear_tid();
        s_.v[t] = in;
        __syncthreads();
        if (t != 0) {
            if constexpr (std::is_floating_point<T>::value) return std::numeric_limits<T>::quiet_NaN();
            return in;
        }
        T acc = s_.v[0];
        for (int i = 1; i < BLOCK_THREADS; ++i) acc = op(acc, s_.v[i]);
        return acc;
    }
    T Sum(T in) {
        return Reduce(in, [](const T& a, const T& b) { return a + b; });
    }

private:
    TempStorage& s_;
};

template <class T, int BLOCK_THREADS>
class BlockScan {
public:
    struct TempStorage {
        T v[BLOCK_THREADS];
    };
    explicit BlockScan(TempStorage& s) : s_(s) { emu_detail::check_block(BLOCK_THREADS, "cub::BlockScan"); }

    void InclusiveSum(T in, T& out) {
        const int t = emu_detail::linear_tid();
        s_.v[t] = in;
        __syncthreads();
        T acc = s_.v[0];
        for (int i = 1; i <= t; ++i) acc = acc + s_.v[i];
        out = acc;
    }
    void ExclusiveSum(T in, T& out) {
        const int t = emu_detail::linear_tid();
        s_.v[t] = in;
        __syncthreads();
        T acc = T(0);
        for (int i = 0; i < t; ++i) acc = acc + s_.v[i];
        out = acc;
    }

private:
    TempStorage& s_;
};
}  // namespace cub
