// Device-independent half of the context API: CPU memory (aligned, with stats), dispatch to the CUDA
// context, and the process-wide switches. CUDA specifics live in runtime/cuda/.
#include "lrp/context.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "lrp/config.h"
#include "lrp/error.h"
#include "lrp/log.h"
#include "lrp/op_profile.h"

#if LRP_HAVE_CUDA
#include "lrp/cuda/cuda_context.h"
#endif

namespace lrp {

namespace {
CachingAllocator& cpu_allocator() {
    // The CPU "caching" allocator reuses blocks too, which keeps stats uniform across devices.
    static auto* a = new CachingAllocator(
        "cpu", [](size_t n) -> void* { return std::aligned_alloc(64, n); }, [](void* p) { std::free(p); });
    return *a;
}
bool env_is_1(const char* name) {
    const char* e = std::getenv(name);
    return e && std::strcmp(e, "1") == 0;
}
std::atomic<bool>& tf32_flag() {
    static std::atomic<bool> f{env_is_1("LRP_ALLOW_TF32")};
    return f;
}
std::atomic<bool>& determinism_flag() {
    static std::atomic<bool> f{!env_is_1("LRP_NONDETERMINISTIC")};
    return f;
}
std::atomic<bool>& transforms_flag() {
    static std::atomic<bool> f{!env_is_1("LRP_CONV_NO_TRANSFORMS")};
    return f;
}
std::atomic<bool>& sync_flag() {
    static std::atomic<bool> f{LRP_CUDA_SYNC_CHECK_DEFAULT != 0 || env_is_1("LRP_CUDA_SYNC")};
    return f;
}
}  // namespace

KernelCtx kernel_ctx(Device d) {
    if (d.is_cpu()) return {d, nullptr};
    require_device(d);
#if LRP_HAVE_CUDA
    CudaContext& c = cuda_context(d.index);
    c.make_current();  // kernels launch on c's stream, which belongs to that device
    return {d, &c};
#else
    LRP_THROW("unreachable: CUDA device in a CPU-only build");
#endif
}

void* device_alloc(Device d, size_t bytes) {
    if (d.is_cpu()) return cpu_allocator().allocate(bytes);
    require_device(d);
#if LRP_HAVE_CUDA
    return cuda_context(d.index).allocator().allocate(bytes);
#else
    LRP_THROW("unreachable");
#endif
}

void device_free(Device d, void* p) noexcept {
    if (!p) return;
    if (d.is_cpu()) return cpu_allocator().deallocate(p);
#if LRP_HAVE_CUDA
    cuda_context(d.index).allocator().deallocate(p);
#endif
}

void copy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
    if (bytes == 0) return;
    if (dd.is_cpu() && sd.is_cpu()) {
        std::memcpy(dst, src, bytes);
        return;
    }
#if LRP_HAVE_CUDA
    if (profile::enabled()) {
        if (dd.is_cuda()) require_device(dd);
        if (sd.is_cuda()) require_device(sd);
        // (a copy between two devices also counts its wait for the source device's queued work)
        const char* what = dd.is_cpu() ? "copy_d2h" : sd.is_cpu() ? "copy_h2d" : "copy_d2d";
        profile::Scope timed(what, dd.is_cuda() ? dd : sd);
        cuda_copy_bytes(dst, dd, src, sd, bytes);
        return;
    }
    cuda_copy_bytes(dst, dd, src, sd, bytes);
#else
    LRP_THROW("copy involving ", (dd.is_cuda() ? dd : sd).str(), ": lrpcu was built without CUDA");
#endif
}

void zero_bytes(void* dst, Device d, size_t bytes) {
    if (bytes == 0) return;
    if (d.is_cpu()) {
        std::memset(dst, 0, bytes);
        return;
    }
    require_device(d);
#if LRP_HAVE_CUDA
    cuda_context(d.index).memset_zero(dst, bytes);
#endif
}

void synchronize(Device d) {
    if (d.is_cpu()) return;
    require_device(d);
#if LRP_HAVE_CUDA
    cuda_context(d.index).synchronize();
#endif
}

MemoryStats memory_stats(Device d) {
    if (d.is_cpu()) return cpu_allocator().stats();
    require_device(d);
#if LRP_HAVE_CUDA
    return cuda_context(d.index).allocator().stats();
#else
    return {};
#endif
}

void reset_peak_memory(Device d) {
    if (d.is_cpu()) return cpu_allocator().reset_peak();
    require_device(d);
#if LRP_HAVE_CUDA
    cuda_context(d.index).allocator().reset_peak();
#endif
}

void empty_cache(Device d) {
    if (d.is_cpu()) return cpu_allocator().release_cached();
    require_device(d);
#if LRP_HAVE_CUDA
    cuda_context(d.index).synchronize();
    cuda_context(d.index).allocator().release_cached();
#endif
}

bool allow_tf32() { return tf32_flag().load(); }
void set_allow_tf32(bool on) {
    tf32_flag().store(on);
    if (on) log_info("TF32 enabled for fp32 GEMM/convolution");
}
bool deterministic() { return determinism_flag().load(); }
void set_deterministic(bool on) { determinism_flag().store(on); }
bool allow_conv_transforms() { return transforms_flag().load(); }
void set_allow_conv_transforms(bool on) { transforms_flag().store(on); }
bool cuda_sync_debug() { return sync_flag().load(); }
void set_cuda_sync_debug(bool on) { sync_flag().store(on); }

}  // namespace lrp
