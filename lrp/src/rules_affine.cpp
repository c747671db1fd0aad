// Epsilon, ZPlus, AlphaBeta and Gamma: the rules for affine layers that weigh the actual input
// (formulas: lrp-rules.md §4.1, §4.3-4.5; the summation order follows zennit's).
#include <cmath>
#include <sstream>

#include "lrp/lrp/rule_math.h"
#include "lrp/lrp/rules.h"
#include "lrp/ops/elementwise.h"

namespace lrp::explain {

using math::neg;
using math::pos;

namespace {
// The bias a modified pass uses: undefined when zeroed or absent.
Tensor bias_or_none(const Tensor& b, bool zero_bias) { return zero_bias ? Tensor() : b; }

// The sign partition of the input: x+ and x-. When the input is >= 0 by construction (c.x_nonneg),
// x+ is x itself and x- is exactly zero, so every x- term below is skipped: it would add +-0 only.
struct SignSplit {
    Tensor p, n;  // n undefined when x >= 0 by construction
};
SignSplit split(const AffineRule::Call& c) {
    if (c.x_nonneg) return {c.x, Tensor()};
    return {pos(c.x), neg(c.x)};
}

// f(x+; wa, ba) + f(x-; wb): the two-partition forward (no bias on the x- pass, as zennit).
Tensor split_forward(const AffineRule::Call& c, const SignSplit& x, const Tensor& wa, const Tensor& ba,
                     const Tensor& wb) {
    Tensor z = c.forward(x.p, wa, ba);
    if (x.n.defined()) ops::add(z, c.forward(x.n, wb), z);
    return z;
}

// x+ dgrad(s, wa) + x- dgrad(s, wb): the two-partition reducer of ZPlus / AlphaBeta / Gamma.
Tensor split_reduce(const AffineRule::Call& c, const SignSplit& x, const Tensor& s, const Tensor& wa,
                    const Tensor& wb) {
    Tensor out = ops::mul(x.p, c.dgrad(s, wa));
    if (x.n.defined()) ops::add(out, ops::mul(x.n, c.dgrad(s, wb)), out);
    return out;
}
}  // namespace

// ---- Epsilon -----------------------------------------------------------------------------------

std::string Epsilon::name() const {
    return "Epsilon(epsilon=" + stab_.str() + (zero_bias_ ? ", zero_bias" : "") + ")";
}

Tensor Epsilon::affine(const Call& c, const Tensor& r) const {
    Tensor z = c.output(/*with_bias=*/!zero_bias_);
    Tensor g = c.dgrad(stab_divide(r, z, stab_), c.w);
    return ops::mul(c.x, g);
}

// ---- ZPlus -------------------------------------------------------------------------------------

std::string ZPlus::name() const {
    return "ZPlus(stabilizer=" + stab_.str() + (zero_bias_ ? ", zero_bias" : "") + ")";
}

Tensor ZPlus::affine(const Call& c, const Tensor& r) const {
    const SignSplit x = split(c);
    Tensor wp = pos(c.w), wn = x.n.defined() ? neg(c.w) : Tensor();  // W- only meets a negative input part
    Tensor z = split_forward(c, x, wp, pos(bias_or_none(c.b, zero_bias_)), wn);
    return split_reduce(c, x, stab_divide(r, z, stab_), wp, wn);
}

// ---- AlphaBeta ---------------------------------------------------------------------------------

AlphaBeta::AlphaBeta(float alpha, float beta, Stabilizer stabilizer, bool zero_bias)
    : alpha_(alpha), beta_(beta), stab_(stabilizer), zero_bias_(zero_bias) {
    LRP_CHECK(alpha >= 0.f && beta >= 0.f, "AlphaBeta: alpha and beta must be >= 0 (got alpha = ", alpha,
              ", beta = ", beta, ")");
    // In float32, as they are used: within the rounding of decimal values of a sane size (1.3f - 0.3f is 0.99999994;
    // 1e8 and 99999999 are one float32).
    const double d = static_cast<double>(alpha) - static_cast<double>(beta);
    LRP_CHECK(std::abs(d - 1.0) <= 1e-5, "AlphaBeta: alpha - beta must equal 1 (got alpha = ", alpha, ", beta = ", beta,
              " in float32, a difference of ", d, ")");
}

std::string AlphaBeta::name() const {
    std::ostringstream os;
    os << "AlphaBeta(alpha=" << alpha_ << ", beta=" << beta_ << ", stabilizer=" << stab_.str()
       << (zero_bias_ ? ", zero_bias" : "") << ")";
    return os.str();
}

Tensor AlphaBeta::affine(const Call& c, const Tensor& r) const {
    const SignSplit x = split(c);
    Tensor wp = pos(c.w), wn = neg(c.w);
    const Tensor b = bias_or_none(c.b, zero_bias_);
    Tensor za = split_forward(c, x, wp, pos(b), wn);  // positive contributions: b+ in the x+ pass only
    Tensor zb = split_forward(c, x, wn, neg(b), wp);  // negative contributions: b- in the x+ pass only
    Tensor out = split_reduce(c, x, stab_divide(r, za, stab_), wp, wn);
    Tensor negative = split_reduce(c, x, stab_divide(r, zb, stab_), wn, wp);
    ops::scale(out, alpha_, out);
    ops::axpy(-beta_, negative, out);
    return out;
}

// ---- Gamma -------------------------------------------------------------------------------------

Gamma::Gamma(float gamma, Stabilizer stabilizer, bool zero_bias) : gamma_(gamma), stab_(stabilizer), zero_bias_(zero_bias) {
    LRP_CHECK(std::isfinite(gamma), "Gamma: gamma must be finite (got ", gamma, ")");
}

std::string Gamma::name() const {
    std::ostringstream os;
    os << "Gamma(gamma=" << gamma_ << ", stabilizer=" << stab_.str() << (zero_bias_ ? ", zero_bias" : "") << ")";
    return os.str();
}

Tensor Gamma::affine(const Call& c, const Tensor& r) const {
    const SignSplit x = split(c);
    const Tensor b = bias_or_none(c.b, zero_bias_);
    Tensor wgp = math::add_scaled(c.w, gamma_, pos(c.w));  // W + gamma W+
    Tensor wgn = math::add_scaled(c.w, gamma_, neg(c.w));  // W + gamma W-
    Tensor bgp = b.defined() ? math::add_scaled(b, gamma_, pos(b)) : Tensor();
    Tensor bgn = b.defined() ? math::add_scaled(b, gamma_, neg(b)) : Tensor();
    // The unmodified output f(x; W, b) decides which outputs are positive / negative: with the bias even under
    // zero_bias (zennit's fifth pass is NoMod() without zero_params).
    Tensor z = c.output();
    Tensor z_pos = split_forward(c, x, wgp, bgp, wgn);
    Tensor z_neg = split_forward(c, x, wgn, bgn, wgp);
    Tensor gp = stab_divide(ops::mul(math::is_positive(z), r), z_pos, stab_);
    Tensor gn = stab_divide(ops::mul(math::is_negative(z), r), z_neg, stab_);
    Tensor out = split_reduce(c, x, gp, wgp, wgn);  // summed left to right, as zennit's reducer
    ops::add(out, ops::mul(x.p, c.dgrad(gn, wgn)), out);
    if (x.n.defined()) ops::add(out, ops::mul(x.n, c.dgrad(gn, wgp)), out);
    return out;
}

}  // namespace lrp::explain
