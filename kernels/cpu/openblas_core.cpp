// OpenBLAS's kernel choice on CPUs it does not know: its DYNAMIC_ARCH builds fall back to their generic Prescott
// (SSE3) kernels there (Debian 12's 0.3.21 on Emerald Rapids), several times slower than the AVX2/AVX-512 kernels
// the CPU runs, and rounded otherwise; lrpcu then restarts itself with OPENBLAS_CORETYPE naming a fitting core.
#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lrp/config.h"
#include "lrp/log.h"
#include "lrp/ops/gemm.h"

#if LRP_HAVE_OPENBLAS_INFO
#include <cblas.h>
#endif

namespace lrp::ops {

std::string openblas_core_override() {
#if LRP_HAVE_OPENBLAS_INFO && defined(__x86_64__)
    if (strcasecmp(openblas_get_corename(), "prescott") != 0) return "";
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return "";
}

void reexec_for_openblas_core(char** argv) {
    if (std::getenv("OPENBLAS_CORETYPE")) return;  // chosen by the user, or by an earlier restart
    const std::string core = openblas_core_override();
    if (core.empty()) return;
    // Started through the dynamic loader (ld-linux*.so ./lrpcu ...): /proc/self/exe is the loader, which would take
    // argv[1] for the program. Go on with the generic kernels there.
    char exe[4096];
    const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return;
    exe[len] = '\0';
    const char* base = std::strrchr(exe, '/');
    if (std::strncmp(base ? base + 1 : exe, "ld-", 3) == 0) return;
    if (setenv("OPENBLAS_CORETYPE", core.c_str(), 1) != 0) return;
    log_info("OpenBLAS did not recognise this CPU and chose its generic Prescott kernels; restarting with "
             "OPENBLAS_CORETYPE=", core, " (set OPENBLAS_CORETYPE to choose another)");
    execv("/proc/self/exe", argv);
    // Still here: the restart failed. Go on with the generic kernels (slower, correct), and say so.
    const int err = errno;
    unsetenv("OPENBLAS_CORETYPE");
    log_warn("OpenBLAS runs its generic Prescott kernels on this CPU (restarting with OPENBLAS_CORETYPE=", core,
             " failed: ", std::strerror(err), "); the CPU backend is slower than it could be");
}

}  // namespace lrp::ops
