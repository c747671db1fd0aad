// The op profile: per-(device, name) call counts and times; CUDA timings are event pairs resolved in batches
// (a wait every kMaxPending calls), CPU ones a steady clock. The LRP_OP_PROFILE report is written at exit.
#include "lrp/op_profile.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "lrp/config.h"
#include "lrp/error.h"

#if LRP_HAVE_CUDA
#include "lrp/cuda/cuda_context.h"
#endif

namespace lrp::profile {

namespace {
constexpr size_t kMaxPending = 1024;

struct Stat {
    int64_t calls = 0;
    double ms = 0;
};
struct Pending {
    const char* name;
    Device device;
    void* start;
    void* stop;
};
struct State {
    std::mutex m;
    std::map<std::pair<std::string, std::string>, Stat> stats;  // (device, name)
    std::vector<Pending> pending;                               // CUDA timings not yet read
    std::map<int, std::vector<std::pair<void*, void*>>> spare;  // event pairs to reuse, by device index
    std::set<int> devices;                                      // CUDA devices timed so far
};
State& state() {
    static auto* s = new State;  // never destroyed: the report at exit reads it
    return *s;
}

const char* env_value() {
    const char* e = std::getenv("LRP_OP_PROFILE");
    return e && *e && std::strcmp(e, "0") != 0 ? e : nullptr;
}
std::atomic<bool>& forced() {
    static std::atomic<bool> f{false};
    return f;
}

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void add(State& s, Device d, const char* name, double ms) {
    Stat& st = s.stats[{d.str(), name}];
    ++st.calls;
    st.ms += ms;
}

#if LRP_HAVE_CUDA
// Clears the error a profiler call just failed with, unless an error was pending before it (`before`): that one
// belongs to the ops, whose checks must still see it.
void clear_own_error(cudaError_t before) {
    if (before == cudaSuccess) (void)cudaGetLastError();
}
// Whether a timed device's stream is in a graph capture: a wait for events then would break a global-mode capture.
bool any_capture(const State& s) {
    for (int d : s.devices) {
        cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
        const cudaError_t before = cudaPeekAtLastError();
        if (cudaStreamIsCapturing(cuda_context(d).stream(), &st) != cudaSuccess) {
            clear_own_error(before);
            return true;
        }
        if (st != cudaStreamCaptureStatusNone) return true;
    }
    return false;
}
#endif

// Reads every pending CUDA timing (waiting for its stop event) into the stats, unless a capture is open (then they
// wait for a later call); caller holds s.m.
void resolve_pending(State& s) {
#if LRP_HAVE_CUDA
    if (s.pending.empty() || any_capture(s)) return;
    for (const Pending& p : s.pending) {
        auto a = static_cast<cudaEvent_t>(p.start), b = static_cast<cudaEvent_t>(p.stop);
        float ms = 0;
        const cudaError_t before = cudaPeekAtLastError();
        if (cudaEventSynchronize(b) == cudaSuccess && cudaEventElapsedTime(&ms, a, b) == cudaSuccess) {
            add(s, p.device, p.name, ms);
        } else {
            add(s, p.device, "(untimed: event error)", 0.0);
            clear_own_error(before);
        }
        s.spare[p.device.index].emplace_back(p.start, p.stop);
    }
#endif
    s.pending.clear();
}

void report_at_exit() {
    static std::atomic<bool> done{false};
    if (done.exchange(true)) return;  // registered twice (see register_report_once)
    const char* where = env_value();
    if (!where) return;  // unset since start-up
    std::string text;
    try {
        text = report();
    } catch (const std::exception& e) {
        text = std::string("op profile incomplete: ") + e.what() + "\n";
    }
    if (std::strcmp(where, "1") == 0) {
        std::fputs(text.c_str(), stderr);
        return;
    }
    std::ofstream out(where, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) std::fprintf(stderr, "lrpcu: LRP_OP_PROFILE: cannot write %s\n", where);
}

// The report is registered twice: at start-up, so a run in which no op ran still writes one, and at the first
// timed CUDA call, after its context exists: atexit handlers run in reverse order, so this one runs before the
// CUDA runtime's own teardown (registered when the runtime started) and reads the events while they exist.
[[maybe_unused]] void register_report_once() {
    static const bool registered = [] {
        if (env_value()) std::atexit(report_at_exit);
        return true;
    }();
    (void)registered;
}
[[maybe_unused]] const bool registered_at_startup = [] {
    if (env_value()) std::atexit(report_at_exit);
    return true;
}();
}  // namespace

bool enabled() {
    static const bool from_env = env_value() != nullptr;
    return from_env || forced().load(std::memory_order_relaxed);
}
void set_enabled(bool on) { forced().store(on); }

Scope::Scope(const char* name, Device d) : name_(name), device_(d) {
    if (d.is_cpu()) {
        t0_ns_ = now_ns();
        return;
    }
#if LRP_HAVE_CUDA
    CudaContext& c = cuda_context(d.index);
    c.make_current();
    register_report_once();  // after the context (see register_report_once)
    const cudaError_t before = cudaPeekAtLastError();
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(c.stream(), &capture) != cudaSuccess) {
        clear_own_error(before);
        return;
    }
    if (capture != cudaStreamCaptureStatusNone) return;
    State& s = state();
    {
        std::lock_guard<std::mutex> lock(s.m);
        s.devices.insert(d.index);
        auto& spare = s.spare[d.index];
        if (!spare.empty()) {
            start_ = spare.back().first;
            stop_ = spare.back().second;
            spare.pop_back();
        }
    }
    if (!start_) {
        cudaEvent_t a = nullptr, b = nullptr;
        if (cudaEventCreate(&a) != cudaSuccess || cudaEventCreate(&b) != cudaSuccess) {
            if (a) cudaEventDestroy(a);
            clear_own_error(before);
            return;
        }
        start_ = a;
        stop_ = b;
    }
    if (cudaEventRecord(static_cast<cudaEvent_t>(start_), c.stream()) != cudaSuccess) {
        clear_own_error(before);
        std::lock_guard<std::mutex> lock(state().m);
        state().spare[d.index].emplace_back(start_, stop_);
        start_ = stop_ = nullptr;
    }
#endif
}

Scope::~Scope() {
    State& s = state();
    if (t0_ns_ >= 0) {
        const double ms = double(now_ns() - t0_ns_) * 1e-6;
        std::lock_guard<std::mutex> lock(s.m);
        add(s, device_, name_, ms);
        return;
    }
#if LRP_HAVE_CUDA
    if (!start_) return;
    std::lock_guard<std::mutex> lock(s.m);
    const cudaError_t before = cudaPeekAtLastError();
    if (cudaEventRecord(static_cast<cudaEvent_t>(stop_), cuda_context(device_.index).stream()) != cudaSuccess) {
        clear_own_error(before);
        s.spare[device_.index].emplace_back(start_, stop_);
        return;
    }
    s.pending.push_back({name_, device_, start_, stop_});
    if (s.pending.size() >= kMaxPending) resolve_pending(s);
#endif
}

std::vector<Row> rows() {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.m);
    resolve_pending(s);
    std::vector<Row> r;
    for (const auto& [key, st] : s.stats) r.push_back({key.first, key.second, st.calls, st.ms});
    std::stable_sort(r.begin(), r.end(), [](const Row& a, const Row& b) { return a.total_ms > b.total_ms; });
    return r;
}

std::string report() {
    const std::vector<Row> r = rows();
    std::map<std::string, double> device_total;
    for (const Row& x : r) device_total[x.device] += x.total_ms;
    std::string t =
        "op profile (LRP_OP_PROFILE): each op-table call and device copy by device; cuda: device time between events "
        "on the stream around the call (host gaps inside the call count), cpu: wall time of the call\n";
    char line[256];
    std::snprintf(line, sizeof line, "%-8s %-28s %10s %12s %11s %7s\n", "device", "op", "calls", "total ms", "mean us",
                  "share");
    t += line;
    for (const Row& x : r) {
        const double total = device_total[x.device];
        std::snprintf(line, sizeof line, "%-8s %-28s %10lld %12.3f %11.2f %6.1f%%\n", x.device.c_str(), x.name.c_str(),
                      static_cast<long long>(x.calls), x.total_ms, x.calls ? 1e3 * x.total_ms / double(x.calls) : 0.0,
                      total > 0 ? 100.0 * x.total_ms / total : 0.0);
        t += line;
    }
    if (r.empty()) t += "(no op ran)\n";
    return t;
}

void reset() {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.m);
    resolve_pending(s);
    s.stats.clear();
}

}  // namespace lrp::profile
