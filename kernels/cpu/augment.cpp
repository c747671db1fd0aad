// CPU reference input-pipeline kernels: augment_batch (gather + random crop, or resized crop, + flip + normalise
// from a uint8 dataset) and random_erasing (in place), with the per-sample decisions of augment_sampler.h. Samples of
// augment_batch run in parallel (parallel.h).
#include "families.h"
#include "parallel.h"
#include "lrp/error.h"
#include "lrp/kernels/augment_sampler.h"

namespace lrp::kernels::cpu {

namespace {
// One sample's resized crop b of the stored image src, normalised into dst.
void resized_sample(const AugmentDesc& d, const uint8_t* src, const CropBox& b, float* dst) {
    const int64_t plane = static_cast<int64_t>(d.H) * d.W;
    const float sy = static_cast<float>(b.h) / static_cast<float>(d.H);
    const float sx = static_cast<float>(b.w) / static_cast<float>(d.W);
    for (int c = 0; c < d.C; ++c)
        for (int y = 0; y < d.H; ++y)
            for (int x = 0; x < d.W; ++x) {
                const float v = resized_crop_value(src + c * plane, d.W, b, sy, sx, y, b.flip ? d.W - 1 - x : x,
                                                   d.nearest);
                dst[c * plane + y * d.W + x] = (v / 255.f - d.mean[c]) / d.std[c];
            }
}

// out[n, c, y, x] = (v / 255 - mean[c]) / std[c], v = the cropped-then-flipped source pixel or 0 in the
// padding. An index outside [0, d.rows) throws here; the CUDA kernel, which cannot throw, writes a NaN
// image for it instead.
void augment_batch(const Ctx&, const AugmentDesc& d, const uint8_t* images, const int32_t* indices, uint64_t seed,
                   uint64_t offset, float* out) {
    const int64_t plane = static_cast<int64_t>(d.H) * d.W, image = plane * d.C;
    parallel_for(d.N, grain_for(image), [&](int64_t n0, int64_t n1) {
        for (int64_t n = n0; n < n1; ++n) {
            const int32_t idx = indices[n];
            LRP_CHECK(idx >= 0 && idx < d.rows, "augment_batch: indices[", n, "] = ", idx, " is out of range [0, ",
                      d.rows, ")");
            const uint8_t* src = images + idx * image;
            float* dst = out + n * image;
            if (d.resized_crop) {
                resized_sample(d, src, sample_resized_crop(d, seed, offset, n), dst);
                continue;
            }
            const CropFlip cf = sample_crop_flip(seed, offset, n, d.pad, d.flip);
            for (int c = 0; c < d.C; ++c) {
                const float mean = d.mean[c], sd = d.std[c];
                for (int y = 0; y < d.H; ++y) {
                    const int sy = y + cf.dy - d.pad;
                    const bool row_in = sy >= 0 && sy < d.H;
                    for (int x = 0; x < d.W; ++x) {
                        const int sx = (cf.flip ? d.W - 1 - x : x) + cf.dx - d.pad;
                        const bool in = row_in && sx >= 0 && sx < d.W;
                        const float v = in ? static_cast<float>(src[c * plane + sy * d.W + sx]) : 0.f;
                        dst[c * plane + y * d.W + x] = (v / 255.f - mean) / sd;
                    }
                }
            }
        }
    });
}

void random_erasing(const Ctx&, const EraseDesc& d, uint64_t seed, uint64_t offset, float* x) {
    const int64_t plane = static_cast<int64_t>(d.H) * d.W;
    for (int n = 0; n < d.N; ++n) {
        const Box b = sample_erase_box(d, seed, offset, n);
        if (!b.valid) continue;
        for (int c = 0; c < d.C; ++c) {
            float* p = x + (static_cast<int64_t>(n) * d.C + c) * plane;
            for (int y = b.top; y < b.top + b.h; ++y)
                for (int xx = b.left; xx < b.left + b.w; ++xx) p[y * d.W + xx] = d.value[c];
        }
    }
}
}  // namespace

void register_augment(OpTable& t) {
    t.augment_batch = augment_batch;
    t.random_erasing = random_erasing;
}

}  // namespace lrp::kernels::cpu
