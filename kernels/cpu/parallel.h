// Parallel loops for the CPU kernels: a persistent pool splits [0, n) into contiguous ranges. Callers hand it
// only independent items (each writes its own outputs, reductions stay inside one item), so a kernel's result
// does not depend on the thread count. LRP_CPU_THREADS sets the count (default: the CPUs this process may use).
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>

namespace lrp::kernels::cpu {

// Threads a parallel loop may use (the caller included), >= 1.
int cpu_threads();
// Sets that count (1 runs every loop on the caller); for tests and the command line. Not while a loop runs.
void set_cpu_threads(int n);
// Loops this process has split over two or more threads so far (for tests).
int64_t split_loops();
// The count LRP_CPU_THREADS asks for, or the CPUs in this process's affinity mask capped by its cgroup's CPU quota;
// throws naming a bad LRP_CPU_THREADS.
int default_cpu_threads();
// The CPU quota under cgroup filesystem `root`, rounded up: the smallest over the process's group and its parents
// (v2: <root><own_v2>/cpu.max up to <root>/cpu.max; v1: cpu.cfs_quota_us over cpu.cfs_period_us from
// <root>/cpu<own_v1> up to <root>/cpu); 0 when none is set or readable.
int cgroup_cpu_quota(const std::string& root, const std::string& own_v2, const std::string& own_v1);

namespace detail {
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
void parallel_for_impl(int64_t n, int64_t grain, void* ctx, RangeFn fn);
}  // namespace detail

// Calls f(begin, end) on disjoint ranges covering [0, n), each of at least `grain` items (but one range when
// n < 2 * grain), on up to cpu_threads() threads; returns when all are done. An exception from f is rethrown
// here (the lowest range's; the other ranges still run). A loop started inside another one, or while another host
// thread runs one, runs on its caller.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
    if (n <= 0) return;
    auto call = [](void* ctx, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(ctx))(b, e); };
    detail::parallel_for_impl(n, grain, const_cast<void*>(static_cast<const void*>(&f)), call);
}

// True when the CPU GEMM runs on its caller's thread only (a threaded OpenBLAS, which this holds at one thread from
// the first call on, or lrpcu's own kernel) and lrpcu splits large products into tiles itself (gemm.cpp).
bool tiles_itself();
// True when the GEMM is another CBLAS library (not OpenBLAS), which splits each product over threads of its own.
bool gemm_threads_itself();
// Multiply-adds per GEMM tile: 2^24 unless LRP_CPU_TILE_WORK sets it (for tests: small values tile every product;
// tiles of another size may round differently).
int64_t gemm_tile_work();

// Work units (about one float read and one written) a range holds at least before a loop splits: 32768 unless
// LRP_CPU_MIN_WORK sets it (the tests set 1, so that every loop splits however small).
int64_t min_range_work();
void set_min_range_work(int64_t work);

// Items per range when one item costs `per_item` units.
inline int64_t grain_for(int64_t per_item) {
    const int64_t work = min_range_work();
    return per_item >= work ? 1 : (work + per_item - 1) / (per_item > 0 ? per_item : 1);
}

// f(i) for every i in [0, n): elementwise work, in parallel ranges.
template <class F>
void parallel_each(int64_t n, F&& f) {
    parallel_for(n, grain_for(1), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) f(i);
    });
}

inline void parallel_fill(float* y, int64_t n, float value) {
    parallel_for(n, grain_for(1), [&](int64_t b, int64_t e) { std::fill(y + b, y + e, value); });
}

}  // namespace lrp::kernels::cpu
