// Shared test helpers: the CUDA skip/require rule, seeded random inputs, the comparison rule
// (|got-ref| <= atol + rtol|ref|, NaN/Inf parity, aggregate NMSE, non-zero reference) and guarded
// device buffers that catch unwritten outputs (poison) and out-of-bounds writes (sentinel bands).
#pragma once
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lrp/context.h"
#include "lrp/device.h"
#include "lrp/tensor.h"

namespace lrp::test {

inline bool require_cuda() {
    const char* e = std::getenv("LRP_REQUIRE_CUDA");
    return e && std::strcmp(e, "1") == 0;
}

// Random floats in [lo, hi), never exactly 0 (zeros hide wrong indexing and unwritten outputs).
inline std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) {
        do x = dist(gen);
        while (x == 0.f);
    }
    return v;
}

inline std::vector<int32_t> random_ints(size_t n, uint32_t seed, int32_t lo, int32_t hi_inclusive) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int32_t> dist(lo, hi_inclusive);
    std::vector<int32_t> v(n);
    for (auto& x : v) x = dist(gen);
    return v;
}

struct Tol {
    double atol = 1e-6;
    double rtol = 1e-6;
    double nmse = 1e-8;         // bound on sum (got-ref)^2 / sum ref^2
    bool allow_zero_ref = false;  // by default an all-zero reference fails (the test could not fail)
};

// Elementwise comparison; the message names the worst element and the first mismatches.
template <class G, class R>
::testing::AssertionResult all_close(const std::vector<G>& got, const std::vector<R>& ref, Tol tol = {}) {
    if (got.size() != ref.size())
        return ::testing::AssertionFailure() << "size " << got.size() << " vs reference " << ref.size();
    double err2 = 0, ref2 = 0, worst = -1;
    size_t worst_i = 0, bad = 0;
    std::string first;
    for (size_t i = 0; i < got.size(); ++i) {
        double g = static_cast<double>(got[i]), r = static_cast<double>(ref[i]);
        bool ok;
        if (std::isnan(r) || std::isnan(g)) ok = std::isnan(r) && std::isnan(g);
        else if (std::isinf(r) || std::isinf(g)) ok = g == r;
        else {
            double d = std::fabs(g - r);
            ok = d <= tol.atol + tol.rtol * std::fabs(r);
            err2 += d * d;
            ref2 += r * r;
            double excess = d - (tol.atol + tol.rtol * std::fabs(r));
            if (excess > worst) worst = excess, worst_i = i;
        }
        if (!ok && ++bad <= 5) first += "\n  [" + std::to_string(i) + "] got " + std::to_string(g) + " ref " +
                                        std::to_string(r);
    }
    if (bad) {
        return ::testing::AssertionFailure() << bad << " of " << got.size() << " elements out of tolerance (atol "
                                             << tol.atol << ", rtol " << tol.rtol << "); worst at [" << worst_i
                                             << "]" << first;
    }
    if (!tol.allow_zero_ref && ref2 == 0 && !got.empty())
        return ::testing::AssertionFailure() << "reference is all zeros: the comparison proves nothing";
    if (ref2 > 0 && err2 / ref2 > tol.nmse)
        return ::testing::AssertionFailure() << "NMSE " << err2 / ref2 << " exceeds " << tol.nmse;
    return ::testing::AssertionSuccess();
}

// got and ref equal bit for bit (NaN payloads and the sign of zero included); names the first difference.
inline ::testing::AssertionResult bits_equal(const std::vector<float>& got, const std::vector<float>& ref) {
    if (got.size() != ref.size()) return ::testing::AssertionFailure() << "size " << got.size() << " vs " << ref.size();
    for (size_t i = 0; i < got.size(); ++i)
        if (std::memcmp(&got[i], &ref[i], sizeof(float)) != 0)
            return ::testing::AssertionFailure() << "first difference at [" << i << "]: " << got[i] << " vs " << ref[i];
    return ::testing::AssertionSuccess();
}

// Runs f, which must throw lrp::Error whose message contains every string of `parts`.
inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "no lrp::Error thrown";
    } catch (const Error& e) {
        for (const auto& p : parts)
            EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << "\nmissing: " << p;
    }
}

// A CPU output tensor that starts poisoned (F32: NaN, I32/I64: the type's minimum), so elements a kernel does not
// write show, even where the caching allocator hands back a block that already holds the expected result.
inline Tensor poisoned(const Shape& s, DType dt = DType::F32) {
    if (dt == DType::I32) return Tensor::from_vector(std::vector<int32_t>(s.numel(), INT32_MIN), s);
    if (dt == DType::I64) return Tensor::from_vector(std::vector<int64_t>(s.numel(), INT64_MIN), s);
    return Tensor::from_vector(std::vector<float>(s.numel(), std::numeric_limits<float>::quiet_NaN()), s);
}

// A buffer of T on `dev` with `kGuard` sentinel elements on each side; the body starts poisoned.
template <class T>
class Guarded {
public:
    static constexpr int64_t kGuard = 64;
    Guarded(Device dev, int64_t n, T poison = poison_value())
        : n_(n), t_(Tensor::empty(Shape{n + 2 * kGuard}, dtype_of<T>::value, dev)) {
        std::vector<T> init(static_cast<size_t>(n + 2 * kGuard), sentinel());
        for (int64_t i = 0; i < n; ++i) init[kGuard + i] = poison;
        copy_bytes(t_.raw_data(), dev, init.data(), Device::cpu(), init.size() * sizeof(T));
    }
    Guarded(Device dev, const std::vector<T>& values) : Guarded(dev, static_cast<int64_t>(values.size())) {
        copy_bytes(ptr(), t_.device(), values.data(), Device::cpu(), values.size() * sizeof(T));
    }
    T* ptr() const { return t_.data<T>() + kGuard; }
    int64_t size() const { return n_; }
    std::vector<T> read() const {
        std::vector<T> all = t_.to_vector<T>();
        return {all.begin() + kGuard, all.begin() + kGuard + n_};
    }
    // Fails if anything wrote outside the body.
    ::testing::AssertionResult guards_intact() const {
        std::vector<T> all = t_.to_vector<T>();
        for (int64_t i = 0; i < kGuard; ++i) {
            if (!same(all[i], sentinel()) || !same(all[kGuard + n_ + i], sentinel()))
                return ::testing::AssertionFailure() << "write outside the output buffer (guard element " << i << ")";
        }
        return ::testing::AssertionSuccess();
    }
    static T poison_value() {
        if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::quiet_NaN();
        else return static_cast<T>(-7777777);
    }

private:
    static T sentinel() { return static_cast<T>(12345); }
    static bool same(T a, T b) { return std::memcmp(&a, &b, sizeof(T)) == 0; }
    int64_t n_;
    Tensor t_;
};

// The whole of a file as bytes ("" when it cannot be read).
inline std::string read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A fixture with a fresh temporary directory per test (removed afterwards, even one made unwritable).
class TempDirTest : public ::testing::Test {
protected:
    explicit TempDirTest(std::string prefix = "lrp_test") : prefix_(std::move(prefix)) {}
    void SetUp() override {
        std::string tmpl = ::testing::TempDir() + prefix_ + "_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(dir_, ec);
    }
    std::string path(const std::string& rel) const { return dir_ + "/" + rel; }
    // Writes `bytes` to dir/rel (creating folders) and returns the path.
    std::string write(const std::string& rel, const std::string& bytes) const {
        std::filesystem::create_directories(std::filesystem::path(path(rel)).parent_path());
        std::ofstream(path(rel), std::ios::binary) << bytes;
        return path(rel);
    }
    std::string prefix_, dir_;
};

// Feeds `load` every truncation of the valid file `good`, then `mutations` seeded copies with 1 to 3 bytes
// replaced (from `alphabet` or random, within the first `span` bytes, 0: anywhere), each written to `path`
// first. A load either succeeds or throws lrp::Error; any other exception fails the test, and a crash or
// an out-of-bounds read shows in the sanitizer build.
struct FuzzCounts {
    int truncated_loaded = 0, loaded = 0, refused = 0;
};
inline FuzzCounts fuzz_file(const std::string& good, const std::string& path,
                            const std::function<void(const std::string&)>& load, uint64_t seed,
                            const std::string& alphabet, size_t span = 0, int mutations = 400) {
    FuzzCounts c;
    auto attempt = [&](const std::string& bytes, const std::string& what, bool truncated) {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
        try {
            load(path);
            ++(truncated ? c.truncated_loaded : c.loaded);
        } catch (const Error&) {
            ++c.refused;
        } catch (const std::exception& e) {
            ADD_FAILURE() << what << ": a non-lrp exception escaped: " << e.what();
        }
    };
    for (size_t n = 0; n < good.size(); ++n) attempt(good.substr(0, n), "truncated to " + std::to_string(n), true);
    uint64_t state = seed;
    auto next = [&state] {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<uint32_t>(state >> 33);
    };
    const size_t limit = span ? std::min(span, good.size()) : good.size();
    for (int t = 0; t < mutations; ++t) {
        std::string m = good;
        const int edits = 1 + static_cast<int>(next() % 3);
        for (int e = 0; e < edits; ++e) {
            const size_t pos = next() % limit;
            m[pos] = (next() % 2) ? alphabet[next() % alphabet.size()] : static_cast<char>(next() & 0xff);
        }
        attempt(m, "mutation " + std::to_string(t), false);
    }
    return c;
}

// Lowers the file size limit of this process (so writes fail even as root, like a full disk); restores
// it when it goes.
struct FileSizeLimit {
    rlimit old{};
    explicit FileSizeLimit(rlim_t bytes) {
        std::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &old);
        rlimit r = old;
        r.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &r);
    }
    ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &old); }
};

}  // namespace lrp::test

// Skip a CUDA comparison when no device is present; fail instead when LRP_REQUIRE_CUDA=1.
#define LRP_SKIP_WITHOUT_CUDA()                                                                  \
    do {                                                                                         \
        if (::lrp::cuda_device_count() == 0) {                                                   \
            if (::lrp::test::require_cuda())                                                     \
                FAIL() << "LRP_REQUIRE_CUDA=1 but no CUDA device: " << ::lrp::cuda_probe_message(); \
            GTEST_SKIP() << "no CUDA device (" << ::lrp::cuda_probe_message() << ")";            \
        }                                                                                        \
    } while (0)
