// save_batch_grid / write_png_rgb: denormalise, tile and write a batch as a PNG (stb_image_write).
#include "lrp/train/preview.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "lrp/durable_file.h"
#include "lrp/error.h"

namespace lrp::train {

void write_png_rgb(const std::string& path, const std::vector<uint8_t>& rgb, int64_t w, int64_t h) {
    LRP_CHECK(w > 0 && h > 0 && rgb.size() == static_cast<size_t>(w * h * 3), "write_png_rgb: ", rgb.size(),
              " bytes for a ", w, " x ", h, " RGB image");
    // Encoded in memory, then written atomically with every write checked: stb's own file writer checks only that
    // the file opens, and a full disk would leave a cut-off PNG behind a success.
    std::string png;
    auto append = [](void* ctx, void* data, int n) { static_cast<std::string*>(ctx)->append(static_cast<char*>(data), n); };
    LRP_CHECK(stbi_write_png_to_func(append, &png, static_cast<int>(w), static_cast<int>(h), 3, rgb.data(),
                                     static_cast<int>(w * 3)) != 0,
              "write_png: encoding '", path, "' failed");
    write_file_atomic(path, [&](FileSink& f) { f.write(png); }, "write_png", /*durable=*/false);
}

void save_batch_grid(const std::string& path, const Tensor& x, const std::vector<float>& mean,
                     const std::vector<float>& stdev, int max_images, int columns) {
    LRP_CHECK(x.defined() && x.dtype() == DType::F32 && x.ndim() == 4, "save_batch_grid: need F32 [N, C, H, W]");
    const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const int64_t n = std::min<int64_t>(x.dim(0), max_images);
    LRP_CHECK(n > 0 && H > 0 && W > 0, "save_batch_grid: empty batch ", x.shape().str());
    LRP_CHECK(mean.size() == static_cast<size_t>(C) && stdev.size() == static_cast<size_t>(C), "save_batch_grid: ",
              mean.size(), " mean / ", stdev.size(), " std values for ", C, " channels");
    const std::vector<float> v = x.slice(0, n).to_vector<float>();
    const int64_t scale = std::max<int64_t>(1, (64 + std::max(H, W) - 1) / std::max(H, W));
    const int64_t th = H * scale, tw = W * scale, gap = 2;
    const int64_t cols = columns > 0 ? std::min<int64_t>(columns, n)
                                     : static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
    const int64_t rows = (n + cols - 1) / cols;
    const int64_t gw = cols * tw + (cols + 1) * gap, gh = rows * th + (rows + 1) * gap;
    std::vector<uint8_t> px(static_cast<size_t>(gw * gh * 3), 255);
    auto raw = [&](int64_t i, int64_t c, int64_t y, int64_t xx) {
        const float r = v[static_cast<size_t>(((i * C + c) * H + y) * W + xx)] * stdev[c] + mean[c];
        return static_cast<uint8_t>(std::lround(255.f * std::clamp(std::isfinite(r) ? r : 0.f, 0.f, 1.f)));
    };
    for (int64_t i = 0; i < n; ++i) {
        const int64_t oy = gap + (i / cols) * (th + gap), ox = gap + (i % cols) * (tw + gap);
        for (int64_t y = 0; y < th; ++y)
            for (int64_t xx = 0; xx < tw; ++xx) {
                uint8_t* p = &px[static_cast<size_t>(((oy + y) * gw + ox + xx) * 3)];
                for (int64_t k = 0; k < 3; ++k) p[k] = raw(i, C >= 3 ? k : 0, y / scale, xx / scale);
            }
    }
    write_png_rgb(path, px, gw, gh);
}

}  // namespace lrp::train
