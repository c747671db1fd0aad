// CUDA elementwise kernels: grid-stride loops with 64-bit indices on the context stream, same
// per-element formulas as the CPU reference (sgn0 stabilizer, NaN-propagating relu/clamp).
#include "common.cuh"

namespace lrp::kernels::cuda {
namespace {

__global__ void fill_k(float* y, float value, int64_t n) { LRP_CUDA_LOOP(i, n) y[i] = value; }
__global__ void add_k(const float* a, const float* b, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) y[i] = a[i] + b[i];
}
__global__ void mul_k(const float* a, const float* b, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) y[i] = a[i] * b[i];
}
__global__ void scale_k(const float* x, float alpha, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) y[i] = alpha * x[i];
}
__global__ void axpy_k(float alpha, const float* x, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) y[i] += __fmul_rn(alpha, x[i]);  // no FMA: same rounding as the CPU
}
__global__ void relu_fwd_k(const float* x, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) {
        float v = x[i];
        y[i] = (v > 0.f || isnan(v)) ? v : 0.f;
    }
}
__global__ void relu_bwd_k(const float* x, const float* dy, float* dx, int64_t n) {
    LRP_CUDA_LOOP(i, n) dx[i] = x[i] > 0.f ? dy[i] : 0.f;
}
__global__ void clamp_k(const float* x, float lo, float hi, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) {
        float v = x[i];
        y[i] = isnan(v) ? v : fminf(fmaxf(v, lo), hi);
    }
}
// expf is libdevice's (within 2 ulp of glibc's); the division is IEEE (no fast math).
__global__ void sigmoid_mul_k(const float* x, float beta, const float* r, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) y[i] = r[i] * (1.f / (1.f + expf(-(beta * x[i]))));
}
__device__ __forceinline__ float stab(float z, float eps) { return z >= 0.f ? z + eps : z - eps; }
__global__ void lrp_stabilize_k(const float* z, float eps, float* y, int64_t n) {
    LRP_CUDA_LOOP(i, n) y[i] = stab(z[i], eps);
}
__global__ void lrp_eps_div_k(const float* r, const float* z, float eps, float* s, int64_t n) {
    LRP_CUDA_LOOP(i, n) s[i] = r[i] / stab(z[i], eps);  // IEEE division (no fast math)
}
// y viewed as (N*C) planes of HW: plane p has channel p % C.
__global__ void bias_add_k(float* y, const float* b, int C, int64_t HW, int64_t n) {
    LRP_CUDA_LOOP(i, n) y[i] += b[(i / HW) % C];
}
__global__ void expand_rows_k(const float* x, float alpha, float* y, int64_t cols, int64_t n) {
    LRP_CUDA_LOOP(i, n) y[i] = alpha * x[i / cols];
}

void fill(const Ctx& ctx, float* y, float value, int64_t n) {
    if (n <= 0) return;
    fill_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(y, value, n);
    LRP_CUDA_CHECK_LAUNCH("fill", stream_of(ctx));
}
void add(const Ctx& ctx, const float* a, const float* b, float* y, int64_t n) {
    if (n <= 0) return;
    add_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(a, b, y, n);
    LRP_CUDA_CHECK_LAUNCH("add", stream_of(ctx));
}
void mul(const Ctx& ctx, const float* a, const float* b, float* y, int64_t n) {
    if (n <= 0) return;
    mul_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(a, b, y, n);
    LRP_CUDA_CHECK_LAUNCH("mul", stream_of(ctx));
}
void scale(const Ctx& ctx, const float* x, float alpha, float* y, int64_t n) {
    if (n <= 0) return;
    scale_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(x, alpha, y, n);
    LRP_CUDA_CHECK_LAUNCH("scale", stream_of(ctx));
}
void axpy(const Ctx& ctx, float alpha, const float* x, float* y, int64_t n) {
    if (n <= 0) return;
    axpy_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(alpha, x, y, n);
    LRP_CUDA_CHECK_LAUNCH("axpy", stream_of(ctx));
}
void relu_fwd(const Ctx& ctx, const float* x, float* y, int64_t n) {
    if (n <= 0) return;
    relu_fwd_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(x, y, n);
    LRP_CUDA_CHECK_LAUNCH("relu_fwd", stream_of(ctx));
}
void relu_bwd(const Ctx& ctx, const float* x, const float* dy, float* dx, int64_t n) {
    if (n <= 0) return;
    relu_bwd_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(x, dy, dx, n);
    LRP_CUDA_CHECK_LAUNCH("relu_bwd", stream_of(ctx));
}
void clamp(const Ctx& ctx, const float* x, float lo, float hi, float* y, int64_t n) {
    if (n <= 0) return;
    clamp_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(x, lo, hi, y, n);
    LRP_CUDA_CHECK_LAUNCH("clamp", stream_of(ctx));
}
void sigmoid_mul(const Ctx& ctx, const float* x, float beta, const float* r, float* y, int64_t n) {
    if (n <= 0) return;
    sigmoid_mul_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(x, beta, r, y, n);
    LRP_CUDA_CHECK_LAUNCH("sigmoid_mul", stream_of(ctx));
}
void lrp_stabilize(const Ctx& ctx, const float* z, float eps, float* y, int64_t n) {
    if (n <= 0) return;
    lrp_stabilize_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(z, eps, y, n);
    LRP_CUDA_CHECK_LAUNCH("lrp_stabilize", stream_of(ctx));
}
void lrp_eps_div(const Ctx& ctx, const float* r, const float* z, float eps, float* s, int64_t n) {
    if (n <= 0) return;
    lrp_eps_div_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(r, z, eps, s, n);
    LRP_CUDA_CHECK_LAUNCH("lrp_eps_div", stream_of(ctx));
}
void bias_add(const Ctx& ctx, float* y, const float* b, int N, int C, int64_t HW) {
    const int64_t n = static_cast<int64_t>(N) * C * HW;
    if (n <= 0) return;
    bias_add_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(y, b, C, HW, n);
    LRP_CUDA_CHECK_LAUNCH("bias_add", stream_of(ctx));
}
void expand_rows(const Ctx& ctx, const float* x, float alpha, float* y, int64_t rows, int64_t cols) {
    const int64_t n = rows * cols;
    if (n <= 0) return;
    expand_rows_k<<<grid_for(n), kBlock, 0, stream_of(ctx)>>>(x, alpha, y, cols, n);
    LRP_CUDA_CHECK_LAUNCH("expand_rows", stream_of(ctx));
}

}  // namespace

void register_elementwise(OpTable& t) {
    t.fill = fill;
    t.add = add;
    t.mul = mul;
    t.scale = scale;
    t.axpy = axpy;
    t.relu_fwd = relu_fwd;
    t.relu_bwd = relu_bwd;
    t.clamp = clamp;
    t.sigmoid_mul = sigmoid_mul;
    t.lrp_stabilize = lrp_stabilize;
    t.lrp_eps_div = lrp_eps_div;
    t.bias_add = bias_add;
    t.expand_rows = expand_rows;
}

}  // namespace lrp::kernels::cuda
