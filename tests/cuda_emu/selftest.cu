// Self-tests of the CUDA emulation (built with LRP_CUDA_EMULATION only): the collectives it must get right
// and the misuse it must report (a warp exchange with an exited lane, a CUB block of the wrong size, an
// invalid launch, a copy past an allocation, a synchronisation inside a capture), and cuDNN's descriptor rules.
#include <cub/cub.cuh>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <gtest/gtest.h>

#include <vector>

namespace {

__global__ void block_sum_k(const float* x, float* out) {
    using BR = cub::BlockReduce<float, 128>;
    __shared__ typename BR::TempStorage tmp;
    const float s = BR(tmp).Reduce(x[blockIdx.x * 128 + threadIdx.x], [](float a, float b) { return a + b; });
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}

__global__ void warp_sum_k(const int* x, int* out) {
    int v = x[threadIdx.x];
    for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, d);
    if (threadIdx.x % 32 == 0) out[threadIdx.x / 32] = v;
}

// Thread 0 of each block writes shared memory, the others read it after the barrier.
__global__ void shared_broadcast_k(int* out) {
    __shared__ int v;
    if (threadIdx.x == 0) v = 100 + static_cast<int>(blockIdx.x);
    __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

__global__ void shfl_with_exited_lanes_k(int* out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_down_sync(0xFFFFFFFFu, static_cast<int>(threadIdx.x), 1);
}

template <class T>
T* to_device(const std::vector<T>& h) {
    void* d = nullptr;
    EXPECT_EQ(cudaMalloc(&d, h.size() * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpyAsync(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice, nullptr), cudaSuccess);
    return static_cast<T*>(d);
}

template <class T>
std::vector<T> to_host(const T* d, size_t n) {
    std::vector<T> h(n);
    EXPECT_EQ(cudaMemcpyAsync(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost, nullptr), cudaSuccess);
    return h;
}

TEST(CudaEmulation, BlockReduceWarpShuffleAndSharedMemory) {
    std::vector<float> x(3 * 128);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 128 + 1);
    float* dx = to_device(x);
    float* dsum = to_device(std::vector<float>(3, -1.f));
    block_sum_k<<<3, 128>>>(dx, dsum);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    EXPECT_EQ(to_host(dsum, 3), std::vector<float>(3, 8256.f));

    std::vector<int> xi(64);
    for (int i = 0; i < 64; ++i) xi[i] = i;
    int* dxi = to_device(xi);
    int* dw = to_device(std::vector<int>(2, -1));
    warp_sum_k<<<1, 64>>>(dxi, dw);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    EXPECT_EQ(to_host(dw, 2), (std::vector<int>{496, 1520}));

    int* db = to_device(std::vector<int>(3 * 40, -1));
    shared_broadcast_k<<<3, 40>>>(db);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    const std::vector<int> b = to_host(db, 3 * 40);
    for (int i = 0; i < 3 * 40; ++i) ASSERT_EQ(b[i], 100 + i / 40) << i;
    for (void* p : {static_cast<void*>(dx), static_cast<void*>(dsum), static_cast<void*>(dxi),
                    static_cast<void*>(dw), static_cast<void*>(db)})
        EXPECT_EQ(cudaFree(p), cudaSuccess);
}

TEST(CudaEmulation, MisuseIsReported) {
    int* d = to_device(std::vector<int>(32, 0));
    shfl_with_exited_lanes_k<<<1, 32>>>(d);
    EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "a shuffle waiting for lanes that exited";
    float* dx = to_device(std::vector<float>(64, 1.f));
    float* dsum = to_device(std::vector<float>(1, 0.f));
    block_sum_k<<<1, 64>>>(dx, dsum);
    EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "cub::BlockReduce<float, 128> in a 64-thread block";
    shared_broadcast_k<<<1, 2048>>>(d);
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
    std::vector<int> h(33);
    shared_broadcast_k<<<1, 32>>>(h.data());
    EXPECT_EQ(cudaGetLastError(), cudaErrorIllegalAddress) << "a host pointer as a kernel argument";
    EXPECT_EQ(h, std::vector<int>(33, 0)) << "the kernel ran on the host buffer";
    EXPECT_EQ(cudaMemcpyAsync(h.data(), d, 33 * sizeof(int), cudaMemcpyDeviceToHost, nullptr), cudaErrorInvalidValue)
        << "a copy past the end of the allocation";
    EXPECT_EQ(cudaMemcpyAsync(d, h.data(), 4, cudaMemcpyDeviceToHost, nullptr), cudaErrorInvalidValue)
        << "a host pointer as the source of a device-to-host copy";
    (void)cudaGetLastError();

    cudaStream_t s = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, 16), cudaErrorStreamCaptureUnsupported) << "cudaMalloc in a global-mode capture";
    EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
    cudaGraph_t g = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(g, nullptr);
    (void)cudaGetLastError();
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
    EXPECT_EQ(cudaFree(d), cudaSuccess);
    EXPECT_EQ(cudaFree(dx), cudaSuccess);
    EXPECT_EQ(cudaFree(dsum), cudaSuccess);
}

// cuDNN's documented descriptor rules: NCHW fp32 only here, positive sizes, fewer than 2^31 elements.
TEST(CudaEmulation, CudnnTensorDescriptorRules) {
    cudnnTensorDescriptor_t t = nullptr;
    ASSERT_EQ(cudnnCreateTensorDescriptor(&t), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 46341, 46340),
              CUDNN_STATUS_SUCCESS) << "2^31 - 41,708 elements";
    EXPECT_EQ(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 1, 32768, 32768),
              CUDNN_STATUS_NOT_SUPPORTED) << "2^31 elements";
    EXPECT_EQ(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 0, 4, 4), CUDNN_STATUS_BAD_PARAM);
    EXPECT_EQ(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, 1, 4, 4),
              CUDNN_STATUS_NOT_SUPPORTED);
    EXPECT_EQ(cudnnDestroyTensorDescriptor(t), CUDNN_STATUS_SUCCESS);
}

}  // namespace
