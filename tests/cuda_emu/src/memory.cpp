// CUDA emulation (tests only): tracked, poisoned host allocations standing for device memory.
#include "lrp_emu/memory.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace lrp_emu {
namespace {
struct Alloc {
    size_t bytes;
    int device;
};
std::mutex g_mutex;
std::map<const char*, Alloc>& allocs() {
    static auto* m = new std::map<const char*, Alloc>;  // outlives static destructors that free memory
    return *m;
}

// The live allocation holding p, or end().
std::map<const char*, Alloc>::const_iterator find(const void* p) {
    const char* c = static_cast<const char*>(p);
    auto& m = allocs();
    auto it = m.upper_bound(c);
    if (it == m.begin()) return m.end();
    --it;
    if (c < it->first + std::max<size_t>(it->second.bytes, 1)) return it;
    return m.end();
}
}  // namespace

void* device_alloc(size_t bytes, int device) {
    if (bytes == 0) return nullptr;
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (!p) return nullptr;
    std::memset(p, 0xFF, bytes);
    std::lock_guard<std::mutex> lock(g_mutex);
    allocs()[static_cast<const char*>(p)] = Alloc{bytes, device};
    return p;
}

bool device_free(void* p) {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = allocs().find(static_cast<const char*>(p));
    if (it == allocs().end()) return false;
    allocs().erase(it);
    std::free(p);
    return true;
}

bool is_device(const void* p) { return device_of(p) >= 0; }

int device_of(const void* p) {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = find(p);
    return it == allocs().end() ? -1 : it->second.device;
}

std::string check_range(const void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = find(p);
    if (it == allocs().end()) return "pointer is not device memory";
    const size_t off = static_cast<size_t>(static_cast<const char*>(p) - it->first);
    if (bytes > it->second.bytes - off)
        return "range of " + std::to_string(bytes) + " bytes at offset " + std::to_string(off) +
               " runs past the end of a " + std::to_string(it->second.bytes) + "-byte allocation";
    return "";
}

std::string check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
    const bool dd = is_device(dst), sd = is_device(src);
    auto side = [&](const void* p, bool dev, bool want_dev, const char* name) -> std::string {
        if (kind == cudaMemcpyDefault) return dev ? check_range(p, bytes) : "";
        if (want_dev != dev) return std::string(name) + (want_dev ? " is not device memory" : " is device memory");
        return dev ? check_range(p, bytes) : "";
    };
    const bool want_dst = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool want_src = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    std::string e = side(dst, dd, want_dst, "destination");
    if (e.empty()) e = side(src, sd, want_src, "source");
    return e;
}

}  // namespace lrp_emu
