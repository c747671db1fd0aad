// DeviceTimer and device_name: CUDA events and properties in CUDA builds, a steady clock on the CPU.
#include "lrp/timer.h"

#include "lrp/config.h"
#include "lrp/error.h"

#if LRP_HAVE_CUDA
#include "lrp/cuda/cuda_check.h"
#include "lrp/cuda/cuda_context.h"
#endif

namespace lrp {

DeviceTimer::DeviceTimer(Device d) : device_(d) {
    require_device(d);
#if LRP_HAVE_CUDA
    if (d.is_cuda()) {
        cuda_context(d.index).make_current();
        cudaEvent_t a, b;
        LRP_CUDA_CHECK(cudaEventCreate(&a));
        LRP_CUDA_CHECK(cudaEventCreate(&b));
        start_ = a;
        stop_ = b;
    }
#endif
}

DeviceTimer::~DeviceTimer() {
#if LRP_HAVE_CUDA
    if (start_) cudaEventDestroy(static_cast<cudaEvent_t>(start_));
    if (stop_) cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
#endif
}

void DeviceTimer::start() {
#if LRP_HAVE_CUDA
    if (device_.is_cuda()) {
        LRP_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(start_), cuda_context(device_.index).stream()));
        return;
    }
#endif
    t0_ = std::chrono::steady_clock::now();
}

double DeviceTimer::stop_ms() {
#if LRP_HAVE_CUDA
    if (device_.is_cuda()) {
        cudaEvent_t b = static_cast<cudaEvent_t>(stop_);
        LRP_CUDA_CHECK(cudaEventRecord(b, cuda_context(device_.index).stream()));
        LRP_CUDA_CHECK(cudaEventSynchronize(b));
        float ms = 0;
        LRP_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), b));
        return ms;
    }
#endif
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
}

std::string device_name(Device d) {
    if (d.is_cpu()) return "cpu";
    require_device(d);
#if LRP_HAVE_CUDA
    cudaDeviceProp p{};
    LRP_CUDA_CHECK(cudaGetDeviceProperties(&p, d.index));
    return p.name;
#else
    return "?";
#endif
}

}  // namespace lrp
