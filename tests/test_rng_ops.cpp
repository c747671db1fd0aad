// Random fills (rng_uniform, rng_normal and the ops::uniform/normal front ends): the Philox stream
// layout, counter bookkeeping in the Generator, moments, error paths, and CUDA == CPU (uniform bit-exact).
#include <cstring>
#include <functional>

#include "lrp/generator.h"
#include "lrp/kernels/ops.h"
#include "lrp/ops/elementwise.h"
#include "lrp/philox.h"
#include "test_util.h"

using namespace lrp;
using lrp::kernels::cpu_ops;
using lrp::kernels::cuda_ops;
using lrp::test::all_close;
using lrp::test::Guarded;
using lrp::test::Tol;

namespace {

const std::vector<int64_t> kSizes = {1, 7, 1000, 65537, (1 << 20) + 3};

using lrp::test::expect_error;

// Bitwise equality of two float vectors (NaN-safe); names the first difference.
::testing::AssertionResult bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes " << a.size() << " vs " << b.size();
    for (size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return ::testing::AssertionFailure()
                   << "first difference at [" << i << "]: " << a[i] << " vs " << b[i];
    return ::testing::AssertionSuccess();
}

}  // namespace

TEST(RngCpu, UniformFollowsThePhiloxStream) {
    const uint64_t seed = 0x5eed1234abcdull;
    Generator g(seed, 10);
    Tensor y = lrp::test::poisoned(Shape{3, 7});  // 21 elements: 6 counters
    ops::uniform(y, g, 0.f, 1.f);
    EXPECT_EQ(g.offset(), 10u + 6u);
    auto v = y.to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], philox_uniform(seed, 10, i)) << i;
    // An affine range: lo + (hi - lo) u rounded once per operation.
    ops::uniform(y, g, -3.f, 5.f);
    EXPECT_EQ(g.offset(), 22u);
    v = y.to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) {
        double u = philox_uniform(seed, 16, i);
        ASSERT_NEAR(v[i], -3.0 + 8.0 * u, 1e-6) << i;
        ASSERT_GE(v[i], -3.f);
        ASSERT_LT(v[i], 5.f);
    }
}

TEST(RngCpu, UniformMomentsAndRange) {
    Generator g(3);
    Tensor y = lrp::test::poisoned(Shape{200000});
    ops::uniform(y, g, -1.f, 3.f);
    double s = 0, s2 = 0;
    for (float x : y.to_vector<float>()) {
        ASSERT_GE(x, -1.f);
        ASSERT_LT(x, 3.f);
        s += x;
        s2 += double(x) * x;
    }
    const double mean = s / 200000, var = s2 / 200000 - mean * mean;
    EXPECT_NEAR(mean, 1.0, 0.01);
    EXPECT_NEAR(var, 16.0 / 12.0, 0.02);
}

TEST(RngCpu, NormalFollowsTheStreamAndMoments) {
    const uint64_t seed = 99;
    Generator g(seed, 4);
    Tensor y = lrp::test::poisoned(Shape{100001});
    ops::normal(y, g, 0.5f, 2.f);
    EXPECT_EQ(g.offset(), 4u + 50001u);
    auto v = y.to_vector<float>();
    double s = 0, s2 = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        const double ref = 0.5 + 2.0 * philox_normal(seed, 4, i);
        ASSERT_NEAR(v[i], ref, 1e-6 * (1 + std::fabs(ref))) << i;
        s += v[i];
        s2 += double(v[i]) * v[i];
    }
    const double mean = s / v.size(), var = s2 / v.size() - mean * mean;
    EXPECT_NEAR(mean, 0.5, 0.03);
    EXPECT_NEAR(var, 4.0, 0.08);
}

TEST(RngCpu, DrawsAreDisjointAndReproducible) {
    Generator g(17);
    Tensor a = Tensor::empty(Shape{10}), b = Tensor::empty(Shape{10});
    ops::uniform(a, g, 0.f, 1.f);
    ops::uniform(b, g, 0.f, 1.f);
    EXPECT_NE(a.to_vector<float>(), b.to_vector<float>());
    // b starts right after a's 3 counters.
    for (int i = 0; i < 10; ++i) EXPECT_EQ(b.to_vector<float>()[i], philox_uniform(17, 3, i));
    Generator h(17);
    Tensor c = Tensor::empty(Shape{10});
    ops::uniform(c, h, 0.f, 1.f);
    EXPECT_EQ(a.to_vector<float>(), c.to_vector<float>());
    Generator other(18);
    ops::uniform(c, other, 0.f, 1.f);
    EXPECT_NE(a.to_vector<float>(), c.to_vector<float>());
}

TEST(RngCpu, FrontEndErrors) {
    Generator g(1);
    Tensor y = lrp::test::poisoned(Shape{4});
    Tensor i32 = lrp::test::poisoned(Shape{4}, DType::I32);
    const uint64_t before = g.offset();
    expect_error([&] { ops::uniform(y, g, 1.f, -1.f); }, {"uniform", "lo <= hi"});
    expect_error([&] { ops::uniform(y, g, -3e38f, 3e38f); }, {"uniform", "finite width"});  // hi - lo is Inf
    expect_error([&] { ops::normal(y, g, 0.f, -1.f); }, {"normal", "std"});
    expect_error([&] { ops::uniform(i32, g, 0.f, 1.f); }, {"uniform", "'y'", "dtype"});
    expect_error([&] { ops::normal(Tensor(), g, 0.f, 1.f); }, {"normal", "'y'", "undefined"});
    EXPECT_EQ(g.offset(), before);  // a rejected call consumes no counters
}

TEST(RngCuda, UniformIsBitExact) {
    LRP_SKIP_WITHOUT_CUDA();
    struct Case {
        uint64_t seed, offset;
        float lo, hi;
    };
    for (Case c :
         {Case{1, 0, 0.f, 1.f}, Case{0xdeadbeefcafeull, 5, -2.f, 3.f}, Case{42, (1ull << 33) + 3, -0.1f, 0.1f}}) {
        for (int64_t n : kSizes) {
            SCOPED_TRACE(testing::Message() << "seed=" << c.seed << " offset=" << c.offset << " n=" << n);
            std::vector<float> ref(n);
            cpu_ops().rng_uniform(kernel_ctx(Device::cpu()), c.seed, c.offset, c.lo, c.hi, ref.data(), n);
            Guarded<float> y(Device::cuda(0), n);
            cuda_ops().rng_uniform(kernel_ctx(Device::cuda(0)), c.seed, c.offset, c.lo, c.hi, y.ptr(), n);
            EXPECT_TRUE(bit_equal(y.read(), ref));
            EXPECT_TRUE(y.guards_intact());
        }
    }
}

TEST(RngCuda, NormalMatchesWithinUlps) {
    LRP_SKIP_WITHOUT_CUDA();
    struct Case {
        uint64_t seed, offset;
        float mean, std;
    };
    for (Case c :
         {Case{7, 0, 0.f, 1.f}, Case{0x1234567890ull, 11, 0.5f, 2.f}, Case{3, (1ull << 40) + 1, -1.f, 0.05f}}) {
        for (int64_t n : kSizes) {
            SCOPED_TRACE(testing::Message() << "seed=" << c.seed << " offset=" << c.offset << " n=" << n);
            std::vector<float> ref(n);
            cpu_ops().rng_normal(kernel_ctx(Device::cpu()), c.seed, c.offset, c.mean, c.std, ref.data(), n);
            Guarded<float> y(Device::cuda(0), n);
            cuda_ops().rng_normal(kernel_ctx(Device::cuda(0)), c.seed, c.offset, c.mean, c.std, y.ptr(), n);
            // logf/cosf may differ by an ulp or two between host libm and the device.
            EXPECT_TRUE(all_close(y.read(), ref, Tol{1e-6 * c.std, 2e-6}));
            EXPECT_TRUE(y.guards_intact());
        }
    }
}

TEST(RngCuda, FrontEndsMatchCpuAndAdvanceEqually) {
    LRP_SKIP_WITHOUT_CUDA();
    Generator gc(123, 9), gd(123, 9);
    Tensor c = Tensor::empty(Shape{5, 1001}), d = Tensor::empty(Shape{5, 1001}, DType::F32, Device::cuda(0));
    ops::uniform(c, gc, -1.f, 1.f);
    ops::uniform(d, gd, -1.f, 1.f);
    EXPECT_TRUE(bit_equal(d.to_vector<float>(), c.to_vector<float>()));
    ops::normal(c, gc, 0.f, 0.1f);
    ops::normal(d, gd, 0.f, 0.1f);
    EXPECT_TRUE(all_close(d.to_vector<float>(), c.to_vector<float>(), Tol{1e-7, 2e-6}));
    EXPECT_EQ(gc.offset(), gd.offset());
}
