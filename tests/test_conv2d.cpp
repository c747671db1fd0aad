// conv2d tests: CPU forward against a direct 7-loop double reference over a parameter grid (kernel
// sizes, strides, padding, dilation, groups incl. depthwise, odd/even sizes, bias); dgrad/wgrad against
// direct references and the adjoint identities in double; finite differences; exact integer cases;
// front-end errors; and the CUDA (cuDNN) entries against the CPU.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../kernels/api/conv_algo_stats.h"
#include "conv2d_test_util.h"
#include "lrp/ops/conv.h"

using namespace lrp;
using namespace lrp::convtest;
using lrp::test::all_close;
using lrp::test::Tol;

namespace {

// The CPU grid: kernel 1/3/5 (and non-square), stride, padding, dilation, groups incl. depthwise,
// odd and even sizes, batch 1 and 2, bias on and off. Cases with an empty output are left out.
std::vector<ConvCase> cpu_grid() {
    const int kernels[][2] = {{1, 1}, {3, 3}, {5, 5}, {1, 3}, {3, 2}};
    const int strides[][2] = {{1, 1}, {2, 2}, {2, 1}};
    const int pads[][2] = {{0, 0}, {1, 1}, {2, 1}};
    const int dils[][2] = {{1, 1}, {2, 2}};
    const int chans[][3] = {
        {3, 5, 1}, {4, 6, 2}, {8, 4, 4}, {4, 4, 4}, {3, 6, 3}};  // C, K, groups (last two depthwise)
    const int sizes[][2] = {{7, 9}, {8, 6}};
    std::vector<ConvCase> out;
    int counter = 0;
    for (auto& k : kernels)
        for (auto& st : strides)
            for (auto& p : pads)
                for (auto& dl : dils)
                    for (auto& ch : chans)
                        for (auto& sz : sizes) {
                            ++counter;
                            ConvCase c{counter % 3 == 0 ? 1 : 2, ch[0], sz[0], sz[1], ch[1], k[0], k[1], st[0], st[1],
                                       p[0], p[1], dl[0], dl[1], ch[2], counter % 2 == 0};
                            if (c.valid()) out.push_back(c);
                        }
    return out;
}

}  // namespace

TEST(Conv2dCpu, ForwardMatchesDirectReference) {
    auto grid = cpu_grid();
    ASSERT_GT(grid.size(), 500u);
    uint32_t seed = 1;
    for (const ConvCase& c : grid) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        ConvData in(d, c.bias, seed);
        seed += 4;
        auto y = run_fwd_cpu(d, in);
        EXPECT_TRUE(all_close(y, ref_fwd(d, in.x, in.w, c.bias ? &in.b : nullptr),
                              conv_tol(int64_t{d.C / d.groups} * d.R * d.S)));
    }
}

TEST(Conv2dCpu, BackwardMatchesReferenceAndAdjoint) {
    uint32_t seed = 7;
    for (const ConvCase& c : cpu_grid()) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        ConvData in(d, false, seed);
        seed += 4;
        auto dx = run_dgrad_cpu(d, in);  // dx starts NaN-poisoned: untouched input rows must become 0
        auto dw = run_wgrad_cpu(d, in);
        EXPECT_TRUE(all_close(dx, ref_dgrad(d, in.dy, in.w), conv_tol(int64_t{d.K / d.groups} * d.R * d.S)));
        EXPECT_TRUE(all_close(dw, ref_wgrad(d, in.x, in.dy), conv_tol(int64_t{d.N} * d.P() * d.Q())));
        // <conv(x, w), dy> == <x, dgrad(dy, w)> == <w, wgrad(x, dy)>, in double
        const auto y = ref_fwd(d, in.x, in.w, nullptr);
        double lhs = 0, scale = 0;
        for (size_t i = 0; i < y.size(); ++i) lhs += y[i] * in.dy[i], scale += std::fabs(y[i] * in.dy[i]);
        const double via_dx = dot(in.x, dx), via_dw = dot(in.w, dw);
        EXPECT_NEAR(via_dx, lhs, 1e-5 * scale + 1e-9);
        EXPECT_NEAR(via_dw, lhs, 1e-5 * scale + 1e-9);
    }
}

// dgrad of a stride-2 conv on an even input: the last row/column is read by no output (PyTorch's
// output_padding case) and must come back as 0, not garbage.
TEST(Conv2dCpu, DgradStride2EvenInputZeroesUnreadRows) {
    ConvCase c{2, 3, 8, 8, 4, 3, 3, 2, 2, 0, 0, 1, 1, 1, false};
    const Conv2dDesc d = c.desc();
    ASSERT_EQ(d.P(), 3);
    ConvData in(d, false, 11);
    auto dx = run_dgrad_cpu(d, in);
    for (int n = 0; n < d.N; ++n)
        for (int ch = 0; ch < d.C; ++ch)
            for (int i = 0; i < 8; ++i) {
                EXPECT_EQ(dx[((size_t(n) * d.C + ch) * 8 + 7) * 8 + i], 0.f);
                EXPECT_EQ(dx[((size_t(n) * d.C + ch) * 8 + i) * 8 + 7], 0.f);
            }
    EXPECT_TRUE(all_close(dx, ref_dgrad(d, in.dy, in.w), conv_tol(36)));
}

// Central differences in double of L(x, w) = <conv(x, w), dy> (reference convolution) against the
// float dgrad/wgrad kernels, on tiny cases (one grouped, strided and dilated).
TEST(Conv2dCpu, FiniteDifferences) {
    for (const ConvCase& c : {ConvCase{1, 2, 5, 4, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, false},
                              ConvCase{2, 4, 6, 5, 2, 2, 3, 1, 2, 1, 1, 2, 1, 2, false}}) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        ConvData in(d, false, 21);
        auto dx = run_dgrad_cpu(d, in);
        auto dw = run_wgrad_cpu(d, in);
        auto loss = [&](const std::vector<float>& x, const std::vector<float>& w, int which, size_t i, double h) {
            std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end());
            (which == 0 ? xd : wd)[i] += h;
            auto y = ref_fwd_d(d, xd, wd);
            double s = 0;
            for (size_t j = 0; j < y.size(); ++j) s += y[j] * in.dy[j];
            return s;
        };
        const double h = 1e-3;
        for (size_t i = 0; i < in.x.size(); ++i) {
            double num = (loss(in.x, in.w, 0, i, h) - loss(in.x, in.w, 0, i, -h)) / (2 * h);
            EXPECT_NEAR(dx[i], num, 1e-5 + 1e-4 * std::fabs(num)) << "dx[" << i << "]";
        }
        for (size_t i = 0; i < in.w.size(); ++i) {
            double num = (loss(in.x, in.w, 1, i, h) - loss(in.x, in.w, 1, i, -h)) / (2 * h);
            EXPECT_NEAR(dw[i], num, 1e-5 + 1e-4 * std::fabs(num)) << "dw[" << i << "]";
        }
    }
}

// Integer inputs in [-4, 4] with short reductions are exact in fp32: results compare bitwise.
TEST(Conv2dCpu, ExactIntegersBitwise) {
    for (const ConvCase& c : exact_cases()) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        ConvData in = ConvData::integers(d, c.bias, 5);
        EXPECT_TRUE(
            all_close(run_fwd_cpu(d, in), ref_fwd(d, in.x, in.w, c.bias ? &in.b : nullptr), Tol{0, 0, 0, false}));
        EXPECT_TRUE(all_close(run_dgrad_cpu(d, in), ref_dgrad(d, in.dy, in.w), Tol{0, 0, 0, false}));
        EXPECT_TRUE(all_close(run_wgrad_cpu(d, in), ref_wgrad(d, in.x, in.dy), Tol{0, 0, 0, false}));
    }
}

// Enough images that the batch is split into chunks (one image each, the weight gradient summed by 16 slices of 1-2
// chunks; or grouped and strided in chunks of 4, 4 and 1 image, 3 slices), and the 1x1 stride-1 path that skips
// im2col. A weight gradient of other data runs first, so that the scratch buffers hold stale partial sums.
TEST(Conv2dCpu, ChunkedBatchAndPointwise) {
    for (const ConvCase& c : {ConvCase{20, 64, 32, 32, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},
                              ConvCase{9, 32, 20, 20, 24, 3, 3, 2, 2, 1, 1, 1, 1, 2, false},
                              ConvCase{3, 16, 9, 7, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},
                              ConvCase{1, 16, 9, 7, 8, 1, 1, 1, 1, 0, 0, 1, 1, 2, false}}) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        ConvData in(d, c.bias, 3);
        EXPECT_TRUE(all_close(run_fwd_cpu(d, in), ref_fwd(d, in.x, in.w, c.bias ? &in.b : nullptr),
                              conv_tol(int64_t{d.C / d.groups} * d.R * d.S)));
        EXPECT_TRUE(all_close(run_dgrad_cpu(d, in), ref_dgrad(d, in.dy, in.w),
                              conv_tol(int64_t{d.K / d.groups} * d.R * d.S)));
        (void)run_wgrad_cpu(d, ConvData(d, c.bias, 99));
        EXPECT_TRUE(all_close(run_wgrad_cpu(d, in), ref_wgrad(d, in.x, in.dy), conv_tol(int64_t{d.N} * d.P() * d.Q())));
    }
}

// A wide layer's weight gradient (over 2^20 floats) sums large chunks one after another: 15 images in chunks of 13
// and 2.
TEST(Conv2dCpu, WideWeightGradientInLargeChunks) {
    const ConvCase c{15, 512, 8, 8, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, false};
    const Conv2dDesc d = c.desc();
    ConvData in(d, false, 5);
    EXPECT_TRUE(all_close(run_wgrad_cpu(d, in), ref_wgrad(d, in.x, in.dy), conv_tol(int64_t{d.N} * d.P() * d.Q())));
}

TEST(Conv2dCpu, DescriptorErrors) {
    Conv2dParams p;
    expect_error([&] { ops::conv2d_desc(Shape{6, 5, 5}, Shape{4, 6, 3, 3}, p); }, {"4-D", "[6, 5, 5]", "[4, 6, 3, 3]"});
    expect_error(
        [&] {
            ops::conv2d_desc(Shape{1, 6, 5, 5}, Shape{4, 6, 3}, p);
        },
        {"weight must be 4-D", "[1, 6, 5, 5]"});
    p.groups = 4;
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 5, 5}, Shape{4, 1, 3, 3}, p); },
                 {"input channels 6", "groups 4", "[1, 6, 5, 5]", "[4, 1, 3, 3]"});
    p.groups = 2;
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 5, 5}, Shape{5, 3, 3, 3}, p); }, {"output channels 5", "groups 2"});
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 5, 5}, Shape{4, 6, 3, 3}, p); },
                 {"weight has 6 input channels per group", "[4, 6, 3, 3]"});
    p.groups = 0;
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 5, 5}, Shape{4, 6, 3, 3}, p); }, {"groups must be at least 1"});
    p = Conv2dParams{};
    p.stride_w = 0;
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 5, 5}, Shape{4, 6, 3, 3}, p); }, {"stride", "[1, 6, 5, 5]"});
    p = Conv2dParams{};
    p.dil_h = 0;
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 5, 5}, Shape{4, 6, 3, 3}, p); }, {"dilation"});
    p = Conv2dParams{};
    p.pad_h = -1;
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 5, 5}, Shape{4, 6, 3, 3}, p); }, {"padding"});
    p = Conv2dParams{};
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 2, 5}, Shape{4, 6, 3, 3}, p); },
                 {"output size is empty", "[1, 6, 2, 5]", "[4, 6, 3, 3]"});
    p.dil_h = 2, p.pad_h = 1;  // dilated kernel 5 > padded input 4: the truncating division must not hide it
    expect_error([&] { ops::conv2d_desc(Shape{1, 6, 2, 5}, Shape{4, 6, 3, 3}, p); }, {"output size is empty"});
    // planes the kernels could not index in 32 bits (no memory is allocated by a descriptor)
    expect_error([&] { ops::conv2d_desc(Shape{1, 1, 46341, 46341}, Shape{1, 1, 1, 1}, Conv2dParams{}); },
                 {"a plane of 2147488281 pixels is too large"});
}

TEST(Conv2dCpu, FrontEndShapeErrors) {
    const Conv2dDesc d = ops::conv2d_desc(Shape{2, 4, 7, 7}, Shape{6, 2, 3, 3}, Conv2dParams{1, 1, 1, 1, 1, 1, 2});
    Tensor x = Tensor::zeros(Shape{2, 4, 7, 7}), w = Tensor::zeros(Shape{6, 2, 3, 3});
    Tensor y = Tensor::zeros(Shape{2, 6, 7, 7}), b = Tensor::zeros(Shape{6});
    EXPECT_NO_THROW(ops::conv2d_fwd(d, x, w, b, y));
    EXPECT_NO_THROW(ops::conv2d_fwd(d, x, w, Tensor(), y));
    expect_error([&] { ops::conv2d_fwd(d, x, Tensor::zeros(Shape{6, 4, 3, 3}), b, y); },
                 {"conv2d_fwd", "'w'", "[6, 4, 3, 3]", "expected [6, 2, 3, 3]"});
    expect_error([&] { ops::conv2d_fwd(d, x, w, Tensor::zeros(Shape{4}), y); }, {"conv2d_fwd", "'b'", "[4]"});
    expect_error([&] { ops::conv2d_fwd(d, x, w, b, Tensor::zeros(Shape{2, 6, 5, 5})); }, {"'y'", "[2, 6, 7, 7]"});
    expect_error([&] { ops::conv2d_fwd(d, Tensor::zeros(Shape{2, 4, 7, 7}, DType::F64), w, b, y); }, {"'x'", "f64"});
    expect_error([&] { ops::conv2d_dgrad(d, Tensor::zeros(Shape{2, 6, 6, 7}), w, x); }, {"conv2d_dgrad", "'dy'"});
    expect_error([&] { ops::conv2d_wgrad(d, x, y, Tensor::zeros(Shape{6, 4, 3, 3})); }, {"conv2d_wgrad", "'dw'"});
    expect_error([&] { ops::conv2d_wgrad(d, x, Tensor(), w); }, {"conv2d_wgrad", "'dy'", "undefined"});
    Conv2dDesc bad = d;
    bad.groups = 3;
    expect_error([&] { ops::conv2d_fwd(bad, x, w, b, y); }, {"conv2d_fwd", "not divisible by groups 3"});
}

TEST(Conv2dCuda, MatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    Tf32Off tf32_off;
    std::vector<ConvCase> cases;
    auto grid = cpu_grid();
    for (size_t i = 0; i < grid.size(); i += 7) cases.push_back(grid[i]);
    for (const ConvCase& c : resnet_like_cases()) cases.push_back(c);
    uint32_t seed = 900;
    for (const ConvCase& c : cases) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        ConvData in(d, c.bias, seed);
        seed += 4;
        compare_cuda_with_cpu(d, in, /*exact=*/false);
    }
}

TEST(Conv2dCuda, ExactIntegersBitwise) {
    LRP_SKIP_WITHOUT_CUDA();
    Tf32Off tf32_off;
    for (const ConvCase& c : exact_cases()) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        compare_cuda_with_cpu(d, ConvData::integers(d, c.bias, 5), /*exact=*/true);
    }
}

// A batch beyond cuDNN's per-tensor element limit runs as several calls of a multiple of 4 images (the limit
// lowered here): the same results as the CPU, each call a plan lookup; an image that alone exceeds the limit is a
// clear error.
TEST(Conv2dCuda, SplitsABatchBeyondTheTensorLimit) {
    LRP_SKIP_WITHOUT_CUDA();
    Tf32Off tf32_off;
    struct LimitGuard {
        ~LimitGuard() { kernels::set_conv_max_call_elements(0); }
    } restore;
    // {case, limit, calls per direction}: the output per image decides (324 > 243), then the input (400 > 50).
    const struct {
        ConvCase c;
        int64_t limit;
        int calls;
    } splits[] = {{ConvCase{5, 3, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, true}, 2 * 324 + 1, 3},
                  {ConvCase{3, 4, 10, 10, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2, false}, 2 * 400, 2},
                  {ConvCase{3, 4, 10, 10, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2, false}, 3 * 400, 1},
                  // 5 images would fit a call: 4 per call keeps later calls' tensors 16-byte aligned
                  {ConvCase{9, 3, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, true}, 5 * 324 + 1, 3}};
    uint32_t seed = 1500;
    for (const auto& sp : splits) {
        SCOPED_TRACE(sp.c.str() + " limit " + std::to_string(sp.limit));
        const Conv2dDesc d = sp.c.desc();
        kernels::set_conv_max_call_elements(sp.limit);
        const auto s0 = kernels::conv_algo_cache_stats();
        compare_cuda_with_cpu(d, ConvData(d, sp.c.bias, seed += 4), /*exact=*/false);
        const auto s1 = kernels::conv_algo_cache_stats();
        EXPECT_EQ(s1.searches + s1.hits - s0.searches - s0.hits, 3 * sp.calls) << "plan lookups: one per call";
    }
    const Conv2dDesc d = splits[0].c.desc();
    kernels::set_conv_max_call_elements(323);
    expect_error([&] { run_fwd_cuda(d, ConvData(d, true, 7)); },
                 {"conv2d on CUDA: one image's output holds 324 elements, more than the 323 cuDNN takes"});
    kernels::set_conv_max_call_elements(0);
    EXPECT_EQ(kernels::conv_max_call_elements(), kernels::kCudnnMaxTensorElements);
}

// LRP_CONV_NO_TRANSFORMS (set_allow_conv_transforms(false)): plans of their own (the setting is part of the cache
// key), none FFT or Winograd, results still the CPU's.
TEST(Conv2dCuda, WithoutTransformAlgorithmsPlansOfTheirOwn) {
    LRP_SKIP_WITHOUT_CUDA();
    Tf32Off tf32_off;
    struct Restore {
        bool was = allow_conv_transforms();
        ~Restore() { set_allow_conv_transforms(was); }
    } restore;
    uint32_t seed = 1700;
    // A shape no other test uses: one search per direction and setting, then cache hits.
    const ConvCase own{3, 5, 11, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, true};
    const Conv2dDesc od = own.desc();
    for (int round = 0; round < 4; ++round) {  // transforms on, off, on, off: new plans in the first two only
        const bool transforms = round % 2 == 0;
        set_allow_conv_transforms(transforms);
        const auto s0 = kernels::conv_algo_cache_stats();
        compare_cuda_with_cpu(od, ConvData(od, own.bias, seed += 4), /*exact=*/false);
        const auto s1 = kernels::conv_algo_cache_stats();
        EXPECT_EQ(s1.searches + s1.hits - s0.searches - s0.hits, 3);
        EXPECT_EQ(s1.searches - s0.searches, round < 2 ? 3 : 0) << "round " << round;
    }
    set_allow_conv_transforms(false);
    for (const ConvCase& c : resnet_like_cases()) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        const auto s0 = kernels::conv_algo_cache_stats();
        compare_cuda_with_cpu(d, ConvData(d, c.bias, seed += 4), /*exact=*/false);
        EXPECT_EQ(kernels::conv_algo_cache_stats().transform, s0.transform) << "an FFT or Winograd algorithm ran";
    }
}

TEST(Conv2dCuda, AlgorithmCacheHitOnRepeatedShape) {
    LRP_SKIP_WITHOUT_CUDA();
    Tf32Off tf32_off;
    // A shape no other test uses, so the first call must search.
    const Conv2dDesc d = ConvCase{3, 5, 13, 11, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, false}.desc();
    ConvData in(d, false, 77);
    const auto s0 = kernels::conv_algo_cache_stats();
    run_fwd_cuda(d, in);
    const auto s1 = kernels::conv_algo_cache_stats();
    run_fwd_cuda(d, in);
    const auto s2 = kernels::conv_algo_cache_stats();
    EXPECT_EQ(s1.searches, s0.searches + 1);
    EXPECT_EQ(s2.searches, s1.searches);
    EXPECT_EQ(s2.hits, s1.hits + 1);
}

// Deterministic by default: every algorithm chosen for the ResNet-like shapes is one cuDNN calls
// deterministic, and repeated backward passes (where atomics would show) give the same bits.
TEST(Conv2dCuda, DeterministicAlgorithmsByDefault) {
    LRP_SKIP_WITHOUT_CUDA();
    Tf32Off tf32_off;
    ASSERT_TRUE(deterministic()) << "LRP_NONDETERMINISTIC is set in the test environment";
    const Device dev = Device::cuda(0);
    const KernelCtx ctx = kernel_ctx(dev);
    const auto& tab = kernels::cuda_ops();
    const auto s0 = kernels::conv_algo_cache_stats();
    uint32_t seed = 1200;
    // The ResNet-like cases plus a large-batch one where cuDNN's fastest backward-filter uses atomics.
    std::vector<ConvCase> cases = resnet_like_cases();
    cases.push_back(ConvCase{64, 64, 16, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, false});
    for (const ConvCase& c : cases) {
        SCOPED_TRACE(c.str());
        const Conv2dDesc d = c.desc();
        ConvData in(d, false, seed++);
        DeviceInputs t(in, dev);
        std::vector<float> dx0, dw0;
        for (int rep = 0; rep < 3; ++rep) {
            test::Guarded<float> dx(dev, x_numel(d)), dw(dev, w_numel(d));
            tab.conv2d_dgrad(ctx, d, t.dy.data<float>(), t.w.data<float>(), dx.ptr());
            tab.conv2d_wgrad(ctx, d, t.x.data<float>(), t.dy.data<float>(), dw.ptr());
            if (rep == 0) {
                dx0 = dx.read();
                dw0 = dw.read();
            } else {
                EXPECT_TRUE(test::all_close(dx.read(), dx0, test::Tol{0, 0, 0, false})) << "backward-data, rep " << rep;
                EXPECT_TRUE(test::all_close(dw.read(), dw0, test::Tol{0, 0, 0, false})) << "backward-weight, rep " << rep;
            }
        }
    }
    EXPECT_EQ(kernels::conv_algo_cache_stats().nondeterministic, s0.nondeterministic)
        << "a shape fell back to a non-deterministic cuDNN algorithm";
}

TEST(Conv2dCuda, FrontEndMatchesCpuAndRejectsMixedDevices) {
    LRP_SKIP_WITHOUT_CUDA();
    Tf32Off tf32_off;
    const Device dev = Device::cuda(0);
    const Conv2dDesc d = ops::conv2d_desc(Shape{2, 4, 9, 9}, Shape{6, 2, 3, 3}, Conv2dParams{2, 2, 1, 1, 1, 1, 2});
    ConvData in(d, true, 31);
    Tensor x = Tensor::from_vector(in.x, Shape{2, 4, 9, 9}), w = Tensor::from_vector(in.w, Shape{6, 2, 3, 3});
    Tensor b = Tensor::from_vector(in.b, Shape{6});
    Tensor y = Tensor::empty(Shape{2, 6, 5, 5}), yd = Tensor::empty(Shape{2, 6, 5, 5}, DType::F32, dev);
    ops::conv2d_fwd(d, x, w, b, y);
    ops::conv2d_fwd(d, x.to(dev), w.to(dev), b.to(dev), yd);
    EXPECT_TRUE(all_close(yd.to_vector<float>(), y.to_vector<float>(), conv_tol(18)));
    expect_error([&] { ops::conv2d_fwd(d, x.to(dev), w, b.to(dev), yd); }, {"conv2d_fwd", "'w'", "cpu", "cuda:0"});
    expect_error([&] { ops::conv2d_dgrad(d, yd, w.to(dev), x); }, {"conv2d_dgrad", "'dx'", "cpu"});
    expect_error([&] { ops::conv2d_wgrad(d, x, yd, w); }, {"conv2d_wgrad", "'dy'", "cuda:0"});
}
