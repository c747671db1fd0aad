// CUDA emulation (tests only): the kernel scheduler. Each block's threads run as fibers on the launching
// thread, switching only at barriers (__syncthreads, warp shuffles/matches), so shared memory, barriers and
// warp exchanges behave as on a GPU while every thread's code runs on the CPU.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <vector>

// The launch builtins of the running thread (set by the scheduler before each switch).
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

namespace lrp_emu {
// Runs the launch now, or records it when its stream is being captured into a graph. An invalid launch
// configuration becomes the pending error (cudaGetLastError), as a real launch failure does.
// A pointer argument that is not null and not device memory (a host buffer) is refused as
// cudaErrorIllegalAddress before anything runs: on a GPU the kernel would fault, here it would read host memory.
void submit_kernel(dim3 grid, dim3 block, size_t smem, cudaStream_t stream, std::vector<const void*> pointers,
                   std::function<void()> body);
// Runs host-side work (copies, library calls) now, or records it into the stream's capture.
cudaError_t enqueue_work(cudaStream_t stream, std::function<cudaError_t()> work);
// Runs every block of a launch (called at submit, or at graph launch for captured kernels).
cudaError_t run_grid(dim3 grid, dim3 block, const std::function<void()>& body);

// Block-wide barrier; returns the OR of every arriving thread's value (0 for a plain __syncthreads).
int block_barrier(int value);
// Warp exchanges among the lanes of `mask` (every lane named must take part).
uint64_t warp_shfl_down(unsigned mask, uint64_t bits, unsigned delta, int width);
unsigned warp_match_any(unsigned mask, uint64_t bits);
}  // namespace lrp_emu
