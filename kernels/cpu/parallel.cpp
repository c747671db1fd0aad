// The CPU kernels' thread pool: workers sleep on a condition variable between loops (no spinning, which would
// take cores from OpenBLAS's threads), wake for a loop, claim its ranges from a shared counter, and the caller
// works alongside them and waits until every range is done and every worker has left the loop.
#include "parallel.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "lrp/error.h"
#include "lrp/ops/gemm.h"

namespace lrp::kernels::cpu {
namespace {

constexpr int kMaxThreads = 256;

thread_local bool t_in_loop = false;  // a worker thread, or a caller inside a loop: nested loops run inline

struct Loop {
    int64_t n, grain;
    int parts;
    void* ctx;
    detail::RangeFn fn;
    std::atomic<int> next{0};
};

class Pool {
public:
    std::mutex run_mutex;  // one loop at a time; held by the caller for the whole loop

    int threads() const { return threads_.load(std::memory_order_relaxed); }

    // Under run_mutex.
    void resize(int n) {
        stop_workers();
        threads_.store(n, std::memory_order_relaxed);
    }

    // Under run_mutex; loop.parts >= 2.
    void run(Loop& loop) {
        const int want = std::min(threads(), loop.parts) - 1;
        try {
            while (static_cast<int>(workers_.size()) < want) workers_.emplace_back([this] { worker(); });
        } catch (const std::system_error&) {
            // No more threads to be had (a pids or ulimit cap): go on with those running (the caller alone at
            // worst: it claims whatever ranges no worker takes), and stop asking.
            threads_.store(static_cast<int>(workers_.size()) + 1, std::memory_order_relaxed);
        }
        {
            std::lock_guard<std::mutex> lk(m_);
            loop_ = &loop;
            ++generation_;
            unfinished_ = loop.parts;
            error_ = nullptr;
            error_part_ = loop.parts;
        }
        ++split_loops_;
        wake_.notify_all();
        work(loop);
        std::exception_ptr error;
        {
            std::unique_lock<std::mutex> lk(m_);
            done_.wait(lk, [&] { return unfinished_ == 0 && joined_ == 0; });
            loop_ = nullptr;  // a worker waking from now on finds nothing to join
            error = error_;
            error_ = nullptr;
        }
        if (error) std::rethrow_exception(error);
    }

private:
    void work(Loop& loop) {
        for (;;) {
            const int p = loop.next.fetch_add(1, std::memory_order_relaxed);
            if (p >= loop.parts) return;
            const int64_t b = loop.n * p / loop.parts, e = loop.n * (p + 1) / loop.parts;
            std::exception_ptr error;
            try {
                loop.fn(loop.ctx, b, e);
            } catch (...) {
                error = std::current_exception();
            }
            std::lock_guard<std::mutex> lk(m_);
            if (error && p < error_part_) {  // the lowest range's error, whichever thread failed first
                error_ = error;
                error_part_ = p;
            }
            if (--unfinished_ == 0 && joined_ == 0) done_.notify_all();
        }
    }

    void worker() {
        t_in_loop = true;
        uint64_t seen = 0;
        for (;;) {
            Loop* loop;
            {
                std::unique_lock<std::mutex> lk(m_);
                wake_.wait(lk, [&] { return stop_ || (loop_ && generation_ != seen); });
                if (stop_) return;
                seen = generation_;
                loop = loop_;
                ++joined_;
            }
            work(*loop);
            std::lock_guard<std::mutex> lk(m_);
            if (--joined_ == 0 && unfinished_ == 0) done_.notify_all();
        }
    }

    void stop_workers() {
        {
            std::lock_guard<std::mutex> lk(m_);
            stop_ = true;
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
        workers_.clear();
        stop_ = false;
    }

    std::mutex m_;  // guards the fields below
    std::condition_variable wake_, done_;
    Loop* loop_ = nullptr;
    uint64_t generation_ = 0;
    int unfinished_ = 0;  // ranges of the current loop not yet finished
    int joined_ = 0;      // workers inside the current loop
    std::exception_ptr error_;
    int error_part_ = 0;  // the range error_ came from
    bool stop_ = false;
    std::vector<std::thread> workers_;
    std::atomic<int> threads_{0};  // 0: not yet decided

public:
    std::atomic<int64_t> split_loops_{0};
};

// Never destroyed: workers may still sleep in it while the process exits. A child forked from this process has
// none of its workers (and perhaps a mutex a worker held): it starts a pool of its own, leaving the copy.
Pool* g_pool = nullptr;
std::once_flag g_pool_once;
Pool& pool() {
    std::call_once(g_pool_once, [] {
        g_pool = new Pool();
        pthread_atfork(nullptr, nullptr, [] {
            g_pool = new Pool();
            t_in_loop = false;
        });
    });
    return *g_pool;
}

// The whole-number value of environment variable `name` within [lo, hi], or `fallback` when it is unset or empty.
int64_t env_count(const char* name, int64_t lo, int64_t hi, int64_t fallback) {
    const char* e = std::getenv(name);
    if (!e || !*e) return fallback;
    const std::string s(e);
    size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    LRP_CHECK(used == s.size() && v >= lo && v <= hi, name, "='", s, "' is not a whole number from ", lo, " to ", hi);
    return v;
}

std::atomic<int64_t>& min_work() {
    static std::atomic<int64_t> w{env_count("LRP_CPU_MIN_WORK", 1, int64_t{1} << 40, int64_t{1} << 15)};
    return w;
}

}  // namespace

int64_t gemm_tile_work() {
    static const int64_t w = env_count("LRP_CPU_TILE_WORK", 1, int64_t{1} << 40, int64_t{1} << 24);
    return w;
}

int64_t min_range_work() { return min_work().load(std::memory_order_relaxed); }

void set_min_range_work(int64_t work) {
    LRP_CHECK(work >= 1, "minimum range work ", work, " is not positive");
    min_work().store(work, std::memory_order_relaxed);
}

namespace {
// The numbers of a cgroup quota file ("quota period" when `two`, else one); false where unreadable.
bool read_numbers(const std::string& path, double& a, double& b, bool two) {
    std::ifstream f(path);
    std::string x, y;
    if (!(f >> x) || (two && !(f >> y))) return false;
    char* end = nullptr;
    a = x == "max" ? 0 : std::strtod(x.c_str(), &end);  // cgroup v2's "max": no quota
    if (x != "max" && (end == x.c_str() || *end)) return false;
    if (!two) return true;
    b = std::strtod(y.c_str(), &end);
    return end != y.c_str() && !*end;
}
int quota_cpus(double quota, double period) {
    if (!(quota > 0) || !(period > 0)) return 0;
    return static_cast<int>(std::min<double>(std::ceil(quota / period), kMaxThreads));
}
}  // namespace

// Each group from `own` up to the hierarchy's root: "<mount><own>", its parents, "<mount>".
std::vector<std::string> group_dirs(const std::string& mount, std::string own) {
    std::vector<std::string> dirs;
    while (!own.empty() && own != "/") {
        dirs.push_back(mount + own);
        own = own.substr(0, own.find_last_of('/'));
    }
    dirs.push_back(mount);
    return dirs;
}

int cgroup_cpu_quota(const std::string& root, const std::string& own_v2, const std::string& own_v1) {
    // The smallest limit on the way up counts: a container's quota often sits on a parent of the process's group.
    int best = 0;
    auto take = [&](int q) {
        if (q > 0 && (best == 0 || q < best)) best = q;
    };
    double q = 0, p = 0, unused = 0;
    for (const std::string& dir : group_dirs(root, own_v2))  // cgroup v2; "max 100000": none at this level
        if (read_numbers(dir + "/cpu.max", q, p, true)) take(quota_cpus(q, p));
    for (const std::string& dir : group_dirs(root + "/cpu", own_v1))  // cgroup v1; quota -1: none at this level
        if (read_numbers(dir + "/cpu.cfs_quota_us", q, unused, false) &&
            read_numbers(dir + "/cpu.cfs_period_us", p, unused, false))
            take(quota_cpus(q, p));
    return best;
}

int default_cpu_threads() {
    if (const int64_t n = env_count("LRP_CPU_THREADS", 1, kMaxThreads, 0)) return static_cast<int>(n);
    cpu_set_t set;
    CPU_ZERO(&set);
    int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
    // A container's CPU quota (docker --cpus) caps it: more threads than that would only queue. /proc/self/cgroup
    // names the process's groups: "0::/path" (v2), "N:cpu,cpuacct:/path" (v1's cpu controller).
    std::string own_v2, own_v1;
    std::ifstream cg("/proc/self/cgroup");
    for (std::string line; std::getline(cg, line);) {
        const size_t c1 = line.find(':'), c2 = line.find(':', c1 == std::string::npos ? 0 : c1 + 1);
        if (c1 == std::string::npos || c2 == std::string::npos) continue;
        const std::string controllers = "," + line.substr(c1 + 1, c2 - c1 - 1) + ",";
        if (line.rfind("0::", 0) == 0) own_v2 = line.substr(c2 + 1);
        if (controllers.find(",cpu,") != std::string::npos) own_v1 = line.substr(c2 + 1);
    }
    if (const int q = cgroup_cpu_quota("/sys/fs/cgroup", own_v2, own_v1); q > 0) n = std::min(n, q);
    return std::clamp(n, 1, kMaxThreads);
}

int cpu_threads() {
    Pool& p = pool();
    int n = p.threads();
    if (n > 0) return n;
    std::lock_guard<std::mutex> lk(p.run_mutex);
    if (p.threads() == 0) p.resize(default_cpu_threads());
    return p.threads();
}

int64_t split_loops() { return pool().split_loops_.load(); }

void set_cpu_threads(int n) {
    LRP_CHECK(n >= 1 && n <= kMaxThreads, "CPU thread count ", n, " is outside 1..", kMaxThreads);
    LRP_CHECK(!t_in_loop, "set_cpu_threads inside a parallel loop (or on a pool thread)");
    Pool& p = pool();
    std::lock_guard<std::mutex> lk(p.run_mutex);
    if (p.threads() != n) p.resize(n);
}

namespace detail {

void parallel_for_impl(int64_t n, int64_t grain, void* ctx, RangeFn fn) {
    grain = std::max<int64_t>(grain, 1);
    const int threads = t_in_loop ? 1 : cpu_threads();
    const int64_t parts = std::min<int64_t>(threads, n / grain);
    Pool& p = pool();
    std::unique_lock<std::mutex> lk(p.run_mutex, std::defer_lock);
    if (parts < 2 || !lk.try_lock()) {  // small, nested, or another host thread's loop is running
        const bool outer = t_in_loop;
        t_in_loop = true;  // a loop runs here too: set_cpu_threads is refused inside it, as inside a split one
        try {
            fn(ctx, 0, n);
        } catch (...) {
            t_in_loop = outer;
            throw;
        }
        t_in_loop = outer;
        return;
    }
    Loop loop{n, grain, static_cast<int>(parts), ctx, fn};
    t_in_loop = true;
    try {
        p.run(loop);
    } catch (...) {
        t_in_loop = false;
        throw;
    }
    t_in_loop = false;
}

}  // namespace detail
}  // namespace lrp::kernels::cpu

namespace lrp::ops {
int cpu_kernel_threads() {
    kernels::cpu::min_range_work();
    kernels::cpu::gemm_tile_work();
    return kernels::cpu::cpu_threads();
}
}  // namespace lrp::ops
