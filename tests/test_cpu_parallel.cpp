// The CPU kernels' thread pool (kernels/cpu/parallel.h): ranges cover every item once and run at the same time,
// an error reaches the caller, nested and concurrent loops work, bad settings are named, a container's CPU quota
// caps the default; and training steps and LRP passes give the same bits on one thread as on three with every loop
// split, as do GEMMs split into tiles and convolutions whose chunks run side by side or one after another.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../kernels/cpu/parallel.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/models.h"
#include "conv2d_test_util.h"
#include "lrp/kernels/ops.h"
#include "lrp/ops/gemm.h"
#include "lrp/train/step.h"
#include "lrp_test_util.h"
#include "temp_paths.h"

using namespace lrp;
namespace par = lrp::kernels::cpu;

namespace {

// Puts the pool's settings back when a test ends.
struct KeepPoolSettings {
    int threads = par::cpu_threads();
    int64_t work = par::min_range_work();
    ~KeepPoolSettings() {
        par::set_cpu_threads(threads);
        par::set_min_range_work(work);
    }
};

// Sets environment variable `name` for a scope and restores what it was.
struct ScopedEnv {
    std::string name, old;
    bool had;
    ScopedEnv(const char* n, const char* value) : name(n) {
        const char* o = std::getenv(n);
        had = o != nullptr;
        if (had) old = o;
        setenv(n, value, 1);
    }
    ~ScopedEnv() {
        if (had)
            setenv(name.c_str(), old.c_str(), 1);
        else
            unsetenv(name.c_str());
    }
};

}  // namespace

TEST(CpuParallel, RangesCoverEveryItemOnce) {
    KeepPoolSettings keep;
    for (int threads : {1, 2, 3, 7})
        for (int64_t n : {1, 2, 5, 64, 1001})
            for (int64_t grain : {1, 3, 100}) {
                SCOPED_TRACE("threads " + std::to_string(threads) + " n " + std::to_string(n) + " grain " +
                             std::to_string(grain));
                par::set_cpu_threads(threads);
                std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
                std::atomic<int> ranges{0}, short_ranges{0};
                par::parallel_for(n, grain, [&](int64_t b, int64_t e) {
                    ++ranges;
                    if (e - b < grain && e - b < n) ++short_ranges;
                    for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
                });
                for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "item " << i;
                const int64_t expect = std::max<int64_t>(1, std::min<int64_t>(threads, n / grain));
                EXPECT_EQ(ranges.load(), expect);
                EXPECT_EQ(short_ranges.load(), 0);
            }
}

TEST(CpuParallel, RangesRunAtTheSameTime) {
    KeepPoolSettings keep;
    par::set_cpu_threads(3);
    // Each range waits until all three have started: a pool that ran them one after another would time out.
    std::atomic<int> started{0};
    std::atomic<bool> timed_out{false};
    std::vector<std::thread::id> ids(3);
    par::parallel_for(3, 1, [&](int64_t b, int64_t) {
        ids[static_cast<size_t>(b)] = std::this_thread::get_id();
        ++started;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (started.load() < 3)
            if (std::chrono::steady_clock::now() > until) {
                timed_out = true;
                return;
            }
    });
    EXPECT_FALSE(timed_out.load());
    EXPECT_NE(ids[0], ids[1]);
    EXPECT_NE(ids[1], ids[2]);
    EXPECT_NE(ids[0], ids[2]);
}

TEST(CpuParallel, AnErrorReachesTheCallerAndThePoolGoesOn) {
    KeepPoolSettings keep;
    par::set_cpu_threads(3);
    std::atomic<int> done{0};
    try {
        par::parallel_for(300, 1, [&](int64_t b, int64_t e) {
            if (b <= 150 && 150 < e) throw std::runtime_error("item 150 failed");
            done += static_cast<int>(e - b);
        });
        ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& err) {
        EXPECT_STREQ(err.what(), "item 150 failed");
    }
    EXPECT_EQ(done.load(), 200);  // the other ranges still ran
    // Two ranges fail: the lowest one's error comes back, whichever thread failed first.
    for (int rep = 0; rep < 20; ++rep)
        try {
            par::parallel_for(3, 1, [&](int64_t b, int64_t) {
                if (b == 0) std::this_thread::sleep_for(std::chrono::milliseconds(rep % 3));
                if (b < 2) throw std::runtime_error("range " + std::to_string(b));
            });
            ADD_FAILURE() << "no exception";
        } catch (const std::runtime_error& err) {
            ASSERT_STREQ(err.what(), "range 0");
        }
    // The thread count cannot change under a running loop.
    EXPECT_THROW(par::parallel_for(3, 1, [](int64_t, int64_t) { par::set_cpu_threads(2); }), Error);
    EXPECT_THROW(par::parallel_for(1, 1, [](int64_t, int64_t) { par::set_cpu_threads(2); }), Error);  // not split
    std::atomic<int64_t> sum{0};
    par::parallel_for(1000, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sum += i;
    });
    EXPECT_EQ(sum.load(), 999 * 1000 / 2);
}

TEST(CpuParallel, NestedAndConcurrentLoops) {
    KeepPoolSettings keep;
    par::set_cpu_threads(3);
    // A loop inside a loop runs on its caller.
    std::vector<int64_t> rows(12, 0);
    par::parallel_for(12, 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
            par::parallel_for(100, 1, [&](int64_t ib, int64_t ie) {
                for (int64_t i = ib; i < ie; ++i) rows[static_cast<size_t>(r)] += i;
            });
    });
    for (int64_t v : rows) EXPECT_EQ(v, 99 * 100 / 2);
    // Host threads starting loops at once: each gets every item (one of them may run on its own thread).
    std::vector<int64_t> totals(4, 0);
    std::vector<std::thread> hosts;
    for (int t = 0; t < 4; ++t)
        hosts.emplace_back([&totals, t] {
            for (int rep = 0; rep < 200; ++rep) {
                std::atomic<int64_t> s{0};
                par::parallel_for(500, 7, [&](int64_t b, int64_t e) {
                    for (int64_t i = b; i < e; ++i) s += i;
                });
                totals[static_cast<size_t>(t)] += s.load();
            }
        });
    for (auto& h : hosts) h.join();
    for (int64_t v : totals) EXPECT_EQ(v, 200 * (499 * 500 / 2));
}

TEST(CpuParallel, SettingsAreChecked) {
    KeepPoolSettings keep;
    EXPECT_THROW(par::set_cpu_threads(0), Error);
    EXPECT_THROW(par::set_min_range_work(0), Error);
    {
        ScopedEnv e("LRP_CPU_THREADS", "3");
        EXPECT_EQ(par::default_cpu_threads(), 3);
    }
    for (const char* bad : {"abc", "0", "2x", "-1", "100000"}) {
        ScopedEnv e("LRP_CPU_THREADS", bad);
        try {
            par::default_cpu_threads();
            ADD_FAILURE() << "LRP_CPU_THREADS=" << bad << " was taken";
        } catch (const Error& err) {
            EXPECT_NE(std::string(err.what()).find("LRP_CPU_THREADS='" + std::string(bad) + "' is not a whole number"),
                      std::string::npos)
                << err.what();
        }
    }
    ScopedEnv unset("LRP_CPU_THREADS", "");
    EXPECT_GE(par::default_cpu_threads(), 1);
}

TEST(CpuParallel, ContainerCpuQuotaCapsTheDefault) {
    const std::string root = test::remove_at_exit(::testing::TempDir() + "lrp_cgroup_" + std::to_string(::getpid()));
    auto write = [&](const std::string& rel, const std::string& text) {
        std::filesystem::create_directories(std::filesystem::path(root + rel).parent_path());
        std::ofstream(root + rel) << text;
    };
    // cgroup v1: the cpu controller's group and its parents.
    std::filesystem::remove_all(root);
    EXPECT_EQ(par::cgroup_cpu_quota(root, "", ""), 0);  // no files: no quota
    write("/cpu/cpu.cfs_quota_us", "-1\n");              // unlimited
    write("/cpu/cpu.cfs_period_us", "100000\n");
    EXPECT_EQ(par::cgroup_cpu_quota(root, "", "/docker/abc"), 0);
    write("/cpu/docker/abc/cpu.cfs_quota_us", "150000\n");  // 1.5 CPUs on the process's group: 2 threads
    write("/cpu/docker/abc/cpu.cfs_period_us", "100000\n");
    EXPECT_EQ(par::cgroup_cpu_quota(root, "", "/docker/abc"), 2);
    EXPECT_EQ(par::cgroup_cpu_quota(root, "", "/"), 0);  // the root's group has none
    // cgroup v2: the smallest quota from the process's group up; "max" at a level is no limit there.
    std::filesystem::remove_all(root);
    write("/cpu.max", "max 100000\n");
    EXPECT_EQ(par::cgroup_cpu_quota(root, "/init", ""), 0);
    write("/cpu.max", "400000 100000\n");
    write("/init/cpu.max", "max 100000\n");  // a container's entrypoint moved into a child group
    EXPECT_EQ(par::cgroup_cpu_quota(root, "/init", ""), 4);
    write("/app.slice/cpu.max", "max 100000\n");
    write("/app.slice/x.service/cpu.max", "250000 100000\n");
    EXPECT_EQ(par::cgroup_cpu_quota(root, "/app.slice/x.service", ""), 3);
    write("/app.slice/x.service/cpu.max", "garbage\n");  // unreadable: the levels above
    EXPECT_EQ(par::cgroup_cpu_quota(root, "/app.slice/x.service", ""), 4);
    std::filesystem::remove_all(root);
}

namespace {

struct Outcome {
    std::vector<std::vector<float>> params;
    std::vector<float> losses, relevance;
};

// Three SGD steps of a narrow network, then an LRP pass of the trained model in eval mode.
Outcome train_and_explain(const std::string& arch, int threads, int64_t work) {
    par::set_cpu_threads(threads);
    par::set_min_range_work(work);
    nn::ModelSpec s;
    s.arch = arch;
    s.num_classes = 3;
    s.in_channels = 2;
    s.image_size = 16;
    s.base_width = 4;
    auto m = nn::make_model(s);
    Generator g(5);
    nn::init_weights(*m, g);
    Tensor x = test::rand_tensor({6, 2, 16, 16}, 11);
    Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 1, 0, 2}, {6});
    kernels::SgdParams sp;
    sp.lr = 0.05f;
    sp.momentum = 0.9f;
    sp.weight_decay = 5e-4f;
    train::SGD opt(m->named_params(), sp);
    Outcome o;
    m->train(true);
    for (int step = 0; step < 3; ++step)
        o.losses.push_back(train::train_step(*m, opt, x, y).loss.to_vector<float>()[0]);
    for (auto& [name, p] : m->named_params()) o.params.push_back(p->value.to_vector<float>());
    m->eval();
    explain::Composite c = explain::make_composite("epsilon_plus_flat");
    o.relevance = explain::attribute(*m, x, explain::Target::prediction(), c).to_vector<float>();
    return o;
}

}  // namespace

TEST(CpuParallel, ResultsDoNotDependOnTheThreadCount) {
    KeepPoolSettings keep;
    for (const char* arch : {"resnet18", "vgg11_bn"}) {
        SCOPED_TRACE(arch);
        const Outcome serial = train_and_explain(arch, 1, int64_t{1} << 40);
        const int64_t splits = par::split_loops();
        const Outcome split = train_and_explain(arch, 3, 1);
        EXPECT_GT(par::split_loops() - splits, 100) << "the second run's loops were not split";
        EXPECT_EQ(serial.losses, split.losses);
        ASSERT_EQ(serial.params.size(), split.params.size());
        for (size_t i = 0; i < serial.params.size(); ++i) EXPECT_EQ(serial.params[i], split.params[i]) << "param " << i;
        EXPECT_EQ(serial.relevance, split.relevance);
        EXPECT_TRUE(std::any_of(serial.relevance.begin(), serial.relevance.end(), [](float v) { return v != 0.f; }));
    }
}

TEST(CpuParallel, GemmTilesGiveTheSameBitsOnAnyThreadCount) {
    KeepPoolSettings keep;
    struct Case {
        int M, N, K;
        bool ta, tb;
    };
    // Products large enough to split into tiles (rows, columns or both), with transposes and beta != 0.
    const Case cases[] = {{37, 3001, 400, false, false}, {16, 144, 40000, false, true}, {300, 70, 2000, true, false},
                          {129, 1100, 300, true, true}};
    uint32_t seed = 3;
    const kernels::OpTable& cpu = kernels::cpu_ops();
    for (const Case& c : cases) {
        SCOPED_TRACE(std::to_string(c.M) + "x" + std::to_string(c.N) + "x" + std::to_string(c.K));
        // Operands inside wider rows (leading dimensions past their widths, as a view of a larger matrix), so a
        // tile that steps by a width instead of the leading dimension lands on the padding.
        const int64_t ar = c.ta ? c.K : c.M, ac = c.ta ? c.M : c.K, br = c.tb ? c.N : c.K, bc = c.tb ? c.K : c.N;
        const int lda = static_cast<int>(ac) + 5, ldb = static_cast<int>(bc) + 3, ldc = c.N + 7;
        const std::vector<float> a = test::random_vec(ar * lda, seed++), b = test::random_vec(br * ldb, seed++);
        const std::vector<float> c0 = test::random_vec(int64_t{c.M} * ldc, seed++);
        std::vector<float> got[2];
        int slot = 0;
        for (int threads : {1, 3}) {
            par::set_cpu_threads(threads);
            const int64_t splits = par::split_loops();
            got[slot] = c0;
            cpu.gemm(kernel_ctx(Device::cpu()), c.ta, c.tb, c.M, c.N, c.K, 0.75f, a.data(), lda, b.data(), ldb, 0.5f,
                     got[slot].data(), ldc);
            if (threads == 3 && par::tiles_itself()) {
                EXPECT_GT(par::split_loops(), splits) << "no tiles: the case is too small to test them";
            }
            ++slot;
        }
        EXPECT_EQ(got[0], got[1]);
        // Every tile lands where it belongs: entries against a double reference; C's padding is left alone.
        for (int64_t e = 0; e < int64_t{c.M} * ldc; e += 89) {
            const int64_t i = e / ldc, j = e % ldc;
            const float v = got[0][static_cast<size_t>(e)];
            if (j >= c.N) {
                EXPECT_EQ(v, c0[static_cast<size_t>(e)]) << "C's padding was written at " << i << "," << j;
                continue;
            }
            double ref = 0.5 * c0[static_cast<size_t>(e)];
            for (int64_t k = 0; k < c.K; ++k)
                ref += 0.75 * double(a[static_cast<size_t>(c.ta ? k * lda + i : i * lda + k)]) *
                       b[static_cast<size_t>(c.tb ? j * ldb + k : k * ldb + j)];
            if (std::abs(v - ref) > 1e-4 * std::sqrt(double(c.K))) {
                ADD_FAILURE() << "C[" << i << "," << j << "] = " << v << ", expected " << ref;
                break;
            }
        }
    }
}

// A convolution's chunks of images run side by side (at least as many chunks as threads, and small enough) or one
// after another, each spread over the threads: the same bits either way, for the forward, backward-data and the
// weight gradient (summed by slices of the batch, or in large chunks for a wide layer).
TEST(CpuParallel, ConvChunksGiveTheSameBitsOnAnyThreadCount) {
    KeepPoolSettings keep;
    using convtest::ConvCase;
    const ConvCase cases[] = {
        {20, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},   // 20 one-image chunks; 16 weight-gradient slices
        {9, 32, 20, 20, 24, 3, 3, 2, 2, 1, 1, 1, 1, 2, false},   // grouped, strided: chunks of 4, 4, 1; 3 slices
        {5, 8, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, false},     // one chunk of 5 images
        {15, 512, 8, 8, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, false},  // a wide weight gradient in large chunks
        {3, 3, 200, 190, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},    // images too large to run side by side
    };
    for (const ConvCase& c : cases) {
        SCOPED_TRACE(c.str());
        const kernels::Conv2dDesc d = c.desc();
        const convtest::ConvData in(d, c.bias, 9);
        std::vector<float> serial[3];
        for (int threads : {1, 3, 32}) {  // 32 threads: more than any case's chunks
            SCOPED_TRACE(threads);
            par::set_cpu_threads(threads);
            const int64_t splits = par::split_loops();
            const std::vector<float> got[3] = {convtest::run_fwd_cpu(d, in), convtest::run_dgrad_cpu(d, in),
                                               convtest::run_wgrad_cpu(d, in)};
            if (threads > 1 && &c != &cases[2]) {  // the one chunk of 5 small images is below the split size
                EXPECT_GT(par::split_loops(), splits) << "nothing was split over the threads";
            }
            for (int op = 0; op < 3; ++op) {
                if (threads == 1)
                    serial[op] = got[op];
                else
                    EXPECT_EQ(got[op], serial[op]) << "op " << op;
            }
        }
    }
}
