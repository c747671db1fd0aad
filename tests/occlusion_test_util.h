// Helpers of the occlusion tests: random per-sample patch orders, and naive references for occlude_patches
// (a pixel is filled iff its patch's rank in the order is < m) and patch_relevance (double sums per patch).
#pragma once
#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "reldrop_test_util.h"

namespace lrp::test {

// N random permutations of [0, P), row after row.
inline std::vector<int32_t> random_orders(int N, int P, uint32_t seed) {
    std::mt19937 gen(seed);
    std::vector<int32_t> o;
    for (int n = 0; n < N; ++n) {
        std::vector<int32_t> row(P);
        std::iota(row.begin(), row.end(), 0);
        std::shuffle(row.begin(), row.end(), gen);
        o.insert(o.end(), row.begin(), row.end());
    }
    return o;
}

inline std::vector<float> occlude_reference(std::vector<float> x, const std::vector<int32_t>& order, int N, int C,
                                            int H, int W, int patch, int m, const std::vector<float>& fill) {
    const int pw = (W + patch - 1) / patch, P = ((H + patch - 1) / patch) * pw;
    for (int n = 0; n < N; ++n) {
        std::vector<int> rank(P);
        for (int j = 0; j < P; ++j) rank[order[size_t(n) * P + j]] = j;
        for (int c = 0; c < C; ++c)
            for (int h = 0; h < H; ++h)
                for (int w = 0; w < W; ++w)
                    if (rank[(h / patch) * pw + w / patch] < m)
                        x[((size_t(n) * C + c) * H + h) * W + w] = fill.size() == 1 ? fill[0] : fill[c];
    }
    return x;
}

inline std::vector<float> patch_relevance_reference(const std::vector<float>& map, int N, int H, int W, int patch) {
    const int ph = (H + patch - 1) / patch, pw = (W + patch - 1) / patch;
    std::vector<float> rel;
    for (int n = 0; n < N; ++n)
        for (int p = 0; p < ph; ++p)
            for (int q = 0; q < pw; ++q) {
                double s = 0;
                int count = 0;
                for (int h = p * patch; h < std::min(H, (p + 1) * patch); ++h)
                    for (int w = q * patch; w < std::min(W, (q + 1) * patch); ++w, ++count)
                        s += map[(size_t(n) * H + h) * W + w];
                rel.push_back(static_cast<float>(s / count));
            }
    return rel;
}

}  // namespace lrp::test
