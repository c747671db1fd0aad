// Devices and the CUDA device probe. cuda_device_count() probes once per process (thread-safe),
// treats any error as "no device", and after a failed probe no code calls the CUDA runtime again.
#pragma once
#include <string>

namespace lrp {

enum class DeviceType { CPU, CUDA };

struct Device {
    DeviceType type = DeviceType::CPU;
    int index = 0;

    static Device cpu() { return {DeviceType::CPU, 0}; }
    static Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
    bool is_cpu() const { return type == DeviceType::CPU; }
    bool is_cuda() const { return type == DeviceType::CUDA; }
    bool operator==(const Device& o) const { return type == o.type && index == o.index; }
    bool operator!=(const Device& o) const { return !(*this == o); }
    std::string str() const;  // "cpu", "cuda:0"
};

bool cuda_built();                  // the CUDA backend was compiled in
int cuda_device_count();            // 0 in CPU-only builds, without a driver, or with LRP_DISABLE_CUDA=1
const std::string& cuda_probe_message();  // why the count is what it is (driver error text, "disabled", ...)
// The CUDA libraries this process loaded, for bug reports and run records; "" in CPU-only builds. None of these
// calls needs a device or a driver. A library loaded in another version than the headers lrpcu was compiled
// with says so: "cuDNN 9.1.0 (built with 9.19.0)".
std::string cuda_math_library_versions();  // "cuBLAS 13.1.0, cuDNN 9.19.0": what decides a kernel's rounding
std::string cuda_runtime_versions();       // "runtime 13.0, driver 12.8" ("driver none" without one)

// "cpu", "cuda", "cuda:N" or "auto" (CUDA if a device is present, else CPU). Throws on anything else,
// and on "cuda" when no device is present, naming the reason.
Device parse_device(const std::string& s);

// Throws a clear lrp::Error if `d` cannot be used in this process (CPU-only build, no device, bad index).
void require_device(Device d);

}  // namespace lrp
