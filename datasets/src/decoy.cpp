// add_decoy: Decoy-MNIST-style swatches (a class-coded grey square in a random corner) drawn into a loaded
// dataset, with the mask of the pixels that keep their genuine content.
#include "lrp/data/decoy.h"

#include <cmath>
#include <cstring>

#include "lrp/error.h"
#include "lrp/philox.h"

namespace lrp::data {

void check_decoy(const DecoyOptions& o) {
    LRP_CHECK(o.shade == "none" || o.shade == "label" || o.shade == "random",
              "decoy: the shade must be none, label or random (got '", o.shade, "')");
    LRP_CHECK(o.size >= 1, "decoy: the swatch size must be >= 1 pixel (got ", o.size, ")");
}

uint8_t decoy_shade(int y, int K) {
    LRP_CHECK(K >= 1 && y >= 0 && y < K, "decoy_shade: class ", y, " out of range [0, ", K, ")");
    if (K == 1) return 255;
    return static_cast<uint8_t>(255 - std::lround(225.0 * y / (K - 1)));
}

std::string describe(const DecoyOptions& o) {
    if (o.shade == "none") return "no decoy";
    return "decoy swatch " + std::to_string(o.size) + "x" + std::to_string(o.size) + " in a corner, shade of " +
           (o.shade == "label" ? std::string("the label") : std::string("a random class")) + " (Ross et al. 2017; seed " +
           std::to_string(o.seed) + ")";
}

void add_decoy(Dataset& ds, const DecoyOptions& o, Split split) {
    check_decoy(o);
    if (o.shade == "none") return;
    LRP_CHECK(ds.images.defined() && ds.images.ndim() == 4 && ds.images.dtype() == DType::U8 &&
                  ds.images.device().is_cpu(),
              "decoy: dataset '", ds.name, "' has no U8 [N, C, H, W] images on the CPU");
    const int64_t N = ds.size(), C = ds.channels(), H = ds.height(), W = ds.width(), HW = H * W;
    LRP_CHECK(o.size <= H && o.size <= W, "decoy: a ", o.size, "x", o.size, " swatch does not fit the ", H, "x", W,
              " images of '", ds.name, "' (--decoy-size)");
    LRP_CHECK(ds.num_classes >= 1, "decoy: dataset '", ds.name, "' has no classes");
    LRP_CHECK(ds.labels.defined() && ds.labels.dtype() == DType::I32 && ds.labels.shape() == Shape({N}),
              "decoy: dataset '", ds.name, "' has labels ", ds.labels.defined() ? ds.labels.shape().str() : "(none)",
              " for ", N, " images");
    const int32_t* lab = ds.labels.data<int32_t>();
    for (int64_t n = 0; n < N; ++n)  // before anything is drawn
        LRP_CHECK(lab[n] >= 0 && lab[n] < ds.num_classes, "decoy: label ", lab[n], " of image ", n,
                  " out of range [0, ", ds.num_classes, ") in '", ds.name, "'");
    if (!ds.masks.defined()) {
        ds.masks = Tensor::empty(Shape{N, 1, H, W}, DType::U8);
        std::memset(ds.masks.raw_data(), 255, static_cast<size_t>(N * HW));
    }
    LRP_CHECK(ds.masks.dtype() == DType::U8 && ds.masks.shape() == Shape({N, 1, H, W}), "decoy: the masks of '",
              ds.name, "' are ", ds.masks.shape().str(), ", expected [", N, ", 1, ", H, ", ", W, "] U8");
    const int K = ds.num_classes;
    const uint64_t seed = o.seed ^ (split == Split::Test ? 0x7e57d3c0ull << 24 : 0x7a1dull << 40);
    uint8_t* img = static_cast<uint8_t*>(ds.images.raw_data());
    uint8_t* msk = static_cast<uint8_t*>(ds.masks.raw_data());
    for (int64_t n = 0; n < N; ++n) {
        const Philox4 r = philox(seed, static_cast<uint64_t>(n));
        const int64_t y0 = (r.v[0] & 1u) ? H - o.size : 0, x0 = (r.v[1] & 1u) ? W - o.size : 0;
        const int cls = o.shade == "label" ? lab[n] : static_cast<int>((uint64_t(r.v[2]) * uint64_t(K)) >> 32);
        const uint8_t v = decoy_shade(cls, K);
        for (int64_t yy = y0; yy < y0 + o.size; ++yy)
            for (int64_t xx = x0; xx < x0 + o.size; ++xx) {
                for (int64_t c = 0; c < C; ++c) img[(n * C + c) * HW + yy * W + xx] = v;
                msk[n * HW + yy * W + xx] = 0;
            }
    }
}

}  // namespace lrp::data
