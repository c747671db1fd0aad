// CUDA metric kernels: count_equal as one block with a fixed-order integer reduction (deterministic).
#include "common.cuh"
#include "families.h"

namespace lrp::kernels::cuda {

namespace {
constexpr int kThreads = 256;

__global__ void count_equal_k(const int32_t* a, const int32_t* b, int64_t n, float* out) {
    __shared__ long long part[kThreads];
    long long c = 0;
    for (int64_t i = threadIdx.x; i < n; i += kThreads) c += a[i] == b[i];
    part[threadIdx.x] = c;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s >>= 1) {
        if (static_cast<int>(threadIdx.x) < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[0] = static_cast<float>(part[0]);
}

void count_equal(const Ctx& ctx, const int32_t* a, const int32_t* b, int64_t n, float* out) {
    count_equal_k<<<1, kThreads, 0, stream_of(ctx)>>>(a, b, n, out);
    LRP_CUDA_CHECK_LAUNCH("count_equal", stream_of(ctx));
}
}  // namespace

void register_metrics(OpTable& t) { t.count_equal = count_equal; }

}  // namespace lrp::kernels::cuda
