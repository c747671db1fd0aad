// Shared by the ISNet tests: a tiny BN-free conv net on 1 x 8 x 8 and a batch of bright squares (objects) on a
// dark background with a faint class marker in the top row.
#pragma once
#include <cmath>
#include <memory>
#include <vector>

#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/sequential.h"
#include "lrp_test_util.h"

namespace lrp::test {

// conv-ReLU-maxpool-conv-ReLU-flatten-linear on 1 x 8 x 8 (no BN: train mode is a plain function of the weights).
inline std::unique_ptr<nn::Sequential> tiny_net(uint32_t seed) {
    auto m = std::make_unique<nn::Sequential>();
    m->emplace<nn::Conv2d>("0", 1, 4, 3, 1, 1, true);
    m->emplace<nn::ReLU>("1");
    m->emplace<nn::MaxPool2d>("2", 2);
    m->emplace<nn::Conv2d>("3", 4, 4, 3, 1, 1, true);
    m->emplace<nn::ReLU>("4");
    m->emplace<nn::Flatten>("5");
    m->emplace<nn::Linear>("6", 4 * 4 * 4, 3, true);
    for (auto& [n, p] : m->named_params()) {
        const Shape& s = p->value.shape();
        const float a = s.ndim() >= 2 ? 1.5f / std::sqrt(static_cast<float>(s.numel() / s[0])) : 0.2f;
        p->value.copy_from(rand_tensor(s, seed++, -a, a));
    }
    return m;
}

// Objects (a bright square at a per-image place) on a dark background with a faint class marker in a corner.
struct TinyBatch {
    Tensor x, y;
};
inline TinyBatch tiny_batch(int N) {
    std::vector<float> x(static_cast<size_t>(N * 64), 0.f);
    std::vector<int32_t> y;
    for (int n = 0; n < N; ++n) {
        y.push_back(n % 3);
        const int top = 2 + n % 3, left = 2 + (n / 3) % 3;
        for (int dy = 0; dy < 3; ++dy)
            for (int dx = 0; dx < 3; ++dx) x[n * 64 + (top + dy) * 8 + left + dx] = 0.6f + 0.1f * ((dy + dx + n) % 4);
        x[n * 64 + (n % 3) * 3] = 0.5f;  // the marker: row 0, column 0, 3 or 6 by class (background)
    }
    // Normalise with mean 0.2, stdev 0.4 (the settings' level maps the raw threshold the same way).
    for (float& v : x) v = (v - 0.2f) / 0.4f;
    return {Tensor::from_vector(x, Shape{N, 1, 8, 8}), Tensor::from_vector(y, Shape{N})};
}

}  // namespace lrp::test
