// Reductions: hand-computed rows, NaN and tie rules of max/min/argmax, per-channel sums against
// double references, front-end errors, and the CUDA entries against the CPU (deterministic, accurate).
#include <functional>

#include "lrp/kernels/ops.h"
#include "lrp/ops/reduce.h"
#include "test_util.h"

using namespace lrp;
using lrp::kernels::cpu_ops;
using lrp::kernels::cuda_ops;
using lrp::kernels::ReduceOp;
using lrp::test::all_close;
using lrp::test::Guarded;
using lrp::test::random_vec;
using lrp::test::Tol;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();
const ReduceOp kOps[] = {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::SumSq};

using lrp::test::expect_error;

std::vector<float> reduce_cpu(ReduceOp op, const std::vector<float>& x, int64_t rows) {
    Tensor y = lrp::test::poisoned(Shape{rows});
    ops::reduce_rows(op, Tensor::from_vector(x, Shape{static_cast<int64_t>(x.size())}), y);
    return y.to_vector<float>();
}

std::vector<int32_t> argmax_cpu(const std::vector<float>& x, int64_t rows) {
    Tensor idx = lrp::test::poisoned(Shape{rows}, DType::I32);
    ops::argmax_rows(Tensor::from_vector(x, Shape{rows, static_cast<int64_t>(x.size()) / rows}), idx);
    return idx.to_vector<int32_t>();
}

// Naive double reference of one row.
double naive(ReduceOp op, const float* x, int64_t cols) {
    double s = 0, m = x[0];
    for (int64_t i = 0; i < cols; ++i) {
        s += op == ReduceOp::SumSq ? double(x[i]) * x[i] : x[i];
        m = op == ReduceOp::Max ? std::max<double>(m, x[i]) : std::min<double>(m, x[i]);
    }
    if (op == ReduceOp::Max || op == ReduceOp::Min) return m;
    return op == ReduceOp::Mean ? s / cols : s;
}

Tol reduction_tol(int64_t K) { return Tol{1e-5, std::max(1e-4, 1e-5 * std::sqrt(double(K)))}; }

}  // namespace

TEST(ReduceCpu, HandComputedRows) {
    const std::vector<float> x = {1, 2, 3, -4, 5, -6};
    EXPECT_EQ(reduce_cpu(ReduceOp::Sum, x, 2), (std::vector<float>{6, -5}));
    EXPECT_EQ(reduce_cpu(ReduceOp::Max, x, 2), (std::vector<float>{3, 5}));
    EXPECT_EQ(reduce_cpu(ReduceOp::Min, x, 2), (std::vector<float>{1, -6}));
    EXPECT_EQ(reduce_cpu(ReduceOp::SumSq, x, 2), (std::vector<float>{14, 77}));
    EXPECT_EQ(reduce_cpu(ReduceOp::Mean, x, 2), (std::vector<float>{2.f, float(-5.0 / 3)}));
    EXPECT_EQ(reduce_cpu(ReduceOp::Sum, x, 1), (std::vector<float>{1}));
    Tensor t = Tensor::from_vector(x, Shape{3, 2});
    EXPECT_EQ(ops::reduce_all(ReduceOp::Max, t).to_vector<float>(), (std::vector<float>{5}));
    EXPECT_EQ(ops::reduce_per_sample(ReduceOp::Sum, t).to_vector<float>(), (std::vector<float>{3, -1, -1}));
}

TEST(ReduceCpu, MatchesDoubleReference) {
    const int64_t rows = 37, cols = 1001;
    auto x = random_vec(rows * cols, 5, -3.f, 2.f);
    for (ReduceOp op : kOps) {
        std::vector<double> ref(rows);
        for (int64_t r = 0; r < rows; ++r) ref[r] = naive(op, x.data() + r * cols, cols);
        EXPECT_TRUE(all_close(reduce_cpu(op, x, rows), ref, Tol{1e-6, 1e-6})) << "op " << int(op);
    }
}

TEST(ReduceCpu, NaNPropagatesThroughMaxMinAndSums) {
    const std::vector<float> x = {1, kNaN, 3, -kInf, 2, 5};
    for (ReduceOp op : kOps) {
        auto y = reduce_cpu(op, x, 2);
        EXPECT_TRUE(std::isnan(y[0])) << int(op);
        EXPECT_FALSE(std::isnan(y[1])) << int(op);
    }
    EXPECT_EQ(reduce_cpu(ReduceOp::Min, x, 2)[1], -kInf);
    EXPECT_EQ(reduce_cpu(ReduceOp::Max, x, 2)[1], 5.f);
}

TEST(ReduceCpu, ArgmaxFirstIndexAndNaN) {
    // rows of 4: ties -> first; NaN counts as the maximum (first NaN); -inf rows; -0 == +0.
    const std::vector<float> x = {1,     3,     3,     2,     kNaN, 5,   kNaN, 9,  1, 7, kNaN, 8,
                                  -kInf, -kInf, -kInf, -kInf, -0.f, 0.f, -1,   -2, 4, 4, 4,    4.5f};
    EXPECT_EQ(argmax_cpu(x, 6), (std::vector<int32_t>{1, 0, 2, 0, 0, 3}));
    EXPECT_EQ(argmax_cpu({2.5f}, 1), (std::vector<int32_t>{0}));
}

TEST(ReduceCpu, ReduceChannels) {
    const int N = 3, C = 4, HW = 5;
    auto x = random_vec(N * C * HW, 8);
    std::vector<double> ref(C, 0.0);
    for (int n = 0; n < N; ++n)
        for (int c = 0; c < C; ++c)
            for (int i = 0; i < HW; ++i) ref[c] += x[(n * C + c) * HW + i];
    Tensor y = lrp::test::poisoned(Shape{C});
    ops::reduce_channels(Tensor::from_vector(x, Shape{N, C, 1, HW}), y);
    EXPECT_TRUE(all_close(y.to_vector<float>(), ref, Tol{1e-6, 1e-6}));
    // N x C (a linear layer's bias gradient): HW = 1
    ops::reduce_channels(Tensor::from_vector(x, Shape{15, C}), y);
    std::vector<double> ref2(C, 0.0);
    for (int n = 0; n < 15; ++n)
        for (int c = 0; c < C; ++c) ref2[c] += x[n * C + c];
    EXPECT_TRUE(all_close(y.to_vector<float>(), ref2, Tol{1e-6, 1e-6}));
}

TEST(ReduceCpu, RangeRowsIsMaxMinusMin) {
    const std::vector<float> x = {1, 2, 3, -4, 5, -6, 7, 7, 7};
    Tensor y = lrp::test::poisoned(Shape{3});
    ops::range_rows(Tensor::from_vector(x, Shape{3, 3}), y);
    EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{2, 11, 0}));  // a constant row has range 0
    expect_error([&] { ops::range_rows(Tensor::from_vector(x, Shape{9}), Tensor::empty(Shape{2})); },
                 {"reduce_rows", "2 equal rows"});
}

TEST(ReduceCpu, FrontEndErrors) {
    Tensor x = Tensor::from_vector(random_vec(12, 1), Shape{3, 4});
    expect_error([&] { ops::reduce_rows(ReduceOp::Sum, x, Tensor::empty(Shape{5})); },
                 {"reduce_rows", "5 equal rows"});
    expect_error([&] { ops::reduce_rows(ReduceOp::Sum, x, Tensor::empty(Shape{3}, DType::I32)); },
                 {"reduce_rows", "'y'", "dtype"});
    expect_error([&] { ops::argmax_rows(x, Tensor::empty(Shape{3})); }, {"argmax_rows", "'idx'", "dtype", "i32"});
    expect_error([&] { ops::argmax_rows(x, Tensor::empty(Shape{4}, DType::I32)); },
                 {"argmax_rows", "'idx'", "shape"});
    expect_error([&] { ops::reduce_channels(x, Tensor::empty(Shape{3})); }, {"reduce_channels", "'y'", "shape"});
    expect_error([&] { ops::reduce_channels(Tensor::empty(Shape{4}), Tensor::empty(Shape{4})); },
                 {"reduce_channels", "'x'"});
    expect_error([&] { ops::reduce_rows(ReduceOp::Max, Tensor::empty(Shape{0}), Tensor::empty(Shape{2})); },
                 {"reduce_rows", "max", "empty"});
}

TEST(ReduceCuda, DeviceMismatchIsAnError) {
    LRP_SKIP_WITHOUT_CUDA();
    Tensor x = Tensor::from_vector(random_vec(12, 1), Shape{3, 4}, Device::cuda(0));
    expect_error([&] { ops::reduce_rows(ReduceOp::Sum, x, Tensor::empty(Shape{3})); },
                 {"reduce_rows", "'y'", "cpu"});
    expect_error([&] { ops::argmax_rows(x, Tensor::empty(Shape{3}, DType::I32)); }, {"argmax_rows", "'idx'"});
    expect_error([&] { ops::reduce_channels(x, Tensor::empty(Shape{4})); }, {"reduce_channels", "'y'"});
}

TEST(ReduceCuda, ReduceRowsMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const std::vector<std::pair<int64_t, int64_t>> shapes = {
        {1, 1}, {1, 7}, {3, 1000}, {1, 65537}, {1, (1 << 20) + 3}, {1000, 7}, {70000, 3}, {5, 300001}};
    for (auto [rows, cols] : shapes) {
        auto x = random_vec(rows * cols, 50 + static_cast<uint32_t>(cols), -1.f, 1.5f);
        Tensor dx = Tensor::from_vector(x, Shape{rows * cols}, Device::cuda(0));
        for (ReduceOp op : kOps) {
            SCOPED_TRACE(testing::Message() << "op=" << int(op) << " rows=" << rows << " cols=" << cols);
            std::vector<float> ref(rows);
            cpu_ops().reduce_rows(kernel_ctx(Device::cpu()), op, x.data(), rows, cols, ref.data());
            Guarded<float> y(Device::cuda(0), rows);
            cuda_ops().reduce_rows(kernel_ctx(Device::cuda(0)), op, dx.data<float>(), rows, cols, y.ptr());
            const auto got = y.read();
            EXPECT_TRUE(all_close(got, ref, reduction_tol(cols)));
            EXPECT_TRUE(y.guards_intact());
            // Deterministic: a second run is bitwise identical.
            cuda_ops().reduce_rows(kernel_ctx(Device::cuda(0)), op, dx.data<float>(), rows, cols, y.ptr());
            EXPECT_EQ(0, std::memcmp(got.data(), y.read().data(), got.size() * sizeof(float)));
        }
    }
}

TEST(ReduceCuda, NaNRowsMatchCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const int64_t rows = 6, cols = 5000;
    auto x = random_vec(rows * cols, 9);
    x[1 * cols + 4999] = kNaN;
    x[3 * cols + 0] = kNaN;
    x[4 * cols + 17] = -kInf;
    Tensor dx = Tensor::from_vector(x, Shape{rows, cols}, Device::cuda(0));
    for (ReduceOp op : kOps) {
        std::vector<float> ref(rows);
        cpu_ops().reduce_rows(kernel_ctx(Device::cpu()), op, x.data(), rows, cols, ref.data());
        Guarded<float> y(Device::cuda(0), rows);
        cuda_ops().reduce_rows(kernel_ctx(Device::cuda(0)), op, dx.data<float>(), rows, cols, y.ptr());
        EXPECT_TRUE(all_close(y.read(), ref, reduction_tol(cols))) << "op " << int(op);
    }
}

TEST(ReduceCuda, ArgmaxMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1},     {7, 10},     {1000, 7},
                                                             {3, 65537}, {128, 1000}, {2, 300001}};
    for (auto [rows, cols] : shapes) {
        SCOPED_TRACE(testing::Message() << "rows=" << rows << " cols=" << cols);
        auto x = random_vec(rows * cols, 70 + static_cast<uint32_t>(rows));
        for (auto& v : x) v = std::round(v * 4.f) / 4.f + 0.125f;  // many ties, never zero
        if (rows >= 7) {
            x[2 * cols + cols - 1] = kNaN;  // NaN at the end of row 2
            x[5 * cols + cols / 2] = kNaN;  // two NaNs in row 5: the first wins
            x[5 * cols + cols - 1] = kNaN;
        }
        std::vector<int32_t> ref(rows);
        cpu_ops().argmax_rows(kernel_ctx(Device::cpu()), x.data(), rows, cols, ref.data());
        Tensor dx = Tensor::from_vector(x, Shape{rows, cols}, Device::cuda(0));
        Guarded<int32_t> idx(Device::cuda(0), rows);
        cuda_ops().argmax_rows(kernel_ctx(Device::cuda(0)), dx.data<float>(), rows, cols, idx.ptr());
        EXPECT_EQ(idx.read(), ref);
        EXPECT_TRUE(idx.guards_intact());
    }
}

TEST(ReduceCuda, ReduceChannelsMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    struct S {
        int N, C;
        int64_t HW;
    };
    for (S s :
         {S{1, 1, 1}, S{2, 3, 7}, S{128, 64, 1024}, S{7, 1, 65537}, S{1000, 10, 1}, S{3, 3000, 5}, S{2, 5, 300}}) {
        SCOPED_TRACE(testing::Message() << "N=" << s.N << " C=" << s.C << " HW=" << s.HW);
        const int64_t n = int64_t(s.N) * s.C * s.HW;
        auto x = random_vec(n, 90 + s.C, -1.f, 1.25f);
        std::vector<float> ref(s.C);
        cpu_ops().reduce_channels(kernel_ctx(Device::cpu()), x.data(), s.N, s.C, s.HW, ref.data());
        Tensor dx = Tensor::from_vector(x, Shape{n}, Device::cuda(0));
        Guarded<float> y(Device::cuda(0), s.C);
        cuda_ops().reduce_channels(kernel_ctx(Device::cuda(0)), dx.data<float>(), s.N, s.C, s.HW, y.ptr());
        EXPECT_TRUE(all_close(y.read(), ref, reduction_tol(s.N * s.HW)));
        EXPECT_TRUE(y.guards_intact());
    }
}
