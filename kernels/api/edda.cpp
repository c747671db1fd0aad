// Front ends of lrp/ops/edda.h: argument checks (each error names the argument and what was expected), the
// descriptors and dispatch through the op table.
#include "lrp/ops/edda.h"

#include <cmath>
#include <limits>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"
#include "image_checks.h"

namespace lrp::ops {

EddaReduce parse_edda_reduce(const std::string& name) {
    if (name == "sum") return EddaReduce::Sum;
    if (name == "abs") return EddaReduce::Abs;
    if (name == "relu") return EddaReduce::Relu;
    LRP_THROW("unknown channel reduction '", name, "' of a relevance map (known: sum, abs, relu)");
}

const char* edda_reduce_name(EddaReduce r) {
    return r == EddaReduce::Abs ? "abs" : (r == EddaReduce::Relu ? "relu" : "sum");
}

namespace {
void check_window(const char* op, int64_t H, int64_t W, int patch) {
    LRP_CHECK(patch >= 1 && patch <= std::min(H, W), op, ": patch must be in [1, ", std::min(H, W),
              "] (the smaller side of a ", H, " x ", W, " image), got ", patch);
}
}  // namespace

void edda_select(const Tensor& relevance, int patch, EddaReduce reduce, const Tensor& pos, const Tensor& valid) {
    const char* op = "edda_select";
    check_defined(op, "relevance", relevance);
    check_dtype(op, "relevance", relevance, DType::F32);
    check_ndim(op, "relevance", relevance, 4);
    const int64_t N = relevance.dim(0), C = relevance.dim(1), H = relevance.dim(2), W = relevance.dim(3);
    LRP_CHECK(C >= 1 && N <= std::numeric_limits<int>::max() && C * H * W <= std::numeric_limits<int>::max(), op,
              ": relevance has an unsupported shape ", relevance.shape().str());
    check_window(op, H, W, patch);
    check_defined(op, "pos", pos);
    check_dtype(op, "pos", pos, DType::I32);
    check_shape(op, "pos", pos, Shape{2, N});
    check_device(op, "pos", pos, relevance.device());
    if (valid.defined()) {
        check_dtype(op, "valid", valid, DType::F32);
        check_shape(op, "valid", valid, Shape{N});
        check_device(op, "valid", valid, relevance.device());
    }
    if (N == 0) return;
    kernels::EddaSelectDesc d;
    d.N = static_cast<int>(N);
    d.C = static_cast<int>(C);
    d.H = static_cast<int>(H);
    d.W = static_cast<int>(W);
    d.patch = patch;
    d.reduce = reduce;
    LRP_NVTX_RANGE("edda_select");
    LRP_OP(relevance.device(), edda_select)(kernel_ctx(relevance.device()), d, relevance.data<float>(),
                                            pos.data<int32_t>(), valid.defined() ? valid.data<float>() : nullptr);
}

Tensor edda_select(const Tensor& relevance, int patch, EddaReduce reduce) {
    check_defined("edda_select", "relevance", relevance);
    Tensor pos = Tensor::empty(Shape{2, relevance.ndim() > 0 ? relevance.dim(0) : 0}, DType::I32, relevance.device());
    edda_select(relevance, patch, reduce, pos);
    return pos;
}

void fill_windows(const Tensor& x, const Tensor& pos, int patch, const std::vector<float>& fill) {
    const char* op = "fill_windows";
    check_defined(op, "x", x);
    check_dtype(op, "x", x, DType::F32);
    detail::check_nchw(op, "x", x);
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    check_window(op, H, W, patch);
    check_defined(op, "pos", pos);
    check_dtype(op, "pos", pos, DType::I32);
    check_shape(op, "pos", pos, Shape{N});
    check_device(op, "pos", pos, x.device());
    kernels::WindowFillDesc d;
    detail::fill_values(op, fill, C, d.fill);
    d.N = static_cast<int>(N);
    d.C = static_cast<int>(C);
    d.H = static_cast<int>(H);
    d.W = static_cast<int>(W);
    d.patch = patch;
    if (N == 0) return;
    if (x.device().is_cpu()) {
        const int64_t windows = (H - patch + 1) * (W - patch + 1);
        const int32_t* p = pos.data<int32_t>();
        for (int64_t m = 0; m < N; ++m)
            LRP_CHECK(p[m] >= -1 && p[m] < windows, op, ": pos[", m, "] = ", p[m], " is outside [-1, ", windows, ")");
    }
    LRP_NVTX_RANGE("fill_windows");
    LRP_OP(x.device(), fill_windows)(kernel_ctx(x.device()), d, pos.data<int32_t>(), x.data<float>());
}

}  // namespace lrp::ops
