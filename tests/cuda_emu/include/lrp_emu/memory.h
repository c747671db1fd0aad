// CUDA emulation (tests only): the emulated devices' allocations, tracked so that copies, sets and library
// calls can be bounds-checked and a host pointer passed where a device pointer belongs is named.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

namespace lrp_emu {
// Host memory standing for device memory, filled with 0xFF bytes (NaN as float) as a GPU's is undefined.
void* device_alloc(size_t bytes, int device);
bool device_free(void* p);  // false when p is not the start of a live allocation
bool is_device(const void* p);
int device_of(const void* p);  // -1 for host memory
// "" when [p, p + bytes) lies inside one live device allocation, else what is wrong.
std::string check_range(const void* p, size_t bytes);
std::string check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
}  // namespace lrp_emu
