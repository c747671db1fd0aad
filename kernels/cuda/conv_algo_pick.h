// The choice of a cuDNN convolution algorithm among the v7 heuristics' ranked results: host code over
// cuDNN's perf structs only (no GPU needed), so tests can hold its rules to fake rankings.
#pragma once
#include <cudnn.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace lrp::kernels::cuda {

struct AlgoChoice {
    int algo = 0;                // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by direction
    size_t ws = 0;               // workspace bytes with the final math type
    bool deterministic = false;  // cuDNN calls the algorithm run-to-run reproducible
    bool fallback = false;       // determinism was asked for but no deterministic result qualified
};

// Whether algorithm `algo` of direction `dir` (0 forward, 1 backward-data, 2 backward-filter) is an FFT
// or Winograd one: their transforms round, so integer-valued data need not give exact results.
inline bool is_transform_algo(int dir, int algo) {
    switch (dir) {
    case 0:
        return algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT || algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
               algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD || algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
    case 1:
        return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
               algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD ||
               algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
    default:
        return algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
               algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
    }
}

// The direction of a ranked result, by its perf struct's type (is_transform_algo's `dir`).
inline int algo_dir(const cudnnConvolutionFwdAlgoPerf_t&) { return 0; }
inline int algo_dir(const cudnnConvolutionBwdDataAlgoPerf_t&) { return 1; }
inline int algo_dir(const cudnnConvolutionBwdFilterAlgoPerf_t&) { return 2; }

// The first result (cuDNN's ranking) that succeeded, needs at most max_ws bytes, has an allowed math
// type, is deterministic when `det` asks for it, and whose workspace query ws_query(algo, &bytes) (with
// the final math type) succeeds within max_ws. Without TF32 only FMA results qualify, then in a second
// pass CUDNN_DEFAULT_MATH ones, never tensor-op math (the descriptor keeps CUDNN_FMA_MATH); with TF32
// set_math(result's math type) is called before the query, so the descriptor takes it. With `det` and no
// deterministic result, the same rules run again over all results (fallback = true), so a shape never
// fails only for lack of a deterministic algorithm. Results with CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
// (fp32 data converted to fp16) never qualify; without `transforms`, neither do FFT and Winograd algorithms
// (is_transform_algo), nor algorithms in `refused` (ones cuDNN refused to run for this shape). Returns false
// when nothing qualifies.
template <class Perf, class SetMath, class WsQuery>
bool pick_algo(const Perf* perf, int n, bool tf32, bool det, bool transforms, size_t max_ws, SetMath set_math,
               WsQuery ws_query, AlgoChoice& out, const std::vector<int>& refused = {}) {
    for (int strict = det ? 1 : 0; strict >= 0; --strict) {
        for (int pass = 0; pass < (tf32 ? 1 : 2); ++pass) {
            for (int i = 0; i < n; ++i) {
                const Perf& r = perf[i];
                if (r.status != CUDNN_STATUS_SUCCESS || r.memory > max_ws) continue;
                if (!transforms && is_transform_algo(algo_dir(r), static_cast<int>(r.algo))) continue;
                if (std::find(refused.begin(), refused.end(), static_cast<int>(r.algo)) != refused.end()) continue;
                if (strict && r.determinism != CUDNN_DETERMINISTIC) continue;
                if (tf32) {
                    // TF32 allows tensor cores, not a down-conversion of the fp32 data to fp16.
                    if (r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
                    set_math(r.mathType);
                } else if (r.mathType != (pass == 0 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH)) {
                    continue;
                }
                size_t bytes = 0;
                if (ws_query(r.algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > max_ws) continue;
                out.algo = static_cast<int>(r.algo);
                out.ws = bytes;
                out.deterministic = r.determinism == CUDNN_DETERMINISTIC;
                out.fallback = det && !strict;
                return true;
            }
        }
    }
    return false;
}

}  // namespace lrp::kernels::cuda
