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

// x+ dgrad(s, wa) + x- dgrad(s, wb): the two-partition reducer of ZPlus / AlphaBeta / Gamma.
Tensor split_reduce(const AffineRule::Call& c, const Tensor& xp, const Tensor& xn, const Tensor& s, const Tensor& wa,
                    const Tensor& wb) {
    Tensor out = ops::mul(xp, c.dgrad(s, wa));
    ops::add(out, ops::mul(xn, c.dgrad(s, wb)), out);
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
    Tensor xp = pos(c.x), xn = neg(c.x), wp = pos(c.w), wn = neg(c.w);
    Tensor z = c.forward(xp, wp, pos(bias_or_none(c.b, zero_bias_)));
    ops::add(z, c.forward(xn, wn), z);
    Tensor s = stab_divide(r, z, stab_);
    return split_reduce(c, xp, xn, s, wp, wn);
}

// ---- AlphaBeta ---------------------------------------------------------------------------------

AlphaBeta::AlphaBeta(float alpha, float beta, Stabilizer stabilizer, bool zero_bias)
    : alpha_(alpha), beta_(beta), stab_(stabilizer), zero_bias_(zero_bias) {
    LRP_CHECK(alpha >= 0.f && beta >= 0.f, "AlphaBeta: alpha and beta must be >= 0 (got alpha = ", alpha,
              ", beta = ", beta, ")");
    LRP_CHECK(alpha - beta == 1.f, "AlphaBeta: alpha - beta must equal 1 (got alpha = ", alpha, ", beta = ", beta,
              ")");
}

std::string AlphaBeta::name() const {
    std::ostringstream os;
    os << "AlphaBeta(alpha=" << alpha_ << ", beta=" << beta_ << ", stabilizer=" << stab_.str()
       << (zero_bias_ ? ", zero_bias" : "") << ")";
    return os.str();
}

Tensor AlphaBeta::affine(const Call& c, const Tensor& r) const {
    Tensor xp = pos(c.x), xn = neg(c.x), wp = pos(c.w), wn = neg(c.w);
    const Tensor b = bias_or_none(c.b, zero_bias_);
    Tensor za = c.forward(xp, wp, pos(b));  // positive contributions: b+ in the x+ pass only
    ops::add(za, c.forward(xn, wn), za);
    Tensor zb = c.forward(xp, wn, neg(b));  // negative contributions: b- in the x+ pass only
    ops::add(zb, c.forward(xn, wp), zb);
    Tensor out = split_reduce(c, xp, xn, stab_divide(r, za, stab_), wp, wn);
    Tensor negative = split_reduce(c, xp, xn, stab_divide(r, zb, stab_), wn, wp);
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
    Tensor xp = pos(c.x), xn = neg(c.x);
    const Tensor b = bias_or_none(c.b, zero_bias_);
    Tensor wgp = math::add_scaled(c.w, gamma_, pos(c.w));  // W + gamma W+
    Tensor wgn = math::add_scaled(c.w, gamma_, neg(c.w));  // W + gamma W-
    Tensor bgp = b.defined() ? math::add_scaled(b, gamma_, pos(b)) : Tensor();
    Tensor bgn = b.defined() ? math::add_scaled(b, gamma_, neg(b)) : Tensor();
    Tensor z = c.output(!zero_bias_);  // unmodified output: decides which outputs are positive / negative
    Tensor z_pos = c.forward(xp, wgp, bgp);
    ops::add(z_pos, c.forward(xn, wgn), z_pos);
    Tensor z_neg = c.forward(xp, wgn, bgn);
    ops::add(z_neg, c.forward(xn, wgp), z_neg);
    Tensor gp = stab_divide(ops::mul(math::is_positive(z), r), z_pos, stab_);
    Tensor gn = stab_divide(ops::mul(math::is_negative(z), r), z_neg, stab_);
    Tensor out = split_reduce(c, xp, xn, gp, wgp, wgn);  // summed left to right, as zennit's reducer
    ops::add(out, ops::mul(xp, c.dgrad(gn, wgn)), out);
    ops::add(out, ops::mul(xn, c.dgrad(gn, wgp)), out);
    return out;
}

}  // namespace lrp::explain
