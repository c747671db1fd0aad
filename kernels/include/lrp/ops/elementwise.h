// Checked tensor-level front ends for the elementwise ops and random fills. Every function checks
// definedness, fp32 dtype, one device and shapes once, opens an NVTX range named after the op, and
// calls the device's op-table entry. Outputs are passed in (preallocated) and may alias inputs.
#pragma once
#include "lrp/generator.h"
#include "lrp/tensor.h"

namespace lrp::ops {

void fill(const Tensor& y, float value);
Tensor full(const Shape& s, float value, Device d = Device::cpu());
// Uniform in [lo, hi) / normal(mean, std), drawing a fresh counter range from `g` (same values on every backend).
void uniform(const Tensor& y, Generator& g, float lo, float hi);
void normal(const Tensor& y, Generator& g, float mean, float std);

void add(const Tensor& a, const Tensor& b, const Tensor& y);  // same shapes
void mul(const Tensor& a, const Tensor& b, const Tensor& y);
void scale(const Tensor& x, float alpha, const Tensor& y);
void axpy(float alpha, const Tensor& x, const Tensor& y);     // y += alpha x
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float alpha);

void relu_fwd(const Tensor& x, const Tensor& y);
void relu_bwd(const Tensor& x, const Tensor& dy, const Tensor& dx);
Tensor relu(const Tensor& x);
void clamp(const Tensor& x, float lo, float hi, const Tensor& y);
// y = r * sigmoid(beta x), elementwise (x and r of one shape); y may be r.
void sigmoid_mul(const Tensor& x, float beta, const Tensor& r, const Tensor& y);
Tensor sigmoid_mul(const Tensor& x, float beta, const Tensor& r);

void lrp_stabilize(const Tensor& z, float eps, const Tensor& y);
void lrp_eps_div(const Tensor& r, const Tensor& z, float eps, const Tensor& s);

// y (N x C x ...) += b (C) broadcast over the batch and every trailing dimension.
void bias_add(const Tensor& y, const Tensor& b);
// y (rows x cols, any shape with numel rows*cols and dim(0)*... = rows) = alpha * x[row].
void expand_rows(const Tensor& x, float alpha, const Tensor& y);

}  // namespace lrp::ops
