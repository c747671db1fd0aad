// DeviceTimer: times work queued on a device. CUDA: events recorded on the device stream (so launch
// overhead and host gaps between kernels count, host work does not); CPU: a steady clock.
// device_name(): the model name for benchmark records ("NVIDIA H100 80GB HBM3", "cpu").
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "lrp/device.h"

namespace lrp {

class DeviceTimer {
public:
    explicit DeviceTimer(Device d);
    ~DeviceTimer();
    DeviceTimer(const DeviceTimer&) = delete;
    DeviceTimer& operator=(const DeviceTimer&) = delete;
    void start();
    double stop_ms();  // waits for the device to reach the stop point

private:
    Device device_;
    std::chrono::steady_clock::time_point t0_;
    [[maybe_unused]] void* start_ = nullptr;  // cudaEvent_t on CUDA (unused in CPU-only builds)
    [[maybe_unused]] void* stop_ = nullptr;
};

std::string device_name(Device d);

}  // namespace lrp
