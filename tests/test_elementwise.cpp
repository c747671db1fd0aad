// Elementwise ops: hand-computed CPU cases (stabilizer reference values from lrp-rules.md §1, NaN
// rules), front-end error paths, and every CUDA entry against the CPU table over awkward sizes.
#include <functional>

#include "lrp/kernels/ops.h"
#include "lrp/ops/elementwise.h"
#include "test_util.h"

using namespace lrp;
using lrp::kernels::cpu_ops;
using lrp::kernels::cuda_ops;
using lrp::test::all_close;
using lrp::test::Guarded;
using lrp::test::random_vec;
using lrp::test::Tol;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const std::vector<int64_t> kSizes = {1, 7, 1000, 65537, (1 << 20) + 3};

Tensor on_cpu(const std::vector<float>& v) {
    return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())});
}
Tensor on_cuda(const std::vector<float>& v) {
    return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())}, Device::cuda(0));
}

// Expects an lrp::Error whose message contains every part.
using lrp::test::expect_error;

}  // namespace

TEST(ElementwiseCpu, HandComputedArithmetic) {
    Tensor a = on_cpu({1.5f, -2.f, 3.25f}), b = on_cpu({0.5f, 4.f, -1.f});
    EXPECT_EQ(ops::add(a, b).to_vector<float>(), (std::vector<float>{2.f, 2.f, 2.25f}));
    EXPECT_EQ(ops::mul(a, b).to_vector<float>(), (std::vector<float>{0.75f, -8.f, -3.25f}));
    EXPECT_EQ(ops::scale(a, -2.f).to_vector<float>(), (std::vector<float>{-3.f, 4.f, -6.5f}));
    Tensor y = on_cpu({1.f, 1.f, 1.f});
    ops::axpy(0.5f, b, y);
    EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{1.25f, 3.f, 0.5f}));
    ops::fill(y, 0.375f);
    EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0.375f, 0.375f, 0.375f}));
    EXPECT_EQ(ops::full(Shape{2, 2}, -3.f).to_vector<float>(), (std::vector<float>(4, -3.f)));
    // outputs may alias inputs
    ops::add(a, b, a);
    EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{2.f, 2.f, 2.25f}));
}

TEST(ElementwiseCpu, ReluForwardBackward) {
    Tensor x = on_cpu({-2.f, -0.5f, 0.f, 0.5f, 3.f, kNaN});
    auto y = ops::relu(x).to_vector<float>();
    EXPECT_TRUE(all_close(y, std::vector<float>{0.f, 0.f, 0.f, 0.5f, 3.f, kNaN}));
    Tensor dy = on_cpu({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}), dx = lrp::test::poisoned(Shape{6});
    ops::relu_bwd(x, dy, dx);
    EXPECT_EQ(dx.to_vector<float>(), (std::vector<float>{0.f, 0.f, 0.f, 4.f, 5.f, 0.f}));
}

TEST(ElementwiseCpu, ClampKeepsNaN) {
    Tensor x = on_cpu({-3.f, -0.25f, 0.75f, 9.f, kNaN}), y = lrp::test::poisoned(Shape{5});
    ops::clamp(x, -1.f, 0.5f, y);
    EXPECT_TRUE(all_close(y.to_vector<float>(), std::vector<float>{-1.f, -0.25f, 0.5f, 0.5f, kNaN}));
}

// zennit's ReLUBetaSmooth factor sigmoid(beta x), against double-precision values; saturates without NaN.
TEST(ElementwiseCpu, SigmoidMulReferenceValues) {
    const std::vector<float> xs = {-3.f, -0.25f, 0.f, 0.1f, 2.f, -1e4f, 1e4f};
    const std::vector<float> rs = {1.5f, -2.f, 0.75f, 4.f, -0.5f, 3.f, -3.f};
    Tensor x = on_cpu(xs), r = on_cpu(rs), y = lrp::test::poisoned(Shape{7});
    ops::sigmoid_mul(x, 10.f, r, y);
    const auto v = y.to_vector<float>();
    for (size_t i = 0; i < xs.size(); ++i) {
        const double want = double(rs[i]) / (1.0 + std::exp(-10.0 * double(xs[i])));
        EXPECT_NEAR(v[i], want, 1e-6 * std::max(1.0, std::abs(want))) << "x = " << xs[i];
    }
    EXPECT_EQ(v[2], 0.375f);  // sigmoid(0) = 1/2
    EXPECT_EQ(v[5], 0.f);     // exp overflows to Inf: r / Inf
    EXPECT_EQ(v[6], -3.f);
    // beta 0: r / 2 everywhere; in place on r
    ops::sigmoid_mul(x, 0.f, r, r);
    EXPECT_EQ(r.to_vector<float>()[1], -1.f);
    expect_error([&] { ops::sigmoid_mul(x, 10.f, on_cpu({1.f}), y); }, {"sigmoid_mul", "r"});
    expect_error([&] { ops::sigmoid_mul(x, std::numeric_limits<float>::infinity(), r, y); },
                 {"sigmoid_mul", "beta must be finite"});
}

TEST(ElementwiseCpu, StabilizerReferenceValues) {
    Tensor z = on_cpu({0.f, -0.f, 1.f, -1.f, kNaN, -1e-7f}), y = lrp::test::poisoned(Shape{6});
    ops::lrp_stabilize(z, 1e-6f, y);
    auto v = y.to_vector<float>();
    EXPECT_EQ(v[0], 1e-6f);
    EXPECT_EQ(v[1], 1e-6f);  // sgn0(-0) = +1
    EXPECT_EQ(v[2], 1.f + 1e-6f);
    EXPECT_EQ(v[3], -1.f - 1e-6f);
    EXPECT_TRUE(std::isnan(v[4]));
    EXPECT_EQ(v[5], -1e-7f - 1e-6f);
    EXPECT_NEAR(v[2], 1.000001, 1e-7);
    ops::lrp_stabilize(z, 0.f, y);  // eps = 0 gives z itself
    auto w = y.to_vector<float>();
    EXPECT_EQ(w[2], 1.f);
    EXPECT_EQ(w[3], -1.f);
}

TEST(ElementwiseCpu, EpsDivision) {
    Tensor r = on_cpu({2.f, 3.f, 1.f, kNaN, 1.f}), z = on_cpu({0.f, -0.f, -1.f, 1.f, 1.5f});
    Tensor s = lrp::test::poisoned(Shape{5});
    ops::lrp_eps_div(r, z, 0.5f, s);
    auto v = s.to_vector<float>();
    EXPECT_EQ(v[0], 4.f);
    EXPECT_EQ(v[1], 6.f);
    EXPECT_FLOAT_EQ(v[2], -1.f / 1.5f);
    EXPECT_TRUE(std::isnan(v[3]));
    EXPECT_EQ(v[4], 0.5f);
}

TEST(ElementwiseCpu, BiasAddAndExpandRows) {
    const int N = 2, C = 3, HW = 5;
    auto y0 = random_vec(N * C * HW, 11), b = random_vec(C, 12);
    Tensor y = Tensor::from_vector(y0, Shape{N, C, 1, HW});
    ops::bias_add(y, on_cpu(b));
    std::vector<double> ref(y0.size());
    for (int n = 0; n < N; ++n)
        for (int c = 0; c < C; ++c)
            for (int i = 0; i < HW; ++i) ref[(n * C + c) * HW + i] = double(y0[(n * C + c) * HW + i]) + b[c];
    EXPECT_TRUE(all_close(y.to_vector<float>(), ref));

    auto x = random_vec(N * C, 13);
    Tensor e = lrp::test::poisoned(Shape{N, C, 2, 2});
    ops::expand_rows(Tensor::from_vector(x, Shape{N, C, 1, 1}), 0.25f, e);
    std::vector<double> eref;
    for (float xv : x)
        for (int k = 0; k < 4; ++k) eref.push_back(0.25 * xv);
    EXPECT_TRUE(all_close(e.to_vector<float>(), eref));
}

TEST(ElementwiseCpu, FrontEndErrors) {
    Tensor a = on_cpu({1.f, 2.f, 3.f}), b2 = on_cpu({1.f, 2.f});
    Tensor i32 = Tensor::from_vector(std::vector<int32_t>{1, 2, 3}, Shape{3});
    expect_error([&] { ops::add(a, b2, a); }, {"add", "'b'", "shape"});
    expect_error([&] { ops::mul(a, a, b2); }, {"mul", "'y'", "shape"});
    expect_error([&] { ops::relu_fwd(i32, a); }, {"relu_fwd", "'x'", "dtype"});
    expect_error([&] { ops::scale(a, 2.f, i32); }, {"scale", "'y'", "dtype"});
    expect_error([&] { ops::add(a, Tensor(), a); }, {"add", "'b'", "undefined"});
    expect_error([&] { ops::clamp(a, 1.f, -1.f, a); }, {"clamp", "lo <= hi"});
    expect_error([&] { ops::lrp_eps_div(a, b2, 1e-6f, a); }, {"lrp_eps_div", "'z'", "shape"});
    expect_error([&] { ops::lrp_stabilize(a, -1.f, a); }, {"lrp_stabilize", "eps"});
    Tensor y = lrp::test::poisoned(Shape{2, 3, 4});
    expect_error([&] { ops::bias_add(y, b2); }, {"bias_add", "'b'", "shape"});
    expect_error([&] { ops::bias_add(a, a); }, {"bias_add", "'y'"});
    expect_error([&] { ops::expand_rows(Tensor::empty(Shape{4}), 1.f, y); }, {"expand_rows", "leading dims"});
}

TEST(ElementwiseCuda, DeviceMismatchIsAnError) {
    LRP_SKIP_WITHOUT_CUDA();
    Tensor a = on_cpu({1.f, 2.f}), d = on_cuda({1.f, 2.f});
    expect_error([&] { ops::add(a, d, a); }, {"add", "'b'", "cuda:0", "expected cpu"});
    expect_error([&] { ops::relu_fwd(d, a); }, {"relu_fwd", "'y'", "cpu"});
    expect_error(
        [&] {
            ops::bias_add(Tensor::empty(Shape{1, 2}, DType::F32, Device::cuda(0)), a);
        },
        {"bias_add", "'b'"});
}

namespace {

// Runs `cpu` and `cuda` (each given its table and context) on the same inputs and compares outputs.
using Entry = std::function<void(const kernels::OpTable&, const KernelCtx&, const std::vector<const float*>&,
                                 float*, int64_t)>;

void compare_entry(const char* name, const Entry& e, int nin, const std::vector<float>& out0 = {},
                   bool specials = false) {
    for (int64_t n : kSizes) {
        SCOPED_TRACE(std::string(name) + " n=" + std::to_string(n));
        std::vector<std::vector<float>> in;
        for (int k = 0; k < nin; ++k) {
            in.push_back(random_vec(n, 100 + 7 * k + static_cast<uint32_t>(n), -2.f, 2.f));
            if (specials && n >= 7) {  // exact zeros of both signs and NaN hit the sgn0/NaN rules
                in.back()[1] = 0.f;
                in.back()[2] = -0.f;
                in.back()[3] = kNaN;
            }
        }
        std::vector<float> ref =
            out0.empty() ? std::vector<float>(n, kNaN) : std::vector<float>(out0.begin(), out0.begin() + n);
        std::vector<const float*> cin;
        for (auto& v : in) cin.push_back(v.data());
        e(cpu_ops(), kernel_ctx(Device::cpu()), cin, ref.data(), n);

        std::vector<Tensor> din;
        std::vector<const float*> dptr;
        for (auto& v : in) din.push_back(on_cuda(v)), dptr.push_back(din.back().data<float>());
        Guarded<float> out =
            out0.empty() ? Guarded<float>(Device::cuda(0), n)
                         : Guarded<float>(Device::cuda(0), std::vector<float>(out0.begin(), out0.begin() + n));
        e(cuda_ops(), kernel_ctx(Device::cuda(0)), dptr, out.ptr(), n);
        EXPECT_TRUE(all_close(out.read(), ref, Tol{1e-6, 1e-6}));
        EXPECT_TRUE(out.guards_intact());
    }
}

}  // namespace

TEST(ElementwiseCuda, PointwiseEntriesMatchCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    using T = kernels::OpTable;
    using In = std::vector<const float*>;
    compare_entry(
        "fill", [](const T& t, const KernelCtx& c, const In&, float* y, int64_t n) { t.fill(c, y, 0.625f, n); },
        0);
    compare_entry(
        "add",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) { t.add(c, x[0], x[1], y, n); }, 2);
    compare_entry(
        "mul",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) { t.mul(c, x[0], x[1], y, n); }, 2);
    compare_entry(
        "scale",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) { t.scale(c, x[0], -1.75f, y, n); },
        1);
    compare_entry(
        "axpy",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) { t.axpy(c, 0.3f, x[0], y, n); }, 1,
        random_vec(kSizes.back(), 5));
    compare_entry(
        "relu_fwd",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) { t.relu_fwd(c, x[0], y, n); }, 1, {},
        true);
    compare_entry(
        "relu_bwd",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) { t.relu_bwd(c, x[0], x[1], y, n); },
        2, {}, true);
    compare_entry(
        "clamp",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) {
            t.clamp(c, x[0], -0.5f, 1.25f, y, n);
        },
        1, {}, true);
    compare_entry(
        "sigmoid_mul",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) {
            t.sigmoid_mul(c, x[0], 7.5f, x[1], y, n);
        },
        2, {}, true);
    compare_entry(
        "lrp_stabilize",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) {
            t.lrp_stabilize(c, x[0], 1e-3f, y, n);
        },
        1, {}, true);
    compare_entry(
        "lrp_eps_div",
        [](const T& t, const KernelCtx& c, const In& x, float* y, int64_t n) {
            t.lrp_eps_div(c, x[0], x[1], 1e-2f, y, n);
        },
        2, {}, true);
}

TEST(ElementwiseCuda, BiasAddMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    struct S {
        int N, C;
        int64_t HW;
    };
    for (S s : {S{1, 1, 1}, S{2, 3, 7}, S{3, 5, 1000}, S{128, 10, 1}, S{4, 64, 4097}, S{2, 3, 65537}}) {
        SCOPED_TRACE(testing::Message() << "N=" << s.N << " C=" << s.C << " HW=" << s.HW);
        const int64_t n = int64_t(s.N) * s.C * s.HW;
        auto y0 = random_vec(n, 21), b = random_vec(s.C, 22);
        std::vector<float> ref = y0;
        cpu_ops().bias_add(kernel_ctx(Device::cpu()), ref.data(), b.data(), s.N, s.C, s.HW);
        Guarded<float> y(Device::cuda(0), y0);
        Tensor db = on_cuda(b);
        cuda_ops().bias_add(kernel_ctx(Device::cuda(0)), y.ptr(), db.data<float>(), s.N, s.C, s.HW);
        EXPECT_TRUE(all_close(y.read(), ref, Tol{1e-6, 1e-6}));
        EXPECT_TRUE(y.guards_intact());
    }
}

TEST(ElementwiseCuda, ExpandRowsMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
             {1, 1}, {7, 3}, {1000, 65}, {3, 65537}, {65537, 1}, {1, (1 << 20) + 3}}) {
        SCOPED_TRACE(testing::Message() << "rows=" << rows << " cols=" << cols);
        auto x = random_vec(rows, 31);
        std::vector<float> ref(rows * cols);
        cpu_ops().expand_rows(kernel_ctx(Device::cpu()), x.data(), -0.5f, ref.data(), rows, cols);
        Tensor dx = on_cuda(x);
        Guarded<float> y(Device::cuda(0), rows * cols);
        cuda_ops().expand_rows(kernel_ctx(Device::cuda(0)), dx.data<float>(), -0.5f, y.ptr(), rows, cols);
        EXPECT_TRUE(all_close(y.read(), ref, Tol{1e-6, 1e-6}));
        EXPECT_TRUE(y.guards_intact());
    }
}

TEST(ElementwiseCuda, FrontEndsRunOnDevice) {
    LRP_SKIP_WITHOUT_CUDA();
    auto a = random_vec(1000, 41), b = random_vec(1000, 42);
    Tensor ref = ops::mul(ops::add(on_cpu(a), on_cpu(b)), on_cpu(b));
    Tensor got = ops::mul(ops::add(on_cuda(a), on_cuda(b)), on_cuda(b));
    EXPECT_EQ(got.device(), Device::cuda(0));
    EXPECT_TRUE(all_close(got.to_vector<float>(), ref.to_vector<float>(), Tol{1e-6, 1e-6}));
}
