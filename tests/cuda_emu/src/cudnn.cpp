// CUDA emulation (tests only): the legacy cuDNN convolution API lrpcu calls. Descriptors are validated as
// cuDNN does (NCHW fp32, the output-size formula, channels = filter channels x groups); the algorithm
// rankings offer deterministic and non-deterministic, FMA and tensor-op entries with workspaces, so the
// picker's rules run; every direction is a direct double-accumulated convolution over bounds-checked operands.
// LRP_EMU_CUDNN_REFUSE="fwd:1,dgrad:0" makes the execution calls refuse those algorithms with
// CUDNN_STATUS_NOT_SUPPORTED_SHAPE, as real cuDNN can for an algorithm its heuristics offered.
#include <cudnn.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

#include "lrp_emu/memory.h"
#include "lrp_emu/scheduler.h"

struct cudnnContext {
    cudaStream_t stream = nullptr;
};
struct cudnnTensorStruct {
    int n = 0, c = 0, h = 0, w = 0;
};
struct cudnnFilterStruct {
    int k = 0, c = 0, r = 0, s = 0;
};
struct cudnnConvolutionStruct {
    int pad_h = 0, pad_w = 0, u = 1, v = 1, dh = 1, dw = 1, groups = 1;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace {
using T = cudnnTensorStruct;
using F = cudnnFilterStruct;
using C = cudnnConvolutionStruct;

constexpr size_t kWs = 4096;  // the workspace every algorithm but the first of each ranking asks for

// Whether LRP_EMU_CUDNN_REFUSE (read at every call, so tests can set it) lists `dir`:`algo`.
bool refused(const char* dir, int algo) {
    const char* e = std::getenv("LRP_EMU_CUDNN_REFUSE");
    if (!e) return false;
    const std::string list = std::string(",") + e + ",", item = std::string(",") + dir + ":" + std::to_string(algo) + ",";
    return list.find(item) != std::string::npos;
}

size_t count(const T& t) { return static_cast<size_t>(t.n) * t.c * t.h * t.w; }
size_t count(const F& f) { return static_cast<size_t>(f.k) * f.c * f.r * f.s; }

int out_dim(int in, int pad, int k, int stride, int dil) { return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1; }

bool shapes_ok(const T& x, const F& w, const C& cv, const T& y) {
    return x.c == w.c * cv.groups && w.k % cv.groups == 0 && y.n == x.n && y.c == w.k &&
           y.h == out_dim(x.h, cv.pad_h, w.r, cv.u, cv.dh) && y.w == out_dim(x.w, cv.pad_w, w.s, cv.v, cv.dw);
}

bool operand_ok(const void* p, size_t floats, const char* call, const char* name) {
    const std::string bad = lrp_emu::check_range(p, floats * sizeof(float));
    if (bad.empty()) return true;
    std::fprintf(stderr, "lrp_emu: %s: %s: %s\n", call, name, bad.c_str());
    return false;
}

bool workspace_ok(const void* ws, size_t given, size_t need, const char* call) {
    if (need == 0) return true;
    if (given < need || !ws) {
        std::fprintf(stderr, "lrp_emu: %s: the algorithm needs a %zu-byte workspace, given %zu bytes at %p\n", call,
                     need, given, ws);
        return false;
    }
    return operand_ok(ws, need / sizeof(float), call, "workspace");
}

// Visits every (n, k, p, q) x (c, r, s) term of the convolution: f(x index, w index, y index).
template <class Fn>
void for_each_term(const T& x, const F& w, const C& cv, const T& y, Fn f) {
    const int kg = w.k / cv.groups;
    for (int n = 0; n < y.n; ++n)
        for (int k = 0; k < y.c; ++k) {
            const int g = k / kg;
            for (int p = 0; p < y.h; ++p)
                for (int q = 0; q < y.w; ++q) {
                    const size_t yi = ((static_cast<size_t>(n) * y.c + k) * y.h + p) * y.w + q;
                    for (int c = 0; c < w.c; ++c)
                        for (int r = 0; r < w.r; ++r) {
                            const int hi = p * cv.u - cv.pad_h + r * cv.dh;
                            if (hi < 0 || hi >= x.h) continue;
                            for (int s = 0; s < w.s; ++s) {
                                const int wi = q * cv.v - cv.pad_w + s * cv.dw;
                                if (wi < 0 || wi >= x.w) continue;
                                const int rr = cv.mode == CUDNN_CONVOLUTION ? w.r - 1 - r : r;
                                const int ss = cv.mode == CUDNN_CONVOLUTION ? w.s - 1 - s : s;
                                const size_t xi =
                                    ((static_cast<size_t>(n) * x.c + g * w.c + c) * x.h + hi) * x.w + wi;
                                const size_t wj = ((static_cast<size_t>(k) * w.c + c) * w.r + rr) * w.s + ss;
                                f(xi, wj, yi);
                            }
                        }
                }
        }
}

// out = alpha * acc + beta * out (out unread when beta == 0).
void blend(float* out, const std::vector<double>& acc, float alpha, float beta) {
    for (size_t i = 0; i < acc.size(); ++i)
        out[i] = static_cast<float>(alpha * acc[i] + (beta == 0.f ? 0.0 : static_cast<double>(beta) * out[i]));
}

template <class Perf>
void fill_perf(Perf* perf, int requested, int* returned, std::vector<Perf> list) {
    *returned = 0;
    for (const Perf& p : list)
        if (*returned < requested) perf[(*returned)++] = p;
}

template <class Perf, class Algo>
Perf perf(Algo a, bool det, cudnnMathType_t math, size_t mem) {
    Perf p{};
    p.algo = a;
    p.status = CUDNN_STATUS_SUCCESS;
    p.memory = mem;
    p.determinism = det ? CUDNN_DETERMINISTIC : CUDNN_NON_DETERMINISTIC;
    p.mathType = math;
    return p;
}

size_t fwd_ws(cudnnConvolutionFwdAlgo_t a) { return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM ? 0 : kWs; }
size_t dgrad_ws(cudnnConvolutionBwdDataAlgo_t a) { return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 ? 0 : kWs; }
size_t wgrad_ws(cudnnConvolutionBwdFilterAlgo_t a) { return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 ? 0 : kWs; }
}  // namespace

extern "C" {

cudnnStatus_t cudnnCreate(cudnnHandle_t* h) {
    *h = new cudnnContext;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) {
    delete h;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) {
    h->stream = s;
    return CUDNN_STATUS_SUCCESS;
}
const char* cudnnGetErrorString(cudnnStatus_t s) {
    switch (s) {
        case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
        case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
        case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
        case CUDNN_STATUS_NOT_SUPPORTED_SHAPE: return "CUDNN_STATUS_NOT_SUPPORTED_SHAPE";
        case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
        default: return "CUDNN_STATUS_(emulation: other)";
    }
}

cudnnStatus_t cudnnGetProperty(libraryPropertyType t, int* v) {
    *v = t == MAJOR_VERSION ? CUDNN_MAJOR : t == MINOR_VERSION ? CUDNN_MINOR : CUDNN_PATCHLEVEL;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* d) { return *d = new T, CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { return delete d, CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* d) { return *d = new F, CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { return delete d, CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* d) {
    return *d = new C, CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) {
    return delete d, CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n,
                                         int c, int h, int w) {
    if (f != CUDNN_TENSOR_NCHW || t != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
    if (int64_t{n} * c * h * w > INT32_MAX) return CUDNN_STATUS_NOT_SUPPORTED;  // documented: < 2^31 elements
    *d = T{n, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k,
                                         int c, int h, int w) {
    if (f != CUDNN_TENSOR_NCHW || t != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    if (k <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
    *d = F{k, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int ph, int pw, int u, int v, int dh,
                                              int dw, cudnnConvolutionMode_t mode, cudnnDataType_t t) {
    if (t != CUDNN_DATA_FLOAT) return CUDNN_STATUS_NOT_SUPPORTED;
    if (ph < 0 || pw < 0 || u <= 0 || v <= 0 || dh <= 0 || dw <= 0) return CUDNN_STATUS_BAD_PARAM;
    d->pad_h = ph, d->pad_w = pw, d->u = u, d->v = v, d->dh = dh, d->dw = dw, d->mode = mode;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int g) {
    if (g <= 0) return CUDNN_STATUS_BAD_PARAM;
    d->groups = g;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m) {
    d->math = m;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t cv,
                                                    const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
                                                    int* n, int* c, int* h, int* wo) {
    if (x->c != w->c * cv->groups) return CUDNN_STATUS_BAD_PARAM;
    *n = x->n, *c = w->k;
    *h = out_dim(x->h, cv->pad_h, w->r, cv->u, cv->dh);
    *wo = out_dim(x->w, cv->pad_w, w->s, cv->v, cv->dw);
    return *h > 0 && *wo > 0 ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t, const cudnnTensorDescriptor_t x,
                                                     const cudnnFilterDescriptor_t w,
                                                     const cudnnConvolutionDescriptor_t cv,
                                                     const cudnnTensorDescriptor_t y, const int req, int* ret,
                                                     cudnnConvolutionFwdAlgoPerf_t* p) {
    if (!shapes_ok(*x, *w, *cv, *y) || req <= 0) return CUDNN_STATUS_BAD_PARAM;
    using P = cudnnConvolutionFwdAlgoPerf_t;
    fill_perf<P>(p, req, ret,
                    {perf<P>(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, true, CUDNN_TENSOR_OP_MATH, kWs),
                     perf<P>(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, true, CUDNN_FMA_MATH, 0),
                     perf<P>(CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, true, CUDNN_FMA_MATH, kWs)});
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t, const cudnnFilterDescriptor_t w,
                                                          const cudnnTensorDescriptor_t y,
                                                          const cudnnConvolutionDescriptor_t cv,
                                                          const cudnnTensorDescriptor_t x, const int req, int* ret,
                                                          cudnnConvolutionBwdDataAlgoPerf_t* p) {
    if (!shapes_ok(*x, *w, *cv, *y) || req <= 0) return CUDNN_STATUS_BAD_PARAM;
    using P = cudnnConvolutionBwdDataAlgoPerf_t;
    fill_perf<P>(p, req, ret,
                    {perf<P>(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, false, CUDNN_FMA_MATH, 0),
                     perf<P>(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, true, CUDNN_FMA_MATH, kWs)});
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t, const cudnnTensorDescriptor_t x,
                                                            const cudnnTensorDescriptor_t y,
                                                            const cudnnConvolutionDescriptor_t cv,
                                                            const cudnnFilterDescriptor_t w, const int req, int* ret,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* p) {
    if (!shapes_ok(*x, *w, *cv, *y) || req <= 0) return CUDNN_STATUS_BAD_PARAM;
    using P = cudnnConvolutionBwdFilterAlgoPerf_t;
    fill_perf<P>(p, req, ret,
                    {perf<P>(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, false, CUDNN_FMA_MATH, 0),
                     perf<P>(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, true, CUDNN_FMA_MATH, kWs),
                     perf<P>(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, false, CUDNN_FMA_MATH, kWs)});
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t, const cudnnTensorDescriptor_t x,
                                                      const cudnnFilterDescriptor_t w,
                                                      const cudnnConvolutionDescriptor_t cv,
                                                      const cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t a,
                                                      size_t* bytes) {
    if (!shapes_ok(*x, *w, *cv, *y)) return CUDNN_STATUS_BAD_PARAM;
    *bytes = fwd_ws(a);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t, const cudnnFilterDescriptor_t w,
                                                           const cudnnTensorDescriptor_t y,
                                                           const cudnnConvolutionDescriptor_t cv,
                                                           const cudnnTensorDescriptor_t x,
                                                           cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
    if (!shapes_ok(*x, *w, *cv, *y)) return CUDNN_STATUS_BAD_PARAM;
    *bytes = dgrad_ws(a);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t, const cudnnTensorDescriptor_t x,
                                                             const cudnnTensorDescriptor_t y,
                                                             const cudnnConvolutionDescriptor_t cv,
                                                             const cudnnFilterDescriptor_t w,
                                                             cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
    if (!shapes_ok(*x, *w, *cv, *y)) return CUDNN_STATUS_BAD_PARAM;
    *bytes = wgrad_ws(a);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t xd,
                                      const void* x, const cudnnFilterDescriptor_t wd, const void* w,
                                      const cudnnConvolutionDescriptor_t cd, cudnnConvolutionFwdAlgo_t a, void* ws,
                                      size_t ws_bytes, const void* beta, const cudnnTensorDescriptor_t yd, void* y) {
    const T X = *xd, Y = *yd;
    const F W = *wd;
    const C CV = *cd;
    const char* call = "cudnnConvolutionForward";
    if (!shapes_ok(X, W, CV, Y)) return CUDNN_STATUS_BAD_PARAM;
    if (refused("fwd", a)) return CUDNN_STATUS_NOT_SUPPORTED_SHAPE;
    if (!operand_ok(x, count(X), call, "x") || !operand_ok(w, count(W), call, "w") ||
        !operand_ok(y, count(Y), call, "y") || !workspace_ok(ws, ws_bytes, fwd_ws(a), call))
        return CUDNN_STATUS_BAD_PARAM;
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
    const auto* xp = static_cast<const float*>(x);
    const auto* wp = static_cast<const float*>(w);
    auto* yp = static_cast<float*>(y);
    const cudaError_t e = lrp_emu::enqueue_work(h->stream, [=]() {
        std::vector<double> acc(count(Y), 0.0);
        for_each_term(X, W, CV, Y, [&](size_t xi, size_t wj, size_t yi) { acc[yi] += double(xp[xi]) * wp[wj]; });
        blend(yp, acc, al, be);
        return cudaSuccess;
    });
    return e == cudaSuccess ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_EXECUTION_FAILED;
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void* alpha, const cudnnFilterDescriptor_t wd,
                                           const void* w, const cudnnTensorDescriptor_t dyd, const void* dy,
                                           const cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdDataAlgo_t a,
                                           void* ws, size_t ws_bytes, const void* beta,
                                           const cudnnTensorDescriptor_t dxd, void* dx) {
    const T X = *dxd, Y = *dyd;
    const F W = *wd;
    const C CV = *cd;
    const char* call = "cudnnConvolutionBackwardData";
    if (!shapes_ok(X, W, CV, Y)) return CUDNN_STATUS_BAD_PARAM;
    if (refused("dgrad", a)) return CUDNN_STATUS_NOT_SUPPORTED_SHAPE;
    if (!operand_ok(dx, count(X), call, "dx") || !operand_ok(w, count(W), call, "w") ||
        !operand_ok(dy, count(Y), call, "dy") || !workspace_ok(ws, ws_bytes, dgrad_ws(a), call))
        return CUDNN_STATUS_BAD_PARAM;
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
    const auto* dyp = static_cast<const float*>(dy);
    const auto* wp = static_cast<const float*>(w);
    auto* dxp = static_cast<float*>(dx);
    const cudaError_t e = lrp_emu::enqueue_work(h->stream, [=]() {
        std::vector<double> acc(count(X), 0.0);
        for_each_term(X, W, CV, Y, [&](size_t xi, size_t wj, size_t yi) { acc[xi] += double(dyp[yi]) * wp[wj]; });
        blend(dxp, acc, al, be);
        return cudaSuccess;
    });
    return e == cudaSuccess ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_EXECUTION_FAILED;
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t xd,
                                             const void* x, const cudnnTensorDescriptor_t dyd, const void* dy,
                                             const cudnnConvolutionDescriptor_t cd,
                                             cudnnConvolutionBwdFilterAlgo_t a, void* ws, size_t ws_bytes,
                                             const void* beta, const cudnnFilterDescriptor_t dwd, void* dw) {
    const T X = *xd, Y = *dyd;
    const F W = *dwd;
    const C CV = *cd;
    const char* call = "cudnnConvolutionBackwardFilter";
    if (!shapes_ok(X, W, CV, Y)) return CUDNN_STATUS_BAD_PARAM;
    if (refused("wgrad", a)) return CUDNN_STATUS_NOT_SUPPORTED_SHAPE;
    if (!operand_ok(x, count(X), call, "x") || !operand_ok(dw, count(W), call, "dw") ||
        !operand_ok(dy, count(Y), call, "dy") || !workspace_ok(ws, ws_bytes, wgrad_ws(a), call))
        return CUDNN_STATUS_BAD_PARAM;
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
    const auto* xp = static_cast<const float*>(x);
    const auto* dyp = static_cast<const float*>(dy);
    auto* dwp = static_cast<float*>(dw);
    const cudaError_t e = lrp_emu::enqueue_work(h->stream, [=]() {
        std::vector<double> acc(count(W), 0.0);
        for_each_term(X, W, CV, Y, [&](size_t xi, size_t wj, size_t yi) { acc[wj] += double(xp[xi]) * dyp[yi]; });
        blend(dwp, acc, al, be);
        return cudaSuccess;
    });
    return e == cudaSuccess ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_EXECUTION_FAILED;
}

// C = alpha * A + beta * C, A broadcast over every dimension where it is 1.
cudnnStatus_t cudnnAddTensor(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t ad, const void* A,
                             const void* beta, const cudnnTensorDescriptor_t cd, void* Cp) {
    const T a = *ad, c = *cd;
    auto fits = [](int ai, int ci) { return ai == ci || ai == 1; };
    if (!fits(a.n, c.n) || !fits(a.c, c.c) || !fits(a.h, c.h) || !fits(a.w, c.w)) return CUDNN_STATUS_BAD_PARAM;
    if (!operand_ok(A, count(a), "cudnnAddTensor", "A") || !operand_ok(Cp, count(c), "cudnnAddTensor", "C"))
        return CUDNN_STATUS_BAD_PARAM;
    const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
    const auto* ap = static_cast<const float*>(A);
    auto* cp = static_cast<float*>(Cp);
    const cudaError_t e = lrp_emu::enqueue_work(h->stream, [=]() {
        size_t i = 0;
        for (int n = 0; n < c.n; ++n)
            for (int ch = 0; ch < c.c; ++ch)
                for (int y = 0; y < c.h; ++y)
                    for (int x = 0; x < c.w; ++x, ++i) {
                        const size_t ai = ((static_cast<size_t>(a.n == 1 ? 0 : n) * a.c + (a.c == 1 ? 0 : ch)) * a.h +
                                           (a.h == 1 ? 0 : y)) * a.w + (a.w == 1 ? 0 : x);
                        cp[i] = static_cast<float>(double(al) * ap[ai] + (be == 0.f ? 0.0 : double(be) * cp[i]));
                    }
        return cudaSuccess;
    });
    return e == cudaSuccess ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_EXECUTION_FAILED;
}

}  // extern "C"
