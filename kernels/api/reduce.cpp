// Front ends of lrp/ops/reduce.h: checks (fp32 input, I32 indices, one device, row counts that divide
// the input), an NVTX range per op, then the device's op-table entry. Results stay on the device.
#include "lrp/ops/reduce.h"
#include "lrp/ops/elementwise.h"

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"

namespace lrp::ops {
namespace {

const char* op_name(ReduceOp op) {
    switch (op) {
        case ReduceOp::Sum:
            return "sum";
        case ReduceOp::Mean:
            return "mean";
        case ReduceOp::Max:
            return "max";
        case ReduceOp::Min:
            return "min";
        case ReduceOp::SumSq:
            return "sumsq";
    }
    return "?";
}

}  // namespace

void reduce_rows(ReduceOp op, const Tensor& x, const Tensor& y) {
    check_dtype("reduce_rows", "x", x, DType::F32);
    check_dtype("reduce_rows", "y", y, DType::F32);
    check_device("reduce_rows", "y", y, x.device());
    const int64_t rows = y.numel();
    LRP_CHECK(rows > 0 || x.numel() == 0, "reduce_rows: argument 'y' is empty but x ", x.shape().str(), " is not");
    if (rows == 0) return;
    LRP_CHECK(x.numel() % rows == 0, "reduce_rows: x ", x.shape().str(), " (", x.numel(),
              " elements) does not split into ", rows, " equal rows (y ", y.shape().str(), ")");
    const int64_t cols = x.numel() / rows;
    LRP_CHECK(cols > 0 || op == ReduceOp::Sum || op == ReduceOp::SumSq, "reduce_rows: ", op_name(op),
              " over empty rows is undefined (x ", x.shape().str(), ")");
    LRP_NVTX_RANGE("reduce_rows");
    LRP_OP(x.device(), reduce_rows)(kernel_ctx(x.device()), op, x.data<float>(), rows, cols, y.data<float>());
}

void range_rows(const Tensor& x, const Tensor& y) {
    reduce_rows(ReduceOp::Max, x, y);
    Tensor neg_min = Tensor::empty(y.shape(), DType::F32, y.device());
    reduce_rows(ReduceOp::Max, scale(x, -1.f), neg_min);
    axpy(1.f, neg_min, y);
}

Tensor reduce_all(ReduceOp op, const Tensor& x) {
    check_dtype("reduce_all", "x", x, DType::F32);
    Tensor y = Tensor::empty(Shape{1}, DType::F32, x.device());
    reduce_rows(op, x, y);
    return y;
}

Tensor reduce_per_sample(ReduceOp op, const Tensor& x) {
    check_dtype("reduce_per_sample", "x", x, DType::F32);
    LRP_CHECK(x.ndim() >= 1, "reduce_per_sample: argument 'x' is a 0-d tensor");
    Tensor y = Tensor::empty(Shape{x.dim(0)}, DType::F32, x.device());
    reduce_rows(op, x, y);
    return y;
}

void argmax_rows(const Tensor& x, const Tensor& idx) {
    check_dtype("argmax_rows", "x", x, DType::F32);
    LRP_CHECK(x.ndim() >= 1, "argmax_rows: argument 'x' is a 0-d tensor");
    check_dtype("argmax_rows", "idx", idx, DType::I32);
    check_device("argmax_rows", "idx", idx, x.device());
    const int64_t rows = x.dim(0);
    check_shape("argmax_rows", "idx", idx, Shape{rows});
    if (rows == 0) return;
    const int64_t cols = x.numel() / rows;
    LRP_CHECK(cols > 0, "argmax_rows: rows of x ", x.shape().str(), " are empty");
    LRP_CHECK(cols <= INT32_MAX, "argmax_rows: ", cols, " columns do not fit an int32 index");
    LRP_NVTX_RANGE("argmax_rows");
    LRP_OP(x.device(), argmax_rows)(kernel_ctx(x.device()), x.data<float>(), rows, cols, idx.data<int32_t>());
}

void reduce_channels(const Tensor& x, const Tensor& y) {
    check_dtype("reduce_channels", "x", x, DType::F32);
    LRP_CHECK(x.ndim() >= 2, "reduce_channels: argument 'x' has shape ", x.shape().str(),
              ", expected N x C x ...");
    check_dtype("reduce_channels", "y", y, DType::F32);
    check_device("reduce_channels", "y", y, x.device());
    check_shape("reduce_channels", "y", y, Shape{x.dim(1)});
    const int64_t N = x.dim(0), C = x.dim(1);
    LRP_CHECK(N <= INT32_MAX && C <= INT32_MAX, "reduce_channels: N = ", N, ", C = ", C,
              " exceed the int32 limit");
    const int64_t HW = N * C == 0 ? 0 : x.numel() / (N * C);
    LRP_NVTX_RANGE("reduce_channels");
    LRP_OP(x.device(), reduce_channels)
    (kernel_ctx(x.device()), x.data<float>(), static_cast<int>(N), static_cast<int>(C), HW, y.data<float>());
}

}  // namespace lrp::ops
