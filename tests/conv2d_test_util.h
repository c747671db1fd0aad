// Helpers for the conv2d tests: case descriptions, seeded inputs, direct double references for the
// three directions, CPU runs through the front ends, and the CUDA-vs-CPU comparison with guarded outputs.
#pragma once
#include <cmath>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "../kernels/api/conv_algo_stats.h"
#include "lrp/kernels/ops.h"
#include "lrp/ops/conv.h"
#include "test_util.h"

namespace lrp::convtest {

using kernels::Conv2dDesc;
using ops::Conv2dParams;

struct ConvCase {
    int N, C, H, W, K, R, S, sh, sw, ph, pw, dh, dw, groups;
    bool bias;
    static int extent(int in, int k, int s, int p, int d) {
        int num = in + 2 * p - d * (k - 1) - 1;
        return num < 0 ? 0 : num / s + 1;
    }
    bool valid() const { return extent(H, R, sh, ph, dh) >= 1 && extent(W, S, sw, pw, dw) >= 1; }
    Conv2dDesc desc() const {
        return ops::conv2d_desc(Shape{N, C, H, W}, Shape{K, C / groups, R, S},
                                Conv2dParams{sh, sw, ph, pw, dh, dw, groups});
    }
    std::string str() const {
        return lrp::str("N=", N, " C=", C, " H=", H, " W=", W, " K=", K, " R=", R, " S=", S, " stride=", sh, "x", sw,
                        " pad=", ph, "x", pw, " dil=", dh, "x", dw, " groups=", groups, " bias=", bias);
    }
};

inline int64_t x_numel(const Conv2dDesc& d) { return int64_t{d.N} * d.C * d.H * d.W; }
inline int64_t w_numel(const Conv2dDesc& d) { return int64_t{d.K} * (d.C / d.groups) * d.R * d.S; }
inline int64_t y_numel(const Conv2dDesc& d) { return int64_t{d.N} * d.K * d.P() * d.Q(); }

// Inputs of one case: x, w, b (K) and an upstream gradient dy (y's shape), all non-zero.
struct ConvData {
    std::vector<float> x, w, b, dy;
    ConvData() = default;
    ConvData(const Conv2dDesc& d, bool bias, uint32_t seed)
        : x(test::random_vec(x_numel(d), seed)),
          w(test::random_vec(w_numel(d), seed + 1)),
          b(bias ? test::random_vec(d.K, seed + 2) : std::vector<float>()),
          dy(test::random_vec(y_numel(d), seed + 3)) {}
    // Integers in [-4, 4] (stored as floats).
    static ConvData integers(const Conv2dDesc& d, bool bias, uint32_t seed) {
        auto to_f = [](const std::vector<int32_t>& v) { return std::vector<float>(v.begin(), v.end()); };
        ConvData c;
        c.x = to_f(test::random_ints(x_numel(d), seed, -4, 4));
        c.w = to_f(test::random_ints(w_numel(d), seed + 1, -4, 4));
        if (bias) c.b = to_f(test::random_ints(d.K, seed + 2, -4, 4));
        c.dy = to_f(test::random_ints(y_numel(d), seed + 3, -4, 4));
        return c;
    }
};

// Calls f(y_index, x_index, w_index) for every tap of the convolution that reads inside the input.
template <class F>
void for_each_tap(const Conv2dDesc& d, F&& f) {
    const int Cg = d.C / d.groups, Kg = d.K / d.groups, P = d.P(), Q = d.Q();
    for (int64_t n = 0; n < d.N; ++n)
        for (int64_t k = 0; k < d.K; ++k) {
            const int64_t g = k / Kg;
            for (int p = 0; p < P; ++p)
                for (int q = 0; q < Q; ++q) {
                    const int64_t yi = ((n * d.K + k) * P + p) * Q + q;
                    for (int64_t c = 0; c < Cg; ++c)
                        for (int r = 0; r < d.R; ++r)
                            for (int s = 0; s < d.S; ++s) {
                                const int ih = p * d.stride_h - d.pad_h + r * d.dil_h;
                                const int iw = q * d.stride_w - d.pad_w + s * d.dil_w;
                                if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                                const int64_t xi = ((n * d.C + g * Cg + c) * d.H + ih) * d.W + iw;
                                const int64_t wi = ((k * Cg + c) * d.R + r) * d.S + s;
                                f(yi, xi, wi);
                            }
                }
        }
}

inline std::vector<double> ref_fwd_d(const Conv2dDesc& d, const std::vector<double>& x, const std::vector<double>& w) {
    std::vector<double> y(y_numel(d), 0.0);
    for_each_tap(d, [&](int64_t yi, int64_t xi, int64_t wi) { y[yi] += x[xi] * w[wi]; });
    return y;
}
inline std::vector<double> ref_fwd(const Conv2dDesc& d, const std::vector<float>& x, const std::vector<float>& w,
                                   const std::vector<float>* b) {
    auto y = ref_fwd_d(d, {x.begin(), x.end()}, {w.begin(), w.end()});
    if (b) {
        const int64_t PQ = int64_t{d.P()} * d.Q();
        for (size_t i = 0; i < y.size(); ++i) y[i] += (*b)[(i / PQ) % d.K];
    }
    return y;
}
inline std::vector<double> ref_dgrad(const Conv2dDesc& d, const std::vector<float>& dy, const std::vector<float>& w) {
    std::vector<double> dx(x_numel(d), 0.0);
    for_each_tap(d, [&](int64_t yi, int64_t xi, int64_t wi) { dx[xi] += double(dy[yi]) * w[wi]; });
    return dx;
}
inline std::vector<double> ref_wgrad(const Conv2dDesc& d, const std::vector<float>& x, const std::vector<float>& dy) {
    std::vector<double> dw(w_numel(d), 0.0);
    for_each_tap(d, [&](int64_t yi, int64_t xi, int64_t wi) { dw[wi] += double(x[xi]) * dy[yi]; });
    return dw;
}

inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
    return s;
}

// The comparison rule for reductions of length k (architecture.md 8.2).
inline test::Tol conv_tol(int64_t k) {
    return test::Tol{1e-5, std::max(1e-4, 1e-5 * std::sqrt(double(k))), 1e-8, false};
}

inline Shape x_shape(const Conv2dDesc& d) { return Shape{d.N, d.C, d.H, d.W}; }
inline Shape w_shape(const Conv2dDesc& d) { return Shape{d.K, d.C / d.groups, d.R, d.S}; }
inline Shape y_shape(const Conv2dDesc& d) { return Shape{d.N, d.K, d.P(), d.Q()}; }

using test::poisoned;

// CPU runs through the front ends; outputs start NaN-poisoned so unwritten elements show.
inline std::vector<float> run_fwd_cpu(const Conv2dDesc& d, const ConvData& in) {
    Tensor y = poisoned(y_shape(d));
    ops::conv2d_fwd(d, Tensor::from_vector(in.x, x_shape(d)), Tensor::from_vector(in.w, w_shape(d)),
                    in.b.empty() ? Tensor() : Tensor::from_vector(in.b, Shape{d.K}), y);
    return y.to_vector<float>();
}
inline std::vector<float> run_dgrad_cpu(const Conv2dDesc& d, const ConvData& in) {
    Tensor dx = poisoned(x_shape(d));
    ops::conv2d_dgrad(d, Tensor::from_vector(in.dy, y_shape(d)), Tensor::from_vector(in.w, w_shape(d)), dx);
    return dx.to_vector<float>();
}
inline std::vector<float> run_wgrad_cpu(const Conv2dDesc& d, const ConvData& in) {
    Tensor dw = poisoned(w_shape(d));
    ops::conv2d_wgrad(d, Tensor::from_vector(in.x, x_shape(d)), Tensor::from_vector(in.dy, y_shape(d)), dw);
    return dw.to_vector<float>();
}

template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "expected lrp::Error";
    } catch (const Error& e) {
        for (auto& p : parts)
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "\nmissing: " << p;
    }
}

// Small cases for bitwise comparisons (short reductions; integer data).
inline std::vector<ConvCase> exact_cases() {
    return {ConvCase{2, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},
            ConvCase{2, 4, 8, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2, false},
            ConvCase{1, 4, 7, 6, 8, 1, 1, 1, 1, 0, 0, 1, 1, 4, true},
            ConvCase{1, 2, 9, 8, 3, 3, 2, 2, 1, 2, 0, 2, 1, 1, false}};
}

// CIFAR-ResNet-like layers at small batch and odd sizes, plus depthwise and dilated grouped cases.
inline std::vector<ConvCase> resnet_like_cases() {
    return {ConvCase{3, 3, 17, 17, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},
            ConvCase{2, 32, 15, 15, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, false},
            ConvCase{2, 32, 16, 16, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, false},
            ConvCase{2, 32, 16, 16, 64, 1, 1, 2, 2, 0, 0, 1, 1, 1, false},
            ConvCase{2, 64, 5, 5, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},
            ConvCase{2, 16, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, false},
            ConvCase{1, 8, 33, 31, 8, 5, 5, 1, 1, 4, 4, 2, 2, 2, true}};
}

// Turns TF32 off for a scope (fp32 agreement with the CPU), restoring the previous setting.
struct Tf32Off {
    bool prev = allow_tf32();
    Tf32Off() { set_allow_tf32(false); }
    ~Tf32Off() { set_allow_tf32(prev); }
};

struct DeviceInputs {
    Tensor x, w, b, dy;
    DeviceInputs(const ConvData& in, Device dev)
        : x(Tensor::from_vector(in.x, Shape{int64_t(in.x.size())}, dev)),
          w(Tensor::from_vector(in.w, Shape{int64_t(in.w.size())}, dev)),
          b(in.b.empty() ? Tensor() : Tensor::from_vector(in.b, Shape{int64_t(in.b.size())}, dev)),
          dy(Tensor::from_vector(in.dy, Shape{int64_t(in.dy.size())}, dev)) {}
};

inline std::vector<float> run_fwd_cuda(const Conv2dDesc& d, const ConvData& in) {
    const Device dev = Device::cuda(0);
    DeviceInputs t(in, dev);
    test::Guarded<float> y(dev, y_numel(d));
    kernels::cuda_ops().conv2d_fwd(kernel_ctx(dev), d, t.x.data<float>(), t.w.data<float>(),
                                   t.b.defined() ? t.b.data<float>() : nullptr, y.ptr());
    EXPECT_TRUE(y.guards_intact());
    return y.read();
}

// All three CUDA entries on NaN-poisoned guarded outputs against the CPU entries on the same data.
// With `exact`, a direction is compared bit for bit unless cuDNN answered it with an FFT or Winograd
// algorithm (their transforms round even on small integers): then with the usual tolerance, and said.
inline void compare_cuda_with_cpu(const Conv2dDesc& d, const ConvData& in, bool exact) {
    const Device dev = Device::cuda(0);
    const KernelCtx ctx = kernel_ctx(dev);
    DeviceInputs t(in, dev);
    test::Guarded<float> y(dev, y_numel(d)), dx(dev, x_numel(d)), dw(dev, w_numel(d));
    const auto& tab = kernels::cuda_ops();
    const char* const names[] = {"forward", "backward-data", "backward-weight"};
    bool bitwise[3];
    for (int dir = 0; dir < 3; ++dir) {
        const int64_t before = kernels::conv_algo_cache_stats().transform;
        if (dir == 0)
            tab.conv2d_fwd(ctx, d, t.x.data<float>(), t.w.data<float>(), t.b.defined() ? t.b.data<float>() : nullptr,
                           y.ptr());
        else if (dir == 1)
            tab.conv2d_dgrad(ctx, d, t.dy.data<float>(), t.w.data<float>(), dx.ptr());
        else
            tab.conv2d_wgrad(ctx, d, t.x.data<float>(), t.dy.data<float>(), dw.ptr());
        bitwise[dir] = exact && kernels::conv_algo_cache_stats().transform == before;
        if (exact && !bitwise[dir])
            std::cout << "[   NOTE   ] " << names[dir]
                      << ": cuDNN chose an FFT/Winograd algorithm, compared within tolerance, not bitwise\n";
    }
    const test::Tol zero{0, 0, 0, false};
    const int Cg = d.C / d.groups, Kg = d.K / d.groups;
    EXPECT_TRUE(test::all_close(y.read(), run_fwd_cpu(d, in), bitwise[0] ? zero : conv_tol(int64_t{Cg} * d.R * d.S)))
        << names[0];
    EXPECT_TRUE(
        test::all_close(dx.read(), run_dgrad_cpu(d, in), bitwise[1] ? zero : conv_tol(int64_t{Kg} * d.R * d.S)))
        << names[1];
    EXPECT_TRUE(test::all_close(dw.read(), run_wgrad_cpu(d, in),
                                bitwise[2] ? zero : conv_tol(int64_t{d.N} * d.P() * d.Q())))
        << names[2];
    EXPECT_TRUE(y.guards_intact()) << names[0];
    EXPECT_TRUE(dx.guards_intact()) << names[1];
    EXPECT_TRUE(dw.guards_intact()) << names[2];
}

}  // namespace lrp::convtest
