// Counters of the CUDA conv2d algorithm cache (a cuDNN algorithm is chosen once per shape and cached),
// so tests and benchmarks can observe that a repeated shape hits the cache, and the per-call tensor size
// limit the CUDA conv2d splits its batch by. Defined in api/conv.cpp (every build); only CUDA uses them.
#pragma once
#include <cstdint>

namespace lrp::kernels {

struct ConvAlgoCacheStats {
    int64_t searches = 0;  // lookups that ran the algorithm heuristics (a new shape/direction/TF32 setting)
    int64_t hits = 0;      // lookups answered from the cache
    int64_t nondeterministic = 0;  // searches that chose an algorithm cuDNN does not call deterministic
    int64_t transform = 0;  // lookups (hits too) answered with an FFT or Winograd algorithm: their transforms
                            // round, so even small-integer data need not give bit-exact results
    int64_t refused = 0;    // algorithms cuDNN refused at run time (CUDNN_STATUS_NOT_SUPPORTED*) although its
                            // heuristics offered them; the shape was planned again without them
};

ConvAlgoCacheStats conv_algo_cache_stats();
void conv_algo_cache_record(bool hit);
void conv_algo_record_nondeterministic();
void conv_algo_record_transform();
void conv_algo_record_refused();

// cuDNN supports tensors of at most 2^31 - 1 elements (a documented restriction: more is
// CUDNN_STATUS_NOT_SUPPORTED), so the CUDA conv2d runs a batch whose input or output exceeds that as several
// calls on consecutive samples (backward-weight accumulating). Tests lower the limit to exercise the split;
// n <= 0 restores cuDNN's.
inline constexpr int64_t kCudnnMaxTensorElements = (int64_t{1} << 31) - 1;
int64_t conv_max_call_elements();
void set_conv_max_call_elements(int64_t n);

}  // namespace lrp::kernels
