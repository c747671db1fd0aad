// NVTX ranges so an Nsight Systems timeline reads by op and layer name. No-op in CPU-only builds;
// NVTX calls cost next to nothing when no profiler is attached.
#pragma once
#include "lrp/config.h"

#if LRP_HAVE_CUDA
#include <nvtx3/nvToolsExt.h>
namespace lrp {
struct NvtxRange {
    explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
    ~NvtxRange() { nvtxRangePop(); }
    NvtxRange(const NvtxRange&) = delete;
    NvtxRange& operator=(const NvtxRange&) = delete;
};
}  // namespace lrp
#else
namespace lrp {
struct NvtxRange {
    explicit NvtxRange(const char*) {}
};
}  // namespace lrp
#endif

#define LRP_NVTX_CAT2(a, b) a##b
#define LRP_NVTX_CAT(a, b) LRP_NVTX_CAT2(a, b)
#define LRP_NVTX_RANGE(name) ::lrp::NvtxRange LRP_NVTX_CAT(lrp_nvtx_, __LINE__)(name)
