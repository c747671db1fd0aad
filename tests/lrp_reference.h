// Double-precision matrix-form references of the LRP rules (lrp-rules.md §4) for one Conv2d or Linear
// layer: the layer is written as a dense matrix A (outputs x inputs, per sample) plus a bias per output,
// as zennit's own rule tests do; W+ / W- / W^2 / W + gamma W+ act elementwise on A, and Flat uses the
// connectivity matrix (1 where a tap is in bounds). Independent of the conv kernels under test.
#pragma once
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "lrp/nn/affine.h"

namespace lrp::test {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;  // [out][in]

struct DenseLayer {
    Mat A, M;  // weights as a matrix; connectivity
    Vec b;     // bias per output element (0 without bias)
    int64_t in = 0, out = 0;
};

inline DenseLayer dense_of(nn::AffineLayer& layer, const Shape& x_shape) {
    DenseLayer d;
    std::vector<float> w = layer.weight.value.to_vector<float>();
    std::vector<float> bias = layer.has_bias() ? layer.bias.value.to_vector<float>() : std::vector<float>();
    if (auto* lin = dynamic_cast<nn::Linear*>(&layer)) {
        d.in = lin->in_features, d.out = lin->out_features;
        d.A.assign(d.out, Vec(d.in, 0));
        d.M.assign(d.out, Vec(d.in, 1));
        for (int64_t o = 0; o < d.out; ++o)
            for (int64_t i = 0; i < d.in; ++i) d.A[o][i] = w[o * d.in + i];
        d.b.assign(d.out, 0);
        for (int64_t o = 0; o < d.out && !bias.empty(); ++o) d.b[o] = bias[o];
        return d;
    }
    auto& c = dynamic_cast<nn::Conv2d&>(layer);
    const int C = static_cast<int>(x_shape[1]), H = static_cast<int>(x_shape[2]), W = static_cast<int>(x_shape[3]);
    const auto& g = c.geom;
    const int P = (H + 2 * g.pad_h - g.dil_h * (c.kh - 1) - 1) / g.stride_h + 1;
    const int Q = (W + 2 * g.pad_w - g.dil_w * (c.kw - 1) - 1) / g.stride_w + 1;
    const int K = c.out_channels, cg = C / g.groups, kg = K / g.groups;
    d.in = int64_t{C} * H * W, d.out = int64_t{K} * P * Q;
    d.A.assign(d.out, Vec(d.in, 0));
    d.M.assign(d.out, Vec(d.in, 0));
    d.b.assign(d.out, 0);
    for (int k = 0; k < K; ++k)
        for (int p = 0; p < P; ++p)
            for (int q = 0; q < Q; ++q) {
                const int64_t o = (int64_t{k} * P + p) * Q + q;
                if (!bias.empty()) d.b[o] = bias[k];
                const int grp = k / kg;
                for (int ci = 0; ci < cg; ++ci)
                    for (int r = 0; r < c.kh; ++r)
                        for (int s = 0; s < c.kw; ++s) {
                            const int h = p * g.stride_h - g.pad_h + r * g.dil_h, x = q * g.stride_w - g.pad_w + s * g.dil_w;
                            if (h < 0 || h >= H || x < 0 || x >= W) continue;
                            const int64_t i = (int64_t{grp * cg + ci} * H + h) * W + x;
                            d.A[o][i] = w[((int64_t{k} * cg + ci) * c.kh + r) * c.kw + s];
                            d.M[o][i] = 1;
                        }
            }
    return d;
}

inline Mat map(const Mat& A, const std::function<double(double)>& f) {
    Mat B = A;
    for (auto& row : B)
        for (auto& v : row) v = f(v);
    return B;
}
inline Vec map(const Vec& a, const std::function<double(double)>& f) {
    Vec b = a;
    for (auto& v : b) v = f(v);
    return b;
}
inline double pos(double v) { return v > 0 ? v : 0; }
inline double neg(double v) { return v < 0 ? v : 0; }
inline double stab(double z, double eps) { return z >= 0 ? z + eps : z - eps; }

inline Vec fwd(const Mat& A, const Vec& x, const Vec* b) {
    Vec z(A.size(), 0);
    for (size_t o = 0; o < A.size(); ++o) {
        double s = b ? (*b)[o] : 0;
        for (size_t i = 0; i < x.size(); ++i) s += A[o][i] * x[i];
        z[o] = s;
    }
    return z;
}
inline Vec dgrad(const Mat& A, const Vec& s) {
    Vec g(A.empty() ? 0 : A[0].size(), 0);
    for (size_t o = 0; o < A.size(); ++o)
        for (size_t i = 0; i < g.size(); ++i) g[i] += A[o][i] * s[o];
    return g;
}
// Stabilizer modes (zennit's Stabilizer): add (default) or clip; eps optionally scaled by the RMS of z
// over the sample (the reference works on one sample at a time).
struct StabMode {
    bool clip = false, norm_scale = false;
};
inline Vec div_stab(const Vec& r, const Vec& z, double eps, StabMode m = {}) {
    if (m.norm_scale) {
        double ms = 0;
        for (double v : z) ms += v * v;
        eps *= std::sqrt(ms / static_cast<double>(z.size()));
    }
    Vec s(r.size());
    for (size_t i = 0; i < r.size(); ++i) {
        const double sg = z[i] >= 0 ? 1 : -1;
        s[i] = r[i] / (m.clip ? sg * std::max(std::fabs(z[i]), eps) : z[i] + sg * eps);
    }
    return s;
}
inline Vec mul(const Vec& a, const Vec& b) {
    Vec y(a.size());
    for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] * b[i];
    return y;
}
inline Vec add(const Vec& a, const Vec& b, double beta = 1) {
    Vec y(a.size());
    for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] + beta * b[i];
    return y;
}

struct RefRule {
    std::string kind;  // epsilon zplus alphabeta gamma zbox wsquare flat
    double eps = 1e-6, alpha = 2, beta = 1, gamma = 0.25, low = -1, high = 1;
    bool zero_bias = false;
    StabMode mode;  // epsilon only
};

// Relevance at the input of one sample x given R at the output.
inline Vec reference(const RefRule& rr, const DenseLayer& d, const Vec& x, const Vec& R) {
    const Vec zero(d.out, 0);
    const Vec b = rr.zero_bias ? zero : d.b;
    const Vec bp = map(b, pos), bn = map(b, neg);
    const Mat Ap = map(d.A, pos), An = map(d.A, neg);
    const Vec xp = map(x, pos), xn = map(x, neg);
    if (rr.kind == "epsilon") return mul(x, dgrad(d.A, div_stab(R, fwd(d.A, x, &b), rr.eps, rr.mode)));
    if (rr.kind == "zplus" || rr.kind == "alphabeta") {
        const Vec sa = div_stab(R, add(fwd(Ap, xp, &bp), fwd(An, xn, nullptr)), rr.eps);
        const Vec ra = add(mul(xp, dgrad(Ap, sa)), mul(xn, dgrad(An, sa)));
        if (rr.kind == "zplus") return ra;
        const Vec sb = div_stab(R, add(fwd(An, xp, &bn), fwd(Ap, xn, nullptr)), rr.eps);
        const Vec rb = add(mul(xp, dgrad(An, sb)), mul(xn, dgrad(Ap, sb)));
        return add(map(ra, [&](double v) { return rr.alpha * v; }), rb, -rr.beta);
    }
    if (rr.kind == "gamma") {
        const double g = rr.gamma;
        const Mat Agp = map(d.A, [&](double v) { return v + g * pos(v); });
        const Mat Agn = map(d.A, [&](double v) { return v + g * neg(v); });
        const Vec bgp = map(b, [&](double v) { return v + g * pos(v); });
        const Vec bgn = map(b, [&](double v) { return v + g * neg(v); });
        const Vec z = fwd(d.A, x, &d.b);  // the sign masks: the layer's own output, bias included even under zero_bias
        Vec rp(d.out), rn(d.out);
        for (int64_t o = 0; o < d.out; ++o) rp[o] = z[o] > 0 ? R[o] : 0, rn[o] = z[o] < 0 ? R[o] : 0;
        const Vec gp = div_stab(rp, add(fwd(Agp, xp, &bgp), fwd(Agn, xn, nullptr)), rr.eps);
        const Vec gn = div_stab(rn, add(fwd(Agn, xp, &bgn), fwd(Agp, xn, nullptr)), rr.eps);
        Vec out = add(mul(xp, dgrad(Agp, gp)), mul(xn, dgrad(Agn, gp)));
        out = add(out, mul(xp, dgrad(Agn, gn)));
        return add(out, mul(xn, dgrad(Agp, gn)));
    }
    if (rr.kind == "zbox") {
        const Vec l(x.size(), rr.low), h(x.size(), rr.high);
        const Vec z = add(add(fwd(d.A, x, &b), fwd(Ap, l, &bp), -1), fwd(An, h, &bn), -1);
        const Vec s = div_stab(R, z, rr.eps);
        return add(add(mul(x, dgrad(d.A, s)), mul(l, dgrad(Ap, s)), -1), mul(h, dgrad(An, s)), -1);
    }
    if (rr.kind == "wsquare") {
        const Mat A2 = map(d.A, [](double v) { return v * v; });
        const Vec b2 = map(b, [](double v) { return v * v; });
        return dgrad(A2, div_stab(R, fwd(A2, Vec(x.size(), 1), &b2), rr.eps));
    }
    if (rr.kind == "flat") return dgrad(d.M, div_stab(R, fwd(d.M, Vec(x.size(), 1), nullptr), rr.eps));
    throw std::runtime_error("unknown reference rule " + rr.kind);
}

}  // namespace lrp::test
