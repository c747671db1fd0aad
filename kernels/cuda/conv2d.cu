// CUDA conv2d (forward, backward-data, backward-weight) through the cuDNN 9 legacy convolution API.
// Per (shape, direction, TF32/determinism/transform settings, device) a plan (descriptors + algorithm from the
// v7 heuristics + workspace size) is built once and cached; math is FMA-only unless lrp::allow_tf32(), the
// algorithm deterministic unless lrp::deterministic() is off, FFT/Winograd only if allow_conv_transforms().
// A batch beyond cuDNN's tensor size limit runs as several calls. An algorithm cuDNN refuses to run
// (CUDNN_STATUS_NOT_SUPPORTED*) is left out and the shape planned again, as PyTorch's try_all does.
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <mutex>

#include "../api/conv_algo_stats.h"
#include "common.cuh"
#include "conv_algo_pick.h"
#include "cudnn_util.h"
#include "families.h"
#include "lrp/log.h"

namespace lrp::kernels::cuda {
namespace {

constexpr size_t kMaxWorkspace = size_t{512} << 20;  // algorithms needing more are skipped

enum class Dir : int { Fwd = 0, Dgrad = 1, Wgrad = 2 };

using Key = std::array<int, 19>;
constexpr size_t kKeyTf32 = 15, kKeyDet = 16, kKeyTransforms = 17;  // the settings' places in a Key

Key make_key(const Conv2dDesc& d, Dir dir, bool tf32, bool det, bool transforms, int device) {
    return {d.N, d.C, d.H, d.W, d.K, d.R, d.S, d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.dil_h, d.dil_w,
            d.groups, static_cast<int>(dir), tf32 ? 1 : 0, det ? 1 : 0, transforms ? 1 : 0, device};
}

// Immutable once built; used concurrently read-only.
struct Plan {
    Key key{};              // the cache entry it was built for
    TensorDesc x, y, bias;  // x: N x C x H x W, y: N x K x P x Q, bias: 1 x K x 1 x 1
    FilterDesc w;           // K x C/groups x R x S
    ConvDesc conv;
    int algo = 0;  // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by direction
    size_t ws = 0;
    bool deterministic = false;  // cuDNN reports the algorithm as run-to-run reproducible
    bool transform = false;      // an FFT or Winograd algorithm (rounding transforms)
};

std::string shape_str(const Conv2dDesc& d) {
    return str("x [", d.N, ", ", d.C, ", ", d.H, ", ", d.W, "], w [", d.K, ", ", d.C / d.groups, ", ", d.R, ", ",
               d.S, "], stride ", d.stride_h, "x", d.stride_w, ", pad ", d.pad_h, "x", d.pad_w, ", dilation ",
               d.dil_h, "x", d.dil_w, ", groups ", d.groups);
}

// The plan's algorithm from cuDNN's ranked results (rules in conv_algo_pick.h); a deterministic request
// that had to fall back is logged.
template <class Perf, class WsQuery>
bool pick(const Perf* perf, int n, bool tf32, bool det, bool transforms, const std::vector<int>& refused,
          cudnnConvolutionDescriptor_t conv, WsQuery ws_query, Plan& p) {
    AlgoChoice c;
    const bool ok = pick_algo(
        perf, n, tf32, det, transforms, kMaxWorkspace,
        [conv](cudnnMathType_t m) { LRP_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, m)); }, ws_query, c, refused);
    if (!ok) return false;
    p.algo = c.algo;
    p.ws = c.ws;
    p.deterministic = c.deterministic;
    if (c.fallback)
        log_warn("conv2d: no deterministic cuDNN algorithm qualifies; using algorithm ", c.algo,
                 ", results may differ run to run");
    return true;
}

std::unique_ptr<Plan> make_plan(cudnnHandle_t h, const Conv2dDesc& d, const Key& key, const std::vector<int>& refused) {
    const Dir dir = static_cast<Dir>(key[14]);
    const bool tf32 = key[kKeyTf32] != 0, det = key[kKeyDet] != 0, transforms = key[kKeyTransforms] != 0;
    auto p = std::make_unique<Plan>();
    p->key = key;
    set_nchw(p->x, d.N, d.C, d.H, d.W);
    set_nchw(p->y, d.N, d.K, d.P(), d.Q());
    set_nchw(p->bias, 1, d.K, 1, 1);
    set_filter(p->w, d.K, d.C / d.groups, d.R, d.S);
    LRP_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, d.pad_h, d.pad_w, d.stride_h, d.stride_w, d.dil_h,
                                                    d.dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    LRP_CUDNN_CHECK(cudnnSetConvolutionGroupCount(p->conv, d.groups));
    LRP_CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
    int on = 0, oc = 0, oh = 0, ow = 0;  // cuDNN's output size must match Conv2dDesc (PyTorch's formula)
    LRP_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &on, &oc, &oh, &ow));
    LRP_CHECK(on == d.N && oc == d.K && oh == d.P() && ow == d.Q(), "conv2d: cuDNN output ", on, "x", oc, "x", oh,
              "x", ow, " differs from the descriptor's ", d.N, "x", d.K, "x", d.P(), "x", d.Q(), " for ",
              shape_str(d));
    bool ok = false;
    int n = 0;
    switch (dir) {
    case Dir::Fwd: {
        std::array<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT> perf{};
        LRP_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->conv, p->y,
                                                               static_cast<int>(perf.size()), &n, perf.data()));
        ok = pick(perf.data(), n, tf32, det, transforms, refused, p->conv, [&](cudnnConvolutionFwdAlgo_t a, size_t* b) {
            return cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->conv, p->y, a, b);
        }, *p);
        break;
    }
    case Dir::Dgrad: {
        std::array<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT> perf{};
        LRP_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->w, p->y, p->conv, p->x,
                                                                    static_cast<int>(perf.size()), &n, perf.data()));
        ok = pick(perf.data(), n, tf32, det, transforms, refused, p->conv,
                  [&](cudnnConvolutionBwdDataAlgo_t a, size_t* b) {
            return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->w, p->y, p->conv, p->x, a, b);
        }, *p);
        break;
    }
    case Dir::Wgrad: {
        std::array<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT> perf{};
        LRP_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p->x, p->y, p->conv, p->w,
                                                                      static_cast<int>(perf.size()), &n, perf.data()));
        ok = pick(perf.data(), n, tf32, det, transforms, refused, p->conv,
                  [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* b) {
            return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p->x, p->y, p->conv, p->w, a, b);
        }, *p);
        break;
    }
    }
    if (ok) p->transform = is_transform_algo(static_cast<int>(dir), p->algo);
    static const char* const kDirName[] = {"forward", "backward-data", "backward-filter"};
    LRP_CHECK(ok, "conv2d: cuDNN offers no usable ", kDirName[static_cast<int>(dir)], " algorithm (", n,
              " candidates; FMA math unless TF32 is allowed, workspace <= ", kMaxWorkspace >> 20, " MiB",
              transforms ? "" : ", no FFT/Winograd (LRP_CONV_NO_TRANSFORMS)",
              refused.empty() ? "" : str(", ", refused.size(), " refused by cuDNN at run time"), ") for ", shape_str(d));
    return p;
}

// A shape's plan and the algorithms cuDNN refused to run for it. Plans replaced after a refusal are kept
// (retired), so a reference another thread still holds stays valid.
struct Entry {
    std::unique_ptr<Plan> plan;
    std::vector<int> refused;
    std::vector<std::unique_ptr<Plan>> retired;
};
std::mutex& cache_mutex() {
    static std::mutex mu;
    return mu;
}
std::map<Key, Entry>& plan_cache() {
    static auto* cache = new std::map<Key, Entry>();  // process lifetime
    return *cache;
}


// The cached plan for this shape and direction (built on first use; cache guarded by a mutex).
const Plan& plan_for(const Ctx& ctx, cudnnHandle_t h, const Conv2dDesc& d, Dir dir) {
    const Key key = make_key(d, dir, allow_tf32(), deterministic(), allow_conv_transforms(), ctx.cuda->device());
    std::lock_guard<std::mutex> lk(cache_mutex());
    Entry& e = plan_cache()[key];
    const bool hit = e.plan != nullptr;
    if (!hit) {
        e.plan = make_plan(h, d, key, e.refused);
        if (!e.plan->deterministic) conv_algo_record_nondeterministic();
    }
    conv_algo_cache_record(hit);
    if (e.plan->transform) conv_algo_record_transform();
    return *e.plan;
}

// After cuDNN refused to run `failed` (status s): its shape's plan without that algorithm (or the plan another
// thread made meanwhile). Throws when no algorithm is left; the shape's later uses then throw too (planning skips
// every algorithm cuDNN refused for it: its refusals are of shape or algorithm, which a retry would not change).
const Plan& plan_after_refusal(cudnnHandle_t h, const Conv2dDesc& d, const Plan& failed, cudnnStatus_t s) {
    std::lock_guard<std::mutex> lk(cache_mutex());
    Entry& e = plan_cache()[failed.key];
    if (e.plan && e.plan.get() != &failed) {  // already planned again
        if (e.plan->transform) conv_algo_record_transform();
        return *e.plan;
    }
    if (std::find(e.refused.begin(), e.refused.end(), failed.algo) == e.refused.end()) e.refused.push_back(failed.algo);
    conv_algo_record_refused();
    if (e.plan) e.retired.push_back(std::move(e.plan));
    try {
        e.plan = make_plan(h, d, failed.key, e.refused);
    } catch (const Error& err) {
        LRP_THROW("conv2d: cuDNN refused algorithm ", failed.algo, " (", cudnnGetErrorString(s),
                  ") and no other is left: ", err.what());
    }
    log_warn("conv2d: cuDNN refused algorithm ", failed.algo, " (", cudnnGetErrorString(s), ") for ", shape_str(d),
             "; using algorithm ", e.plan->algo);
    if (!e.plan->deterministic) conv_algo_record_nondeterministic();
    if (e.plan->transform) conv_algo_record_transform();  // the call that follows runs it
    return *e.plan;
}

// A status that refuses this algorithm for this shape (another algorithm may run). Not the NOT_SUPPORTED
// statuses about the installation (driver, runtime, architecture, sub-libraries): those fail every algorithm
// and are reported as they are.
bool is_refusal(cudnnStatus_t s) {
    switch (s) {
    case CUDNN_STATUS_NOT_SUPPORTED:
    case CUDNN_STATUS_NOT_SUPPORTED_SHAPE:
    case CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE:
    case CUDNN_STATUS_NOT_SUPPORTED_LAYOUT:
    case CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT:
    case CUDNN_STATUS_NOT_SUPPORTED_PADDING:
    case CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM:
        return true;
    default:
        return false;
    }
}

// Runs call(plan) for this shape; when cuDNN refuses the plan's algorithm (a NOT_SUPPORTED status, though
// its heuristics offered it), again with the next plan. Any other failure throws, naming `what`. A refused
// call has done nothing, so repeating it (with beta = 1 too) is safe.
template <class Call>
void run_planned(const Ctx& ctx, cudnnHandle_t h, const Conv2dDesc& c, Dir dir, const char* what, Call call) {
    const Plan* p = &plan_for(ctx, h, c, dir);
    for (;;) {
        const cudnnStatus_t s = call(*p);
        if (s == CUDNN_STATUS_SUCCESS) return;
        if (!is_refusal(s)) throw_cudnn_error(__FILE__, __LINE__, what, s);
        p = &plan_after_refusal(h, c, *p, s);
    }
}

// The context's cuDNN handle (bound to its stream) with the context's device current.
cudnnHandle_t handle_of(const Ctx& ctx) {
    ctx.cuda->make_current();
    return ctx.cuda->cudnn();
}

void* workspace_of(const Ctx& ctx, const Plan& p) { return p.ws ? ctx.cuda->workspace(p.ws) : nullptr; }

// Calls f(chunk, first_sample) over consecutive samples, as many per call as keep the call's input and output
// within cuDNN's per-tensor element limit (one call unless the batch exceeds it; then as PyTorch does, in multiples
// of 4 samples).
template <class F>
void for_each_call(const Conv2dDesc& d, F&& f) {
    const int64_t limit = conv_max_call_elements();
    const int64_t in = int64_t{d.C} * d.H * d.W, out = int64_t{d.K} * d.P() * d.Q();
    LRP_CHECK(std::max(in, out) <= limit, "conv2d on CUDA: one image's ", in >= out ? "input" : "output", " holds ",
              std::max(in, out), " elements, more than the ", limit, " cuDNN takes in one tensor (", shape_str(d),
              "); use smaller images or fewer channels");
    int per_call = static_cast<int>(std::min<int64_t>(d.N, limit / std::max<int64_t>({in, out, 1})));
    // Later calls start at sample n0: a multiple of 4 keeps their tensors 16-byte aligned, as some cuDNN engines need
    // (a refusal there would drop the algorithm for the whole shape, whose calls share one plan).
    if (per_call < d.N && per_call >= 4) per_call -= per_call % 4;
    for (int n0 = 0; n0 < d.N; n0 += per_call) {
        Conv2dDesc c = d;
        c.N = std::min(per_call, d.N - n0);
        f(c, n0);
    }
}

// beta = 0 (but for later calls of a split backward-weight): cuDNN does not read the output then (NaN in it
// does not propagate).
void conv2d_fwd(const Ctx& ctx, const Conv2dDesc& d, const float* x, const float* w, const float* b, float* y) {
    cudnnHandle_t h = handle_of(ctx);
    for_each_call(d, [&](const Conv2dDesc& c, int n0) {
        const float one = 1.f, zero = 0.f;
        const float* xc = x + int64_t{n0} * d.C * d.H * d.W;
        float* yc = y + int64_t{n0} * d.K * d.P() * d.Q();
        const Plan* used = nullptr;
        run_planned(ctx, h, c, Dir::Fwd, "cudnnConvolutionForward", [&](const Plan& p) {
            used = &p;
            return cudnnConvolutionForward(h, &one, p.x, xc, p.w, w, p.conv,
                                           static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), workspace_of(ctx, p), p.ws,
                                           &zero, p.y, yc);
        });
        if (b) LRP_CUDNN_CHECK(cudnnAddTensor(h, &one, used->bias, b, &one, used->y, yc));  // y += b over N, P, Q
    });
}

void conv2d_dgrad(const Ctx& ctx, const Conv2dDesc& d, const float* dy, const float* w, float* dx) {
    cudnnHandle_t h = handle_of(ctx);
    for_each_call(d, [&](const Conv2dDesc& c, int n0) {
        const float one = 1.f, zero = 0.f;
        // dx has the full input shape, so positions no output reads (output_padding) are written as 0.
        run_planned(ctx, h, c, Dir::Dgrad, "cudnnConvolutionBackwardData", [&](const Plan& p) {
            return cudnnConvolutionBackwardData(h, &one, p.w, w, p.y, dy + int64_t{n0} * d.K * d.P() * d.Q(), p.conv,
                                                static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo),
                                                workspace_of(ctx, p), p.ws, &zero, p.x,
                                                dx + int64_t{n0} * d.C * d.H * d.W);
        });
    });
}

void conv2d_wgrad(const Ctx& ctx, const Conv2dDesc& d, const float* x, const float* dy, float* dw) {
    cudnnHandle_t h = handle_of(ctx);
    for_each_call(d, [&](const Conv2dDesc& c, int n0) {
        const float one = 1.f, zero = 0.f;
        run_planned(ctx, h, c, Dir::Wgrad, "cudnnConvolutionBackwardFilter", [&](const Plan& p) {
            return cudnnConvolutionBackwardFilter(h, &one, p.x, x + int64_t{n0} * d.C * d.H * d.W, p.y,
                                                  dy + int64_t{n0} * d.K * d.P() * d.Q(), p.conv,
                                                  static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo),
                                                  workspace_of(ctx, p), p.ws, n0 == 0 ? &zero : &one, p.w, dw);
        });
    });
}

}  // namespace

void register_conv2d(OpTable& t) {
    t.conv2d_fwd = conv2d_fwd;
    t.conv2d_dgrad = conv2d_dgrad;
    t.conv2d_wgrad = conv2d_wgrad;
}

}  // namespace lrp::kernels::cuda
