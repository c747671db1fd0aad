// Device naming/parsing and the cached CUDA probe (the one place, with runtime/cuda/, that tests
// LRP_HAVE_CUDA). Without a driver the CUDA runtime error is sticky, so the probe runs exactly once.
#include "lrp/device.h"

#include <cstdlib>
#include <mutex>

#include "lrp/config.h"
#include "lrp/error.h"
#include "lrp/log.h"

#if LRP_HAVE_CUDA
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#endif

namespace lrp {

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

bool cuda_built() { return LRP_HAVE_CUDA != 0; }

namespace {
struct Probe {
    int count = 0;
    std::string message;
};

#if LRP_HAVE_CUDA
bool cuda_disabled() {
    const char* dis = std::getenv("LRP_DISABLE_CUDA");
    return dis && std::string(dis) == "1";
}
#endif

Probe run_probe() {
    Probe p;
#if LRP_HAVE_CUDA
    if (cuda_disabled()) {
        p.message = "CUDA disabled by LRP_DISABLE_CUDA=1";
        return p;
    }
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        p.message = str("no usable CUDA device: ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")");
        return p;  // no further CUDA call: the error may be sticky
    }
    p.count = n;
    p.message = n > 0 ? str(n, " CUDA device(s)") : "the CUDA runtime reports 0 devices";
#else
    p.message = "lrpcu was built without CUDA";
#endif
    return p;
}

const Probe& probe() {
    static const Probe p = [] {
        Probe r = run_probe();
        log_info("device probe: ", r.message);
        return r;
    }();
    return p;
}
}  // namespace

int cuda_device_count() { return probe().count; }
const std::string& cuda_probe_message() { return probe().message; }

#if LRP_HAVE_CUDA
namespace {
// "13.0" from the runtime API's 1000 * major + 10 * minor.
std::string cuda_version_text(int v) { return str(v / 1000, ".", v % 1000 / 10); }

template <typename Get>
std::string library_version(const char* name, Get get, int major_built, int minor_built, int patch_built) {
    int v[3] = {-1, -1, -1};
    const libraryPropertyType parts[3] = {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL};
    for (int i = 0; i < 3; ++i)
        if (!get(parts[i], &v[i])) return str(name, " (version unknown)");
    std::string s = str(name, " ", v[0], ".", v[1], ".", v[2]);
    if (v[0] != major_built || v[1] != minor_built || v[2] != patch_built)
        s += str(" (built with ", major_built, ".", minor_built, ".", patch_built, ")");
    return s;
}
}  // namespace

std::string cuda_math_library_versions() {
    return library_version(
               "cuBLAS", [](libraryPropertyType t, int* v) { return cublasGetProperty(t, v) == CUBLAS_STATUS_SUCCESS; },
               CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH) +
           ", " +
           library_version(
               "cuDNN", [](libraryPropertyType t, int* v) { return cudnnGetProperty(t, v) == CUDNN_STATUS_SUCCESS; },
               CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
}

std::string cuda_runtime_versions() {
    // Neither call creates a context or leaves a sticky error, so they are safe after a failed probe. The driver is
    // left alone (not even loaded) when LRP_DISABLE_CUDA=1 keeps this process off the GPU.
    int runtime = 0, driver = 0;
    const bool have_runtime = cudaRuntimeGetVersion(&runtime) == cudaSuccess;
    const std::string rt = have_runtime ? cuda_version_text(runtime) : std::string("unknown");
    if (cuda_disabled()) return str("runtime ", rt, ", driver not queried (LRP_DISABLE_CUDA=1)");
    const bool have_driver = cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0;
    return str("runtime ", rt, ", driver ", have_driver ? cuda_version_text(driver) : std::string("none"));
}
#else
std::string cuda_math_library_versions() { return ""; }
std::string cuda_runtime_versions() { return ""; }
#endif

void require_device(Device d) {
    if (d.is_cpu()) return;
    LRP_CHECK(cuda_built(), "CUDA device ", d.str(), " requested, but lrpcu was built without CUDA");
    LRP_CHECK(cuda_device_count() > 0, "CUDA device ", d.str(), " requested, but ", cuda_probe_message());
    LRP_CHECK(d.index >= 0 && d.index < cuda_device_count(), "CUDA device index ", d.index,
              " out of range (", cuda_device_count(), " device(s))");
}

Device parse_device(const std::string& s) {
    if (s == "cpu") return Device::cpu();
    if (s == "auto") return cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu();
    Device d;
    if (s == "cuda") {
        d = Device::cuda(0);
    } else if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() <= 9 &&
               s.find_first_not_of("0123456789", 5) == std::string::npos) {
        d = Device::cuda(std::stoi(s.substr(5)));  // at most 4 digits: no wrap-around (cuda:4294967296 was cuda:0)
    } else {
        LRP_THROW("unknown device '", s, "' (expected cpu, cuda, cuda:N with N < 10000, or auto)");
    }
    require_device(d);
    return d;
}

}  // namespace lrp
