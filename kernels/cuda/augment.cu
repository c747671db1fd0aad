// CUDA input-pipeline kernels: augment_batch (grid-stride, each thread recomputing its sample's crop/flip; a resized
// crop's window drawn once per block) and random_erasing (one block per sample: thread 0 samples the box into shared
// memory, the block fills it). Same decisions and arithmetic as the CPU.
#include <cmath>

#include "common.cuh"
#include "families.h"
#include "lrp/kernels/augment_sampler.h"

namespace lrp::kernels::cuda {

namespace {
// An index outside [0, d.rows) gives a NaN image instead of a read out of bounds (no host sync).
// __grid_constant__: d.mean[c] / d.std[c] are read from the parameter space (no local-memory copy).
__global__ void augment_batch_k(const __grid_constant__ AugmentDesc d, const uint8_t* images, const int32_t* indices,
                                uint64_t seed, uint64_t offset, float* out, int64_t total) {
    const int64_t plane = static_cast<int64_t>(d.H) * d.W, image = plane * d.C;
    LRP_CUDA_LOOP(i, total) {
        const int x = static_cast<int>(i % d.W);
        const int y = static_cast<int>((i / d.W) % d.H);
        const int c = static_cast<int>((i / plane) % d.C);
        const int64_t n = i / image;
        const int32_t idx = indices[n];
        if (idx < 0 || idx >= d.rows) {
            out[i] = NAN;
            continue;
        }
        const CropFlip cf = sample_crop_flip(seed, offset, n, d.pad, d.flip);
        const int sy = y + cf.dy - d.pad;
        const int sx = (cf.flip ? d.W - 1 - x : x) + cf.dx - d.pad;
        float v = 0.f;
        if (sy >= 0 && sy < d.H && sx >= 0 && sx < d.W)
            v = static_cast<float>(images[idx * image + c * plane + static_cast<int64_t>(sy) * d.W + sx]);
        // IEEE division and subtraction (no fast math, no multiply-add to contract): matches the CPU.
        out[i] = (v / 255.f - d.mean[c]) / d.std[c];
    }
}

// Resized crop: blockIdx.y strides over samples, blockIdx.x over a sample's elements; thread 0 of each block
// samples the window into shared memory (a few blocks per sample repeat the same cheap draw).
__global__ void augment_resized_k(const __grid_constant__ AugmentDesc d, const uint8_t* images,
                                  const int32_t* indices, uint64_t seed, uint64_t offset, float* out) {
    __shared__ CropBox box;
    const int64_t plane = static_cast<int64_t>(d.H) * d.W, image = plane * d.C;
    for (int64_t n = blockIdx.y; n < d.N; n += gridDim.y) {
        __syncthreads();  // the previous sample's window is no longer read
        if (threadIdx.x == 0) box = sample_resized_crop(d, seed, offset, n);
        __syncthreads();
        const CropBox b = box;
        const int32_t idx = indices[n];
        const bool bad = idx < 0 || idx >= d.rows;
        const float sy = static_cast<float>(b.h) / static_cast<float>(d.H);
        const float sx = static_cast<float>(b.w) / static_cast<float>(d.W);
        const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
        for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < image; i += step) {
            float* o = out + n * image + i;
            if (bad) {
                *o = NAN;
                continue;
            }
            const int x = static_cast<int>(i % d.W), y = static_cast<int>((i / d.W) % d.H);
            const int c = static_cast<int>(i / plane);
            const float v = resized_crop_value(images + idx * image + c * plane, d.W, b, sy, sx, y,
                                               b.flip ? d.W - 1 - x : x, d.nearest);
            *o = (v / 255.f - d.mean[c]) / d.std[c];
        }
    }
}

__global__ void random_erasing_k(const __grid_constant__ EraseDesc d, uint64_t seed, uint64_t offset, float* x) {
    __shared__ Box box;
    const int64_t plane = static_cast<int64_t>(d.H) * d.W;
    for (int64_t n = blockIdx.x; n < d.N; n += gridDim.x) {
        __syncthreads();  // the previous sample's box is no longer read
        if (threadIdx.x == 0) box = sample_erase_box(d, seed, offset, n);
        __syncthreads();
        const Box b = box;
        if (!b.valid) continue;  // uniform across the block
        fill_box_block(x, b, n, d.C, d.W, plane, d.value);
    }
}

void augment_batch(const Ctx& ctx, const AugmentDesc& d, const uint8_t* images, const int32_t* indices,
                   uint64_t seed, uint64_t offset, float* out) {
    const int64_t total = static_cast<int64_t>(d.N) * d.C * d.H * d.W;
    if (total == 0) return;
    if (d.resized_crop) {
        const int64_t image = total / d.N;
        const dim3 grid(static_cast<unsigned>(std::min<int64_t>((image + kBlock - 1) / kBlock, 32)),
                        static_cast<unsigned>(std::min(d.N, 65535)));
        augment_resized_k<<<grid, kBlock, 0, stream_of(ctx)>>>(d, images, indices, seed, offset, out);
        LRP_CUDA_CHECK_LAUNCH("augment_batch", stream_of(ctx));
        return;
    }
    augment_batch_k<<<grid_for(total), kBlock, 0, stream_of(ctx)>>>(d, images, indices, seed, offset, out, total);
    LRP_CUDA_CHECK_LAUNCH("augment_batch", stream_of(ctx));
}

void random_erasing(const Ctx& ctx, const EraseDesc& d, uint64_t seed, uint64_t offset, float* x) {
    if (d.N == 0) return;
    const unsigned blocks = static_cast<unsigned>(std::min(d.N, 65535 * 8));
    random_erasing_k<<<blocks, kBlock, 0, stream_of(ctx)>>>(d, seed, offset, x);
    LRP_CUDA_CHECK_LAUNCH("random_erasing", stream_of(ctx));
}
}  // namespace

void register_augment(OpTable& t) {
    t.augment_batch = augment_batch;
    t.random_erasing = random_erasing;
}

}  // namespace lrp::kernels::cuda
