// The cuDNN algorithm choice (kernels/cuda/conv_algo_pick.h) against fake heuristic rankings, on the
// host: deterministic preference and its fallback, FMA-only math without TF32, no fp16 conversion with
// TF32, workspace caps, failed results and workspace queries, which algorithms round (FFT/Winograd) and
// leaving those out. Needs only cuDNN's headers (CUDA builds), no GPU.
#include <gtest/gtest.h>

#include "lrp/config.h"

#if LRP_HAVE_CUDNN
#include <vector>

#include "../kernels/cuda/conv_algo_pick.h"

namespace {
using lrp::kernels::cuda::AlgoChoice;
using lrp::kernels::cuda::pick_algo;
using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;

Perf perf(int algo, cudnnMathType_t math, bool det, size_t mem = 0, cudnnStatus_t st = CUDNN_STATUS_SUCCESS) {
    Perf p{};
    p.algo = static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo);
    p.status = st;
    p.time = 1.f;
    p.memory = mem;
    p.determinism = det ? CUDNN_DETERMINISTIC : CUDNN_NON_DETERMINISTIC;
    p.mathType = math;
    return p;
}

struct Picked {
    bool ok = false;
    AlgoChoice c;
    std::vector<cudnnMathType_t> set_math;  // what the descriptor was given, in order
    std::vector<int> queried;
};

// ws_query reports `bytes_of(algo)`; algorithms in `fail` make the query fail.
Picked pick(const std::vector<Perf>& v, bool tf32, bool det, size_t max_ws = 1000, std::vector<int> fail = {},
        size_t bytes = 10, bool transforms = true) {
    Picked r;
    r.ok = pick_algo(
        v.data(), static_cast<int>(v.size()), tf32, det, transforms, max_ws,
        [&](cudnnMathType_t m) { r.set_math.push_back(m); },
        [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* b) {
            r.queried.push_back(static_cast<int>(a));
            for (int f : fail)
                if (f == static_cast<int>(a)) return CUDNN_STATUS_NOT_SUPPORTED;
            *b = bytes;
            return CUDNN_STATUS_SUCCESS;
        },
        r.c);
    return r;
}
}  // namespace

TEST(ConvAlgoPick, PrefersDeterministicUnlessToldOtherwise) {
    const std::vector<Perf> v{perf(3, CUDNN_FMA_MATH, false), perf(1, CUDNN_FMA_MATH, true)};
    Picked d = pick(v, false, true);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.c.algo, 1);
    EXPECT_TRUE(d.c.deterministic);
    EXPECT_FALSE(d.c.fallback);
    EXPECT_EQ(d.queried, std::vector<int>{1});  // the non-deterministic one is not even queried
    Picked nd = pick(v, false, false);
    ASSERT_TRUE(nd.ok);
    EXPECT_EQ(nd.c.algo, 3);  // cuDNN's first choice
    EXPECT_FALSE(nd.c.deterministic);
    EXPECT_FALSE(nd.c.fallback);
}

TEST(ConvAlgoPick, FallsBackWhenNoDeterministicAlgorithmQualifies) {
    // The deterministic one needs too much workspace: the non-deterministic one is taken, flagged.
    const std::vector<Perf> v{perf(1, CUDNN_FMA_MATH, true, 5000), perf(0, CUDNN_FMA_MATH, false)};
    Picked r = pick(v, false, true);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.c.algo, 0);
    EXPECT_FALSE(r.c.deterministic);
    EXPECT_TRUE(r.c.fallback);
}

TEST(ConvAlgoPick, WithoutTf32OnlyFmaThenDefaultMath) {
    const std::vector<Perf> v{perf(5, CUDNN_TENSOR_OP_MATH, true), perf(6, CUDNN_DEFAULT_MATH, true),
                              perf(7, CUDNN_FMA_MATH, true)};
    Picked r = pick(v, false, true);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.c.algo, 7);  // FMA first, though ranked last
    EXPECT_TRUE(r.set_math.empty());  // the descriptor keeps FMA math
    Picked no_fma = pick({v[0], v[1]}, false, true);
    ASSERT_TRUE(no_fma.ok);
    EXPECT_EQ(no_fma.c.algo, 6);  // default math in the second pass, never tensor-op math
    EXPECT_FALSE(pick({v[0]}, false, true).ok);
    EXPECT_FALSE(pick({v[0]}, false, false).ok);  // not even as a non-deterministic fallback
}

TEST(ConvAlgoPick, WithTf32TakesTheRankedResultAndItsMathType) {
    const std::vector<Perf> v{perf(5, CUDNN_TENSOR_OP_MATH, true), perf(7, CUDNN_FMA_MATH, true)};
    Picked r = pick(v, true, true);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.c.algo, 5);
    EXPECT_EQ(r.set_math, std::vector<cudnnMathType_t>{CUDNN_TENSOR_OP_MATH});
    // The first one's workspace query fails: the descriptor is re-set for the next candidate.
    Picked f = pick(v, true, true, 1000, {5});
    ASSERT_TRUE(f.ok);
    EXPECT_EQ(f.c.algo, 7);
    EXPECT_EQ(f.set_math, (std::vector<cudnnMathType_t>{CUDNN_TENSOR_OP_MATH, CUDNN_FMA_MATH}));
}

TEST(ConvAlgoPick, SkipsFailedResultsWorkspaceOverCapAndFailedQueries) {
    const std::vector<Perf> v{perf(2, CUDNN_FMA_MATH, true, 0, CUDNN_STATUS_NOT_SUPPORTED),
                              perf(3, CUDNN_FMA_MATH, true, 2000), perf(4, CUDNN_FMA_MATH, true),
                              perf(1, CUDNN_FMA_MATH, true)};
    Picked r = pick(v, false, true, 1000, {4});
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.c.algo, 1);
    EXPECT_EQ(r.c.ws, 10u);
    // The query's own answer is held to the cap too.
    EXPECT_FALSE(pick({perf(1, CUDNN_FMA_MATH, true)}, false, true, 1000, {}, 4000).ok);
    EXPECT_FALSE(pick({}, false, true).ok);
}

TEST(ConvAlgoPick, Tf32NeverTakesTheFp16Conversion) {
    // TF32 allows tensor cores, not fp32 data converted to fp16: that result is passed over unqueried.
    const std::vector<Perf> v{perf(5, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, true), perf(1, CUDNN_TENSOR_OP_MATH, true)};
    Picked r = pick(v, true, true);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.c.algo, 1);
    EXPECT_EQ(r.queried, std::vector<int>{1});
    EXPECT_EQ(r.set_math, std::vector<cudnnMathType_t>{CUDNN_TENSOR_OP_MATH});
    EXPECT_FALSE(pick({v[0]}, true, false).ok);
    EXPECT_FALSE(pick({v[0]}, false, false).ok);
}

// LRP_CONV_NO_TRANSFORMS: FFT and Winograd results are passed over, never queried; the rest of the rules stand.
TEST(ConvAlgoPick, WithoutTransformsSkipsFftAndWinograd) {
    const int fft = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, wino = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
    const int gemm = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
    const std::vector<Perf> v{perf(fft, CUDNN_FMA_MATH, true), perf(wino, CUDNN_FMA_MATH, true),
                              perf(gemm, CUDNN_FMA_MATH, true)};
    EXPECT_EQ(pick(v, false, true).c.algo, fft) << "allowed by default";
    const Picked r = pick(v, false, true, 1000, {}, 10, false);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.c.algo, gemm);
    EXPECT_EQ(r.queried, std::vector<int>{gemm});
    EXPECT_EQ(pick(v, true, false, 1000, {}, 10, false).c.algo, gemm) << "with TF32 too";
    EXPECT_FALSE(pick({v[0], v[1]}, false, true, 1000, {}, 10, false).ok);
    EXPECT_FALSE(pick({v[0], v[1]}, false, false, 1000, {}, 10, false).ok) << "nor as the determinism fallback";
}

// Algorithms cuDNN refused to run for the shape are passed over like failed results, the determinism
// fallback included.
TEST(ConvAlgoPick, SkipsRefusedAlgorithms) {
    const std::vector<Perf> v{perf(1, CUDNN_FMA_MATH, true), perf(5, CUDNN_FMA_MATH, true),
                              perf(3, CUDNN_FMA_MATH, false)};
    auto refusing = [&](std::vector<int> refused, bool det) {
        AlgoChoice c;
        const bool ok = pick_algo(
            v.data(), 3, false, det, true, 1000, [](cudnnMathType_t) {},
            [](cudnnConvolutionBwdFilterAlgo_t, size_t* b) {
                *b = 0;
                return CUDNN_STATUS_SUCCESS;
            },
            c, refused);
        return ok ? c.algo : -1;
    };
    EXPECT_EQ(refusing({}, true), 1);
    EXPECT_EQ(refusing({1}, true), 5);
    EXPECT_EQ(refusing({1, 5}, true), 3) << "the nondeterministic fallback";
    EXPECT_EQ(refusing({5, 1, 3}, false), -1);
}

TEST(ConvAlgoPick, TransformAlgorithmsByDirection) {
    using lrp::kernels::cuda::is_transform_algo;
    // Forward: implicit/explicit GEMM and direct are exact on small integers; FFT and Winograd are not.
    for (int a : {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
                  CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT})
        EXPECT_FALSE(is_transform_algo(0, a)) << a;
    for (int a : {CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,
                  CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED})
        EXPECT_TRUE(is_transform_algo(0, a)) << a;
    for (int a : {CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1})
        EXPECT_FALSE(is_transform_algo(1, a)) << a;
    for (int a : {CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING,
                  CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED})
        EXPECT_TRUE(is_transform_algo(1, a)) << a;
    for (int a : {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3})
        EXPECT_FALSE(is_transform_algo(2, a)) << a;
    for (int a : {CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING,
                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED})
        EXPECT_TRUE(is_transform_algo(2, a)) << a;
}

#else
TEST(ConvAlgoPick, NeedsCudnn) { GTEST_SKIP() << "CPU-only build: no cuDNN headers"; }
#endif
