// CUDA emulation (tests only): force-included into every kernels/cuda/*.cu compiled by the host compiler.
// Builtins (threadIdx, ...), __shared__ as per-block storage, barriers, warp intrinsics and atomics run on
// the fiber scheduler of scheduler.cpp; kernel<<<...>>> launches are rewritten to lrp_emu::launch.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "lrp_emu/scheduler.h"

#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __forceinline__
#undef __launch_bounds__
#undef __constant__
#define __global__
#define __device__
#define __host__
#define __constant__ static
// One copy per OS thread; every fiber of a block runs on the launching thread, so the block shares it.
#define __shared__ static thread_local
#define __forceinline__ inline
#define __launch_bounds__(...)

using std::isfinite;
using std::isnan;

// CUDA's integer/float min and max (mixed arguments take the usual arithmetic conversions).
template <class A, class B>
inline std::common_type_t<A, B> min(A a, B b) {
    using R = std::common_type_t<A, B>;
    return static_cast<R>(b) < static_cast<R>(a) ? static_cast<R>(b) : static_cast<R>(a);
}
template <class A, class B>
inline std::common_type_t<A, B> max(A a, B b) {
    using R = std::common_type_t<A, B>;
    return static_cast<R>(a) < static_cast<R>(b) ? static_cast<R>(b) : static_cast<R>(a);
}

inline void __syncthreads() { lrp_emu::block_barrier(0); }
inline int __syncthreads_or(int pred) { return lrp_emu::block_barrier(pred != 0 ? 1 : 0) != 0; }

template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shfl of an 8-byte-or-less value");
    uint64_t bits = 0, out = 0;
    std::memcpy(&bits, &v, sizeof(T));
    out = lrp_emu::warp_shfl_down(mask, bits, delta, width);
    T r;
    std::memcpy(&r, &out, sizeof(T));
    return r;
}

template <class T>
unsigned __match_any_sync(unsigned mask, T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "match of an 8-byte-or-less value");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    return lrp_emu::warp_match_any(mask, bits);
}

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
// Round-to-nearest products and sums that are never fused into an FMA.
inline float __fmul_rn(float a, float b) {
    volatile float r = a * b;
    return r;
}
inline float __fadd_rn(float a, float b) {
    volatile float r = a + b;
    return r;
}

// Fibers never run concurrently, so a plain read-modify-write is atomic here.
template <class T>
T atomicAdd(T* p, T v) {
    const T old = *p;
    *p = old + v;
    return old;
}

namespace lrp_emu {
template <class T>
const void* pointer_of(const T& a) {
    if constexpr (std::is_pointer_v<T>) return reinterpret_cast<const void*>(a);
    else return nullptr;
}
// The body of kernel<<<grid, block, smem, stream>>>(args...): the arguments are converted to the
// kernel's parameter types and copied now, as CUDA copies them at launch (or at capture).
template <class... P, class... A>
void launch(dim3 grid, dim3 block, size_t smem, cudaStream_t stream, void (*kernel)(P...), A&&... args) {
    static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
    std::tuple<std::decay_t<P>...> copied(static_cast<std::decay_t<P>>(std::forward<A>(args))...);
    std::vector<const void*> pointers;
    std::apply(
        [&pointers](const auto&... a) {
            ((std::is_pointer_v<std::decay_t<decltype(a)>> ? pointers.push_back(pointer_of(a)) : void()), ...);
        },
        copied);
    submit_kernel(grid, block, smem, stream, std::move(pointers), [kernel, copied]() { std::apply(kernel, copied); });
}
}  // namespace lrp_emu
