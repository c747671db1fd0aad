// RelDrop masking on the CPU: channel_sum, top-k (ties, NaN, -0) against std::partial_sort, the pixel
// variant against a naive Philox re-derivation and its closed-form statistics, block/patch boxes
// (arg-max, truncation, area / k), coins, fills, non-finite maps, determinism and front-end errors.
#include "reldrop_test_util.h"

using namespace lrp;
using namespace lrp::test;
using kernels::Box;

TEST(RelDropCpu, ChannelSumIsTheChannelOrderSum) {
    for (int C : {1, 3}) {
        RdBatch b(3, C, 5, 7, 11 + C);
        Tensor map = ops::channel_sum(Tensor::from_vector(b.x, Shape{3, C, 5, 7}));
        EXPECT_EQ(map.shape(), Shape({3, 5, 7}));
        std::vector<float> ref(3 * 35);
        for (int n = 0; n < 3; ++n)
            for (int i = 0; i < 35; ++i) {
                float s = b.xa(n, 0, i);
                for (int c = 1; c < C; ++c) s += b.xa(n, c, i);
                ref[n * 35 + i] = s;
            }
        EXPECT_TRUE(bits_equal(map.to_vector<float>(), ref));
    }
}

TEST(RelDropCpu, TopkMatchesPartialSortIncludingTies) {
    const int rows = 4;
    for (int cols : {1, 7, 49, 1024}) {
        for (bool ties : {false, true}) {
            std::vector<float> x = random_vec(size_t(rows) * cols, 31 + cols);
            if (ties) for (auto& v : x) v = std::floor(v * 3.f);  // values in {-3..2}: many equal
            for (int k : {1, std::min(5, cols), cols}) {
                Tensor idx = Tensor::empty(Shape{rows, k}, DType::I32), vals = Tensor::empty(Shape{rows, k});
                ops::topk_rows(Tensor::from_vector(x, Shape{rows, cols}), k, idx, vals);
                auto gi = idx.to_vector<int32_t>();
                auto gv = vals.to_vector<float>();
                for (int r = 0; r < rows; ++r) {
                    std::vector<float> row(x.begin() + size_t(r) * cols, x.begin() + size_t(r + 1) * cols);
                    auto ref = topk_reference(row, k);
                    for (int j = 0; j < k; ++j) {
                        ASSERT_EQ(gi[r * k + j], ref[j]) << "cols " << cols << " k " << k << " row " << r << " j " << j;
                        ASSERT_EQ(gv[r * k + j], row[ref[j]]);
                    }
                }
            }
        }
    }
}

TEST(RelDropCpu, TopkNaNInfAndSignedZeroPolicy) {
    const float nan = std::nanf(""), inf = INFINITY;
    const std::vector<float> row = {1.f, nan, inf, -0.f, 0.f, -nan, -inf, 1.f, -1.f};
    Tensor idx = Tensor::empty(Shape{1, 9}, DType::I32);
    ops::topk_rows(Tensor::from_vector(row, Shape{1, 9}), 9, idx);
    // NaNs (any sign) first by index, then +Inf, equal values by lower index, -0 ties +0, -Inf last.
    EXPECT_EQ(idx.to_vector<int32_t>(), (std::vector<int32_t>{1, 5, 2, 0, 7, 3, 4, 8, 6}));
    EXPECT_EQ(topk_reference(row, 9), idx.to_vector<int32_t>());
}

TEST(RelDropCpu, PixelMaskMatchesNaiveReference) {
    for (const char* coin : {"reference", "per_batch", "per_sample"})
        for (const char* norm : {"signed_minmax", "positive_max", "abs_max"}) {
            SCOPED_TRACE(norm);
            RdBatch b(16, 3, 9, 11, 41);
            auto p = rd_params("pixel", 0.7f, 1, coin, {5.f, 6.f, 7.f});
            p.alpha = 0.4f, p.beta = 0.6f;
            p.pixel_norm = norm;
            std::vector<int32_t> st, ref_st;
            const bool per_sample = std::string(coin) != "per_batch";
            int changed = 0, skipped = 0;
            for (uint64_t seed = 3; seed < 11; ++seed) {
                auto got = b.run(Device::cpu(), p, seed, 17, &st);
                EXPECT_TRUE(bits_equal(got, naive_pixel(b, p, per_sample, seed, 17, ref_st)))
                    << coin << " seed " << seed;
                EXPECT_EQ(st, ref_st) << coin;
                changed += !bits_equal(got, b.x);
                skipped += std::count(st.begin(), st.end(), 0) > 0;
            }
            EXPECT_GT(changed, 0) << "nothing dropped: the test proves little";
            EXPECT_GT(skipped, 0) << "every coin passed: the coins were not exercised";
        }
}

TEST(RelDropCpu, PixelDropRateFollowsClosedForm) {
    // alpha 0.3, beta 0.5: P(drop | rn) = clip((0.7 rn - 0.2) / 0.3, 0, 1) (reldrop.md 4.2).
    const int N = 400, H = 32, W = 32, HW = H * W;
    RdBatch b(N, 1, H, W, 51);
    for (int n = 0; n < N; ++n)
        for (int i = 0; i < HW; ++i) b.map[size_t(n) * HW + i] = float(i);  // rn = i / (HW - 1)
    auto p = rd_params("pixel", 1.f, 1, "reference", {9.f});
    std::vector<int32_t> st;
    auto got = b.run(Device::cpu(), p, 77, 0, &st);
    EXPECT_EQ(st, std::vector<int32_t>(N, 1));
    int checked = 0;
    for (int i = 0; i < HW; i += 4) {  // bins of 4 pixels
        int drops = 0;
        for (int n = 0; n < N; ++n)
            for (int q = i; q < i + 4; ++q) drops += got[size_t(n) * HW + q] == 9.f;
        const double rn = (i + 1.5) / (HW - 1), expect = std::clamp((0.7 * rn - 0.2) / 0.3, 0.0, 1.0);
        const double trials = 4.0 * N, sd = std::sqrt(trials * expect * (1 - expect)) + 1;
        if ((i + 3.0) / (HW - 1) < 2.0 / 7 - 1e-4) {
            EXPECT_EQ(drops, 0) << "rn " << rn;
        } else if (i / (HW - 1.0) > 5.0 / 7 + 1e-4) {
            EXPECT_EQ(drops, 4 * N) << "rn " << rn;
        } else if (rn > 0.31 && rn < 0.69) {
            EXPECT_NEAR(drops, expect * trials, 5 * sd) << "rn " << rn;
            ++checked;
        }
    }
    EXPECT_GT(checked, 50);
    // A constant map gives rn = 0 (range guard): nothing dropped with the default alpha, beta.
    std::fill(b.map.begin(), b.map.end(), 0.25f);
    EXPECT_TRUE(bits_equal(b.run(Device::cpu(), p, 77, 0), b.x));
}

// --reldrop-pixel-norm (reldrop.md Q3) on a map with negative relevance, alpha 0.3, beta 0.5 (drop iff
// 0.3 u + 0.7 rn >= 0.5, so never at rn < 2/7): the reference's signed min-max puts zero relevance mid-range,
// where it is dropped half the time; positive_max never drops a pixel of relevance <= 0; abs_max drops strong
// negative relevance as well; on a non-negative map with minimum 0, positive_max and signed_minmax agree.
TEST(RelDropCpu, PixelNormDecidesWhatCountsAsRelevant) {
    const int N = 64, H = 8, W = 8, HW = H * W;
    RdBatch b(N, 1, H, W, 61);
    for (int n = 0; n < N; ++n)
        for (int i = 0; i < HW; ++i) b.map[size_t(n) * HW + i] = i < 16 ? -4.f : i < 48 ? 0.f : 4.f;
    auto p = rd_params("pixel", 1.f, 1, "reference", {9.f});
    auto drops = [&](const char* norm, int lo, int hi) {
        p.pixel_norm = norm;
        const std::vector<float> got = b.run(Device::cpu(), p, 5, 0);
        int d = 0;
        for (int n = 0; n < N; ++n)
            for (int i = lo; i < hi; ++i) d += got[size_t(n) * HW + i] == 9.f;
        return d;
    };
    const int zeros = N * 32, negatives = N * 16, positives = N * 16;
    const int zero_drops = drops("signed_minmax", 16, 48);  // rn = 0.5: dropped iff u >= 0.5
    EXPECT_GT(zero_drops, zeros / 4) << "zero relevance sits mid-range and is dropped about half the time";
    EXPECT_LT(zero_drops, 3 * zeros / 4);
    EXPECT_EQ(drops("signed_minmax", 0, 16), 0);
    EXPECT_EQ(drops("positive_max", 0, 48), 0) << "no relevance, no drop";
    EXPECT_EQ(drops("positive_max", 48, 64), positives);
    EXPECT_EQ(drops("abs_max", 0, 16), negatives) << "|-4| counts as much as 4";
    EXPECT_EQ(drops("abs_max", 16, 48), 0);
    for (float& v : b.map) v = v < 0 ? 0.f : v;  // no negative relevance
    p.pixel_norm = "signed_minmax";
    const std::vector<float> sgn = b.run(Device::cpu(), p, 7, 0);
    p.pixel_norm = "positive_max";
    EXPECT_TRUE(bits_equal(b.run(Device::cpu(), p, 7, 0), sgn));
    std::fill(b.map.begin(), b.map.end(), -1.f);  // nothing relevant at all
    EXPECT_TRUE(bits_equal(b.run(Device::cpu(), p, 7, 0), b.x));
}

TEST(RelDropCpu, P0LeavesBatchUntouched) {
    RdBatch b(5, 3, 12, 10, 61);
    for (const char* v : {"pixel", "block", "patch"})
        for (const char* coin : {"reference", "per_batch", "per_sample"}) {
            std::vector<int32_t> st;
            auto got = b.run(Device::cpu(), rd_params(v, 0.f, 3, coin, {5.f}), 9, 2, &st);
            EXPECT_TRUE(bits_equal(got, b.x)) << v << " " << coin;
            EXPECT_EQ(st, std::vector<int32_t>(5, 0));
        }
}

// Checks sample n of `got` differs from `x` in exactly one filled box; returns it.
static Box one_box(const RdBatch& b, const std::vector<float>& got, int n, const std::vector<float>& fill) {
    Box box{b.H, b.W, -1, -1, false};  // top, left, bottom, right (inclusive) while scanning
    for (int y = 0; y < b.H; ++y)
        for (int x = 0; x < b.W; ++x)
            if (got[size_t(n) * b.C * b.HW() + y * b.W + x] != b.x[size_t(n) * b.C * b.HW() + y * b.W + x])
                box.top = std::min(box.top, y), box.left = std::min(box.left, x), box.h = std::max(box.h, y),
                box.w = std::max(box.w, x);
    if (box.h < 0) return box;
    box.h = box.h - box.top + 1, box.w = box.w - box.left + 1, box.valid = true;
    for (int c = 0; c < b.C; ++c)
        for (int y = 0; y < b.H; ++y)
            for (int x = 0; x < b.W; ++x) {
                const size_t i = (size_t(n) * b.C + c) * b.HW() + y * b.W + x;
                const bool in = y >= box.top && y < box.top + box.h && x >= box.left && x < box.left + box.w;
                EXPECT_EQ(got[i], in ? fill[c] : b.x[i]) << "n " << n << " c " << c << " y " << y << " x " << x;
            }
    return box;
}

TEST(RelDropCpu, BlockP1K1MasksOneBoxAroundTheArgmax) {
    for (int S : {32, 28}) {
        const int N = 24;
        RdBatch b(N, 3, S, S, 71 + S);
        b.map[0] = 50.f;                                  // sample 0: arg-max in a corner (truncated box)
        b.map[b.HW() + b.HW() - 1] = 50.f;                // sample 1: the opposite corner
        const std::vector<float> fill = {5.f, 6.f, 7.f};
        auto p = rd_params("block", 1.f, 1, "reference", fill);
        std::vector<int32_t> st;
        auto got = b.run(Device::cpu(), p, 13, 40, &st);
        EXPECT_EQ(st, std::vector<int32_t>(N, 1));
        kernels::RelDropDesc d = ops::reldrop_desc(p, Tensor::empty(Shape{N, 3, S, S}));
        for (int n = 0; n < N; ++n) {
            const float* m = b.map.data() + n * b.HW();
            const int32_t am = int32_t(std::max_element(m, m + b.HW()) - m);
            const Box box = one_box(b, got, n, fill);
            ASSERT_TRUE(box.valid) << "sample " << n;
            const int ay = am / S, ax = am % S;  // sides >= 2 at these sizes: the box holds its centre
            EXPECT_TRUE(ay >= box.top && ay < box.top + box.h && ax >= box.left && ax < box.left + box.w) << n;
            const Box ref = kernels::reldrop_box(d, 13, 40, n, &am);
            EXPECT_TRUE(ref.valid && ref.top == box.top && ref.left == box.left && ref.h == box.h && ref.w == box.w);
        }
        const Box corner = one_box(b, got, 0, fill);
        EXPECT_TRUE(corner.top == 0 && corner.left == 0);
    }
}

TEST(RelDropCpu, BoxGeometryCentredRoundedAndTruncated) {
    // Replays sample n's stream: size as Random Erasing, j = uniform_below(word, k), start = rint(centre -
    // side / 2) half-to-even, end from the unclamped start, clipped to the image; with box_shift the whole
    // box moved inside instead (the same draws: every truncated box is non-empty, so the same one is accepted).
    for (const bool shift : {false, true}) {
        SCOPED_TRACE(shift ? "shift" : "truncate");
        kernels::RelDropDesc d;
        d.N = 1, d.H = 9, d.W = 13, d.k = 3, d.variant = kernels::RelDropVariant::Patch, d.sl = 0.05f, d.sh = 0.6f;
        d.box_shift = shift;
        int truncated = 0, odd_ties = 0, moved = 0;
        for (int n = 0; n < 3000; ++n) {
            const int32_t centres[3] = {n % 117, (n * 7) % 117, 0};
            const int words = int(4 * kernels::reldrop_counters_per_sample(d));
            kernels::EraseStream st(7, kernels::reldrop_sample_base(d, 5, n), words);
            st.bits();
            const auto sp = kernels::box_size_params(d.H, d.W, d.sl, d.sh, d.r1, 3.0);
            int h = 0, w = 0, a = 0;
            while (a < kernels::reldrop_attempts(d) && !kernels::sample_box_size(st, sp, h, w)) ++a;
            const Box got = kernels::reldrop_box(d, 7, 5, n, centres);
            ASSERT_EQ(got.valid, a < kernels::reldrop_attempts(d));
            if (!got.valid) continue;
            const int c = centres[kernels::uniform_below(st.bits(), 3)], row = c / 13, col = c % 13;
            const int r0 = int(std::nearbyint(row - h / 2.0)), c0 = int(std::nearbyint(col - w / 2.0));
            if (shift) {
                EXPECT_EQ(got.top, std::clamp(r0, 0, 9 - h));
                EXPECT_EQ(got.left, std::clamp(c0, 0, 13 - w));
                EXPECT_EQ(got.h, h);
                EXPECT_EQ(got.w, w);
                if (h >= 2 && w >= 2) {
                    EXPECT_TRUE(row >= got.top && row < got.top + h && col >= got.left && col < got.left + w)
                        << "the shifted box still holds its centre";
                }
                moved += got.top != r0 || got.left != c0;
            } else {
                EXPECT_EQ(got.top, std::max(0, r0));
                EXPECT_EQ(got.left, std::max(0, c0));
                EXPECT_EQ(got.top + got.h, std::min(9, r0 + h));
                EXPECT_EQ(got.left + got.w, std::min(13, c0 + w));
                truncated += got.h < h || got.w < w;
            }
            odd_ties += h % 2 == 1 && r0 != int(std::floor(row - h / 2.0 + 0.5));  // half-to-even != half-up
        }
        EXPECT_GT(shift ? moved : truncated, 100);
        EXPECT_GT(odd_ties, 10);
    }
    EXPECT_EQ(kernels::round_half_even(3 - 0.5), 2.0);  // row 3, h 1: the box [2, 3) misses its centre
}

// --reldrop-patch-count k (reldrop.md Q8): box j of area / k on the j-th top-k centre, sized from its own
// stream; replayed here from the documented layout with the geometry written out (truncated at the border).
TEST(RelDropCpu, PatchEachPlacesOneBoxPerCentre) {
    const int N = 6, S = 16, K = 4;
    RdBatch b(N, 2, S, S, 91);
    auto p = rd_params("patch", 1.f, K, "per_sample", {5.f, 6.f});
    p.patch_count = "k";
    std::vector<int32_t> st;
    const std::vector<float> got = b.run(Device::cpu(), p, 21, 8, &st);
    EXPECT_EQ(st, std::vector<int32_t>(N, 1));
    const kernels::RelDropDesc d = ops::reldrop_desc(p, Tensor::empty(Shape{N, 2, S, S}));
    std::vector<float> want = b.x;
    int boxes = 0;
    for (int n = 0; n < N; ++n) {
        const std::vector<float> row(b.map.begin() + n * S * S, b.map.begin() + (n + 1) * S * S);
        const std::vector<int32_t> centres = topk_reference(row, K);
        for (int j = 0; j < K; ++j) {
            const uint64_t base =
                kernels::reldrop_sample_base(d, 8, n) + 1 + uint64_t(j) * kernels::reldrop_each_counters(d);
            kernels::EraseStream s(21, base, int(4 * kernels::reldrop_each_counters(d)));
            const auto sp = kernels::box_size_params(S, S, p.sl, p.sh, p.r1, double(K));
            int h = 0, w = 0, a = 0;
            while (a < p.max_attempts && !kernels::sample_box_size(s, sp, h, w)) ++a;
            if (a == p.max_attempts) continue;
            ++boxes;
            const int r = centres[j] / S, c = centres[j] % S;
            const int r0 = int(std::nearbyint(r - h / 2.0)), c0 = int(std::nearbyint(c - w / 2.0));
            for (int y = std::max(0, r0); y < std::min(S, r0 + h); ++y)
                for (int x = std::max(0, c0); x < std::min(S, c0 + w); ++x)
                    for (int ch = 0; ch < 2; ++ch) want[(size_t(n) * 2 + ch) * S * S + y * S + x] = p.fill[ch];
        }
    }
    EXPECT_GT(boxes, N * K / 2);
    EXPECT_TRUE(bits_equal(got, want));
    p.patch_count = "1";  // the reference: one box, so (almost always) less occluded
    const std::vector<float> one = b.run(Device::cpu(), p, 21, 8);
    int filled_k = 0, filled_1 = 0;
    for (size_t i = 0; i < got.size(); ++i) filled_k += got[i] != b.x[i], filled_1 += one[i] != b.x[i];
    EXPECT_GT(filled_k, filled_1);
}

TEST(RelDropCpu, PatchAreaIsAboutOneKthOfBlock) {
    const int N = 400, S = 64, k = 4;
    RdBatch b(N, 1, S, S, 81);
    for (int n = 0; n < N; ++n)  // a bump at (32, 32): the top-4 are its ties at distance 1, all inside
        for (int y = 0; y < S; ++y)
            for (int x = 0; x < S; ++x)
                b.map[(size_t(n) * S + y) * S + x] = -float((y - 32) * (y - 32) + (x - 32) * (x - 32));
    auto mean_area = [&](const char* v) {
        auto p = rd_params(v, 1.f, k, "per_batch", {9.f});
        p.sh = 0.2f, p.r1 = 0.5f;  // no size rejection and no truncation: areas compare directly
        auto got = b.run(Device::cpu(), p, 21, 0);
        double area = 0;
        for (float v : got) area += v == 9.f;
        return area / N;
    };
    const double block = mean_area("block"), patch = mean_area("patch");
    EXPECT_NEAR(block, 0.11 * S * S, 0.1 * 0.11 * S * S);  // E[U(0.02, 0.2)] * H * W
    EXPECT_NEAR(block / patch, double(k), 0.1 * k);
}

TEST(RelDropCpu, FillModesAndPerChannelFill) {
    const std::vector<float> mean = {0.4914f, 0.4822f, 0.4465f}, sd = {0.2023f, 0.1994f, 0.2010f};
    EXPECT_EQ(ops::reldrop_fill("reference", mean, sd), mean);
    EXPECT_EQ(ops::reldrop_fill("mean", mean, sd), std::vector<float>(3, 0.f));
    auto raw = ops::reldrop_fill("raw:0.5", mean, sd);
    for (int c = 0; c < 3; ++c) EXPECT_EQ(raw[c], (0.5f - mean[c]) / sd[c]);
    EXPECT_EQ(ops::reldrop_fill("normalized:-1.5", mean, sd), std::vector<float>(3, -1.5f));
    expect_error([&] { ops::reldrop_fill("zero", mean, sd); }, {"unknown fill 'zero'", "reference, mean"});
    expect_error([&] { ops::reldrop_fill("raw:abc", mean, sd); }, {"finite number"});
    // Finite, but far outside any image: the model's outputs would overflow (raw:1e38 is Inf once normalised).
    expect_error([&] { ops::reldrop_fill("normalized:3e38", mean, sd, "--edda-fill"); },
                 {"--edda-fill: 'normalized:3e38' is 3e+38 in normalised units (channel 0), beyond +-1e+06"});
    expect_error([&] { ops::reldrop_fill("raw:1e38", mean, sd); }, {"'raw:1e38' is inf in normalised units"});
    EXPECT_EQ(ops::reldrop_fill("normalized:-1e6", mean, sd), std::vector<float>(3, -1e6f));
    // One fill value for all channels: every channel of a dropped pixel gets it.
    RdBatch b(4, 3, 8, 8, 91);
    auto got = b.run(Device::cpu(), rd_params("block", 1.f, 2, "reference", {4.f}), 1, 0);
    for (int n = 0; n < 4; ++n) EXPECT_TRUE(one_box(b, got, n, {4.f, 4.f, 4.f}).valid);
}

TEST(RelDropCpu, DeterministicPerSeedAndOffset) {
    RdBatch b(6, 3, 16, 16, 101);
    for (const char* v : {"pixel", "block", "patch"}) {
        auto p = rd_params(v, 0.8f, 5, "per_sample", {5.f, 6.f, 7.f});
        auto a = b.run(Device::cpu(), p, 5, 3);
        EXPECT_TRUE(bits_equal(a, b.run(Device::cpu(), p, 5, 3))) << v;
        EXPECT_FALSE(bits_equal(a, b.run(Device::cpu(), p, 6, 3))) << v;
        EXPECT_FALSE(bits_equal(a, b.run(Device::cpu(), p, 5, 4))) << v;
    }
}

TEST(RelDropCpu, NonFiniteMapSkipsTheSample) {
    RdBatch b(3, 3, 10, 10, 111);
    b.map[100 + 17] = std::nanf("");
    b.map[200 + 3] = -INFINITY;
    for (const char* v : {"pixel", "block", "patch"}) {
        std::vector<int32_t> st;
        auto got = b.run(Device::cpu(), rd_params(v, 1.f, 2, "per_sample", {5.f}), 3, 0, &st);
        EXPECT_EQ(st, (std::vector<int32_t>{1, 3, 3})) << v;
        EXPECT_TRUE(bits_equal({got.begin() + 300, got.end()}, {b.x.begin() + 300, b.x.end()})) << v;
        EXPECT_FALSE(bits_equal({got.begin(), got.begin() + 300}, {b.x.begin(), b.x.begin() + 300})) << v;
    }
}

// A map that ranks nothing is reported (kRelDropAppliedFlat): all equal (zeros of both signs) for every variant,
// a range within the pixel variant's 1e-6 guard for pixel only. Boxes on an all-equal map sit at the top-left.
TEST(RelDropCpu, FlatMapIsReported) {
    RdBatch b(3, 3, 12, 12, 131);
    for (int64_t i = 0; i < b.HW(); ++i) {
        b.map[b.HW() + i] = i % 3 ? 0.f : -0.f;
        b.map[2 * b.HW() + i] = i == 77 ? 0.50000012f : 0.5f;  // range 1.2e-7: ranked, but below the pixel guard
    }
    const std::vector<float> fill = {5.f, 6.f, 7.f};
    std::vector<int32_t> st;
    auto got = b.run(Device::cpu(), rd_params("pixel", 1.f, 1, "per_sample", fill), 3, 0, &st);
    EXPECT_EQ(st, (std::vector<int32_t>{1, 4, 4}));
    EXPECT_TRUE(bits_equal({got.begin() + 3 * b.HW(), got.end()}, {b.x.begin() + 3 * b.HW(), b.x.end()}))
        << "rn = 0 everywhere: alpha 0.3 of the noise never reaches 1 - beta = 0.5";
    for (const char* v : {"block", "patch"}) {
        got = b.run(Device::cpu(), rd_params(v, 1.f, 1, "per_sample", fill), 3, 0, &st);
        EXPECT_EQ(st, (std::vector<int32_t>{1, 4, 1})) << v;
        const Box flat = one_box(b, got, 1, fill), ranked = one_box(b, got, 2, fill);
        EXPECT_TRUE(flat.valid && flat.top == 0 && flat.left == 0) << v;
        EXPECT_TRUE(ranked.valid && 6 >= ranked.top && 6 < ranked.top + ranked.h && 5 >= ranked.left &&
                    5 < ranked.left + ranked.w) << v << ": the box holds index 77 = (6, 5)";
    }
}

TEST(RelDropCpu, PerBatchCoinIsAllOrNothingAndPredictable) {
    RdBatch b(6, 1, 12, 12, 121);
    int applied = 0, skipped = 0;
    for (uint64_t off = 0; off < 40; ++off) {
        auto p = rd_params("block", 0.5f, 3, "reference", {5.f});
        Tensor x = Tensor::from_vector(b.x, Shape{6, 1, 12, 12});
        const bool will = ops::reldrop_batch_selected(p, x, Generator(8, off));
        std::vector<int32_t> st;
        b.run(Device::cpu(), p, 8, off, &st);
        EXPECT_EQ(st, std::vector<int32_t>(6, will ? 1 : 0)) << off;
        (will ? applied : skipped)++;
    }
    EXPECT_GT(applied, 5);
    EXPECT_GT(skipped, 5);
    EXPECT_TRUE(ops::reldrop_batch_selected(rd_params("pixel", 0.f, 1, "reference", {0.f}),
                                            Tensor::empty(Shape{1, 1, 4, 4}), Generator(1)));  // per-sample coins
}

TEST(RelDropCpu, FrontEndErrors) {
    Tensor x = Tensor::zeros(Shape{2, 3, 6, 6}), rel = Tensor::zeros(Shape{2, 3, 6, 6});
    Generator g;
    auto apply = [&](ops::RelDropParams p, const Tensor& xx = Tensor(), const Tensor& rr = Tensor()) {
        ops::reldrop_apply(xx.defined() ? xx : x, rr.defined() ? rr : rel, p, g);
    };
    auto ok = rd_params("block", 0.5f, 36, "reference", {1.f, 2.f, 3.f});
    apply(ok);
    auto with = [&](auto f) { auto p = ok; f(p); return p; };
    expect_error([&] { apply(with([](auto& p) { p.p = 1.5f; })); }, {"p must be in [0, 1]", "1.5"});
    expect_error([&] { apply(with([](auto& p) { p.p = -0.1f; })); }, {"p must be in [0, 1]"});
    expect_error([&] { apply(with([](auto& p) { p.p = std::nanf(""); })); }, {"p must be in [0, 1]"});
    expect_error([&] { apply(with([](auto& p) { p.k = 37; })); }, {"k must be in [1, H*W] = [1, 36]", "37"});
    expect_error([&] { apply(with([](auto& p) { p.k = 0; })); }, {"k must be in"});
    expect_error([&] { apply(with([](auto& p) { p.variant = "blocks"; })); },
                 {"unknown variant 'blocks'", "pixel, block, patch"});
    expect_error([&] { apply(with([](auto& p) { p.coin = "sometimes"; })); }, {"unknown coin", "per_sample"});
    expect_error([&] { apply(with([](auto& p) { p.box_clip = "wrap"; })); }, {"unknown box_clip 'wrap'", "shift"});
    expect_error([&] { apply(with([](auto& p) { p.patch_count = "2"; })); }, {"unknown patch_count '2'"});
    expect_error([&] { apply(with([](auto& p) { p.patch_count = "k"; })); }, {"patch_count k applies to the patch"});
    expect_error([&] { apply(with([](auto& p) { p.variant = "pixel", p.pixel_norm = "minmax"; })); },
                 {"unknown pixel_norm 'minmax'", "positive_max"});
    expect_error([&] { apply(with([](auto& p) { p.variant = "pixel", p.alpha = 1.5f; })); }, {"alpha"});
    expect_error([&] { apply(with([](auto& p) { p.variant = "pixel", p.beta = -1.f; })); }, {"beta"});
    expect_error([&] { apply(with([](auto& p) { p.fill = {1.f, 2.f}; })); }, {"fill has 2 values", "C = 3"});
    expect_error([&] { apply(with([](auto& p) { p.fill = {}; })); }, {"fill has 0 values"});
    expect_error([&] { apply(with([](auto& p) { p.sl = 0.f; })); }, {"sl"});
    expect_error([&] { apply(with([](auto& p) { p.r1 = 2.f; })); }, {"r1"});
    expect_error([&] { apply(ok, Tensor::zeros(Shape{2, 5, 6, 6})); }, {"channels", "1 to 4"});
    expect_error([&] { apply(ok, Tensor::zeros(Shape{2, 3, 6, 6}, DType::F64)); }, {"x"});
    expect_error([&] { apply(ok, x, Tensor::zeros(Shape{2, 3, 6, 5})); }, {"relevance", "does not match"});
    expect_error([&] { ops::reldrop_apply(x, rel, ok, g, Tensor::zeros(Shape{3}, DType::I32)); }, {"status"});
    expect_error([&] { ops::reldrop_apply_map(x, Tensor::zeros(Shape{2, 6, 5}), ok, g); }, {"map has shape"});
    Tensor idx = Tensor::empty(Shape{2, 4}, DType::I32);
    expect_error([&] { ops::topk_rows(Tensor::zeros(Shape{2, 3}), 4, idx); }, {"k must be in [1, 3]"});
    expect_error([&] { ops::topk_rows(Tensor::zeros(Shape{2, 5}), 3, idx); }, {"idx"});
}
