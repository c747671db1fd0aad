// Front ends of lrp/ops/occlusion.h: argument checks (each error names the argument and what was expected),
// the occlusion descriptor and dispatch through the op table; patch_relevance is an average pool.
#include "lrp/ops/occlusion.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lrp/context.h"
#include "lrp/kernels/ops.h"
#include "lrp/nvtx.h"
#include "lrp/ops/pool.h"
#include "image_checks.h"

namespace lrp::ops {

PatchGrid patch_grid(int64_t H, int64_t W, int patch) {
    LRP_CHECK(H >= 1 && W >= 1 && H <= std::numeric_limits<int>::max() && W <= std::numeric_limits<int>::max(),
              "patch_grid: bad image size ", H, " x ", W);
    LRP_CHECK(patch >= 1 && patch <= std::min(H, W), "patch_grid: patch must be in [1, ", std::min(H, W),
              "] (the smaller side of a ", H, " x ", W, " image), got ", patch);
    PatchGrid g;
    g.patch = patch;
    g.ph = static_cast<int>((H + patch - 1) / patch);
    g.pw = static_cast<int>((W + patch - 1) / patch);
    return g;
}

void patch_relevance(const Tensor& map, int patch, const Tensor& rel) {
    const char* op = "patch_relevance";
    check_defined(op, "map", map);
    check_dtype(op, "map", map, DType::F32);
    check_ndim(op, "map", map, 3);
    const int64_t N = map.dim(0), H = map.dim(1), W = map.dim(2);
    const PatchGrid g = patch_grid(H, W, patch);
    check_defined(op, "rel", rel);
    check_dtype(op, "rel", rel, DType::F32);
    check_shape(op, "rel", rel, Shape{N, g.P()});
    check_device(op, "rel", rel, map.device());
    if (N == 0) return;
    Pool2dParams p;
    p.kh = p.kw = p.sh = p.sw = patch;
    p.ceil_mode = true;  // no padding: a partial window's divisor is its pixel count
    const Pool2dDesc d = pool2d_desc(Shape{N, 1, H, W}, p, false);
    LRP_CHECK(d.P() == g.ph && d.Q() == g.pw, op, ": pooling grid ", d.P(), " x ", d.Q(), " != patch grid ", g.ph,
              " x ", g.pw);
    avgpool_fwd(d, map.reshape(Shape{N, 1, H, W}), rel.reshape(Shape{N, 1, g.ph, g.pw}));
}

Tensor patch_relevance(const Tensor& map, int patch) {
    check_defined("patch_relevance", "map", map);
    check_ndim("patch_relevance", "map", map, 3);
    const PatchGrid g = patch_grid(map.dim(1), map.dim(2), patch);
    Tensor rel = Tensor::empty(Shape{map.dim(0), g.P()}, DType::F32, map.device());
    patch_relevance(map, patch, rel);
    return rel;
}

void occlude_patches(const Tensor& x, const Tensor& order, int m, int patch, const std::vector<float>& fill) {
    const char* op = "occlude_patches";
    check_defined(op, "x", x);
    check_dtype(op, "x", x, DType::F32);
    detail::check_nchw(op, "x", x);
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const PatchGrid g = patch_grid(H, W, patch);
    check_defined(op, "order", order);
    check_dtype(op, "order", order, DType::I32);
    check_shape(op, "order", order, Shape{N, g.P()});
    check_device(op, "order", order, x.device());
    LRP_CHECK(m >= 0 && m <= g.P(), op, ": m must be in [0, P] = [0, ", g.P(), "] (", g.ph, " x ", g.pw,
              " patches of ", patch, " px), got ", m);
    kernels::OcclusionDesc d;
    detail::fill_values(op, fill, C, d.fill);
    d.N = static_cast<int>(N);
    d.C = static_cast<int>(C);
    d.H = static_cast<int>(H);
    d.W = static_cast<int>(W);
    d.patch = patch;
    d.m = m;
    if (N == 0 || m == 0) return;
    if (x.device().is_cpu()) {
        const int32_t* o = order.data<int32_t>();
        for (int64_t n = 0; n < N; ++n)
            for (int j = 0; j < m; ++j) {
                const int32_t v = o[n * g.P() + j];
                LRP_CHECK(v >= 0 && v < g.P(), op, ": order[", n, ", ", j, "] = ", v, " is outside [0, ", g.P(), ")");
            }
    }
    LRP_NVTX_RANGE("occlude_patches");
    LRP_OP(x.device(), occlude_patches)(kernel_ctx(x.device()), d, order.data<int32_t>(), x.data<float>());
}

}  // namespace lrp::ops
