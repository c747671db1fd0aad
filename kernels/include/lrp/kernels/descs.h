// Shape descriptors shared by the CPU and CUDA kernels (plain structs, no CUDA types). Output sizes
// follow PyTorch's formulas exactly (including ceil_mode for pooling).
#pragma once
#include <cstdint>

namespace lrp::kernels {

// Conv2d over NCHW input; weight K x (C/groups) x R x S (PyTorch layout); output N x K x P x Q.
struct Conv2dDesc {
    int N = 1, C = 1, H = 1, W = 1;  // input
    int K = 1;                        // output channels
    int R = 1, S = 1;                 // kernel height, width
    int stride_h = 1, stride_w = 1;
    int pad_h = 0, pad_w = 0;
    int dil_h = 1, dil_w = 1;
    int groups = 1;
    int P() const { return (H + 2 * pad_h - dil_h * (R - 1) - 1) / stride_h + 1; }
    int Q() const { return (W + 2 * pad_w - dil_w * (S - 1) - 1) / stride_w + 1; }
};

// Batch norm over N x C x HW (HW = H*W); statistics per channel.
struct BatchNormDesc {
    int N = 1, C = 1;
    int64_t HW = 1;
    float eps = 1e-5f;
    float momentum = 0.1f;  // PyTorch convention: running = (1 - momentum) * running + momentum * batch
};

// 2-D pooling over NCHW. Output size per PyTorch (floor or ceil mode; in ceil mode the last window
// must start inside the input or left padding). Average pooling uses dil = 1.
struct Pool2dDesc {
    int N = 1, C = 1, H = 1, W = 1;
    int kh = 1, kw = 1;
    int sh = 1, sw = 1;
    int ph = 0, pw = 0;
    int dil_h = 1, dil_w = 1;   // max-pool only
    bool ceil_mode = false;
    bool count_include_pad = true;  // avg-pool: padded zeros count in the divisor
    int divisor_override = 0;       // avg-pool: > 0 replaces the divisor
    int P() const { return out_size(H, kh, sh, ph, dil_h); }
    int Q() const { return out_size(W, kw, sw, pw, dil_w); }
    int out_size(int in, int k, int s, int p, int d) const {
        int num = in + 2 * p - d * (k - 1) - 1;
        int o = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
        if (ceil_mode && (o - 1) * s >= in + p) --o;
        return o;
    }
};

enum class ReduceOp { Sum, Mean, Max, Min, SumSq };

struct SgdParams {
    float lr = 0.1f;
    float momentum = 0.f;
    float dampening = 0.f;
    float weight_decay = 0.f;
    bool nesterov = false;
};

struct AdamWParams {
    float lr = 1e-3f;
    float beta1 = 0.9f, beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 1e-2f;
    int64_t step = 1;  // 1-based step count, for bias correction
};

}  // namespace lrp::kernels
