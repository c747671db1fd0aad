// CUDA patch occlusion: one thread per (sample, rank j < m, pixel offset inside a patch), grid-stride; it
// writes every channel of its pixel. Order entries are trusted (no host sync); one outside [0, P) is skipped.
#include "common.cuh"
#include "families.h"

namespace lrp::kernels::cuda {

namespace {
__global__ void occlude_patches_k(const __grid_constant__ OcclusionDesc d, int pw, int P, const int32_t* order,
                                  float* x, int64_t total) {
    const int64_t area = static_cast<int64_t>(d.patch) * d.patch, HW = static_cast<int64_t>(d.H) * d.W;
    LRP_CUDA_LOOP(t, total) {
        const int64_t nj = t / area;  // n * m + j
        const int off = static_cast<int>(t % area);
        const int64_t n = nj / d.m;
        const int32_t pi = order[n * P + nj % d.m];
        if (pi < 0 || pi >= P) continue;
        const int h = (pi / pw) * d.patch + off / d.patch, w = (pi % pw) * d.patch + off % d.patch;
        if (h >= d.H || w >= d.W) continue;  // the partial last row / column of patches
        float* px = x + n * d.C * HW + static_cast<int64_t>(h) * d.W + w;
        for (int c = 0; c < d.C; ++c) px[c * HW] = d.fill[c];
    }
}

void occlude_patches(const Ctx& ctx, const OcclusionDesc& d, const int32_t* order, float* x) {
    const int64_t total = static_cast<int64_t>(d.N) * d.m * d.patch * d.patch;
    if (total == 0) return;
    occlude_patches_k<<<grid_for(total), kBlock, 0, stream_of(ctx)>>>(d, d.pw(), d.P(), order, x, total);
    LRP_CUDA_CHECK_LAUNCH("occlude_patches", stream_of(ctx));
}
}  // namespace

void register_occlusion(OpTable& t) { t.occlude_patches = occlude_patches; }

}  // namespace lrp::kernels::cuda
