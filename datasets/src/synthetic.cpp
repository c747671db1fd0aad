// make_synthetic: a small learnable image-classification task for tests and smoke runs: per-class
// oriented colour gratings plus uniform noise, deterministic through lrp::Generator / Philox.
#include <algorithm>
#include <cmath>

#include "lrp/data/dataset.h"
#include "lrp/generator.h"

namespace lrp::data {

namespace {
constexpr uint64_t kPatternSeed = 0x53594E5448455449ull;  // fixed: the class patterns do not depend on `seed`
constexpr float kAmplitude = 60.f;                      // grating amplitude (pixel units)
constexpr float kNoise = 50.f;                          // uniform noise in [-kNoise, kNoise)
constexpr double kTwoPi = 6.283185307179586;
}  // namespace

Dataset make_synthetic(int64_t n, int channels, int h, int w, int classes, uint64_t seed) {
    LRP_CHECK(n >= 1 && channels >= 1 && h >= 1 && w >= 1 && classes >= 1, "make_synthetic: n ", n, ", channels ",
              channels, ", ", h, "x", w, ", classes ", classes, ": all must be >= 1");
    const int64_t hw = int64_t(h) * w, chw = channels * hw;

    // Class patterns: spatial frequencies (fx, fy) per class, a base level and a phase per channel.
    Generator pg(kPatternSeed);
    std::vector<float> proto(static_cast<size_t>(classes * chw));
    for (int k = 0; k < classes; ++k) {
        const int fx = 1 + static_cast<int>(pg.next_below(3));
        const int fy = static_cast<int>(pg.next_below(4));
        for (int c = 0; c < channels; ++c) {
            const float base = 70.f + 110.f * pg.next_uniform();
            const double phase = kTwoPi * pg.next_uniform();
            float* p = proto.data() + (k * channels + c) * hw;
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x)
                    p[y * w + x] = base + kAmplitude * static_cast<float>(std::sin(
                                              kTwoPi * (double(fx) * x / w + double(fy) * y / h) + phase));
        }
    }

    // Balanced labels (i % classes) in a seeded shuffled order.
    Generator g(seed);
    std::vector<int32_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(i % classes);
    for (int64_t i = n; i > 1; --i) std::swap(labels[i - 1], labels[g.next_below(static_cast<uint32_t>(i))]);

    Dataset d;
    d.name = "synthetic";
    d.num_classes = classes;
    for (int k = 0; k < classes; ++k) d.class_names.push_back("class" + std::to_string(k));
    d.images = Tensor::empty(Shape{n, channels, h, w}, DType::U8);
    uint8_t* img = d.images.data<uint8_t>();
    const uint64_t total = static_cast<uint64_t>(n * chw);
    const uint64_t offset = g.reserve((total + 3) / 4);
    for (int64_t i = 0; i < n; ++i) {
        const float* p = proto.data() + labels[i] * chw;
        uint8_t* out = img + i * chw;
        for (int64_t j = 0; j < chw; ++j) {
            const float u = philox_uniform(seed, offset, static_cast<uint64_t>(i * chw + j));
            const float v = p[j] + kNoise * (2.f * u - 1.f);
            out[j] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
        }
    }
    d.labels = Tensor::from_vector(labels, Shape{n});
    compute_mean_std(d.images, d.mean, d.std);
    return d;
}

}  // namespace lrp::data
