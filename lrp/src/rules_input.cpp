// ZBox, WSquare and Flat: the first-layer rules (bounded input, unbounded input, shape-only), and the
// Bound type that expands ZBox's low/high to the input's shape (lrp-rules.md §4.6-4.8).
#include <algorithm>
#include <sstream>

#include "lrp/lrp/rule_math.h"
#include "lrp/lrp/rules.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"

namespace lrp::explain {

using math::neg;
using math::pos;

// ---- Bound -------------------------------------------------------------------------------------

Tensor Bound::channels_on(Device d) const {
    std::lock_guard<std::mutex> lock(cache_->m);
    if (!cache_->t.defined() || cache_->t.device() != d || cache_->values != per_channel) {
        cache_->t = Tensor::from_vector(per_channel, {static_cast<int64_t>(per_channel.size())}, d);
        cache_->values = per_channel;
    }
    return cache_->t;
}

Tensor Bound::full_on(Device d) const {
    if (full.device() == d) return full;
    std::lock_guard<std::mutex> lock(cache_->m);
    // Keyed by the tensor object (storage, offset, shape) and, for a host bound, by its bytes: values
    // changed in place on the host are uploaded again (a host compare, no device work: still capturable).
    const bool same_tensor = cache_->full_src.defined() && cache_->full_src.shares_storage_with(full) &&
                             cache_->full_src.raw_data() == full.raw_data() && cache_->full_src.shape() == full.shape();
    const bool host = full.device().is_cpu();
    const auto* bytes = static_cast<const uint8_t*>(full.raw_data());
    const bool same_bytes = !host || (cache_->full_bytes.size() == full.nbytes() &&
                                      std::equal(cache_->full_bytes.begin(), cache_->full_bytes.end(), bytes));
    if (!same_tensor || !same_bytes || cache_->full_t.device() != d) {
        cache_->full_t = full.to(d);
        cache_->full_src = full;
        if (host) cache_->full_bytes.assign(bytes, bytes + full.nbytes());
    }
    return cache_->full_t;
}

Tensor Bound::expand(const Shape& shape, Device d) const {
    if (full.defined()) {
        LRP_CHECK(full.ndim() == shape.ndim(), "ZBox bound ", full.shape().str(), " does not match input ", shape.str());
        for (int i = 1; i < shape.ndim(); ++i)
            LRP_CHECK(full.dim(i) == shape[i], "ZBox bound ", full.shape().str(), " does not match input ", shape.str());
        const int64_t n = shape[0];
        if (full.dim(0) >= n) return full_on(d).slice(0, n);  // cut to the input batch, as zennit does
        LRP_CHECK(full.dim(0) == 1, "ZBox bound ", full.shape().str(), " has a batch dim that is neither 1 nor >= ", n);
        Tensor src = full_on(d), y = Tensor::empty(shape, DType::F32, d);
        for (int64_t i = 0; i < n; ++i) y.slice(i, i + 1).copy_from(src);
        return y;
    }
    if (!per_channel.empty()) {
        const int64_t c = static_cast<int64_t>(per_channel.size());
        LRP_CHECK(shape.ndim() >= 2 && shape[1] == c, "ZBox bound has ", c, " channel values, input is ", shape.str());
        Tensor y = Tensor::zeros(shape, DType::F32, d);
        ops::channel_affine(y, Tensor::zeros({c}, DType::F32, d), channels_on(d), y);
        return y;
    }
    return ops::full(shape, value, d);
}

std::string Bound::str() const {
    std::ostringstream os;
    if (full.defined()) {
        os << "tensor" << full.shape().str();
    } else if (!per_channel.empty()) {
        os << "[";
        for (size_t i = 0; i < per_channel.size(); ++i) os << (i ? ", " : "") << per_channel[i];
        os << "]";
    } else {
        os << value;
    }
    return os.str();
}

// ---- ZBox --------------------------------------------------------------------------------------

std::string ZBox::name() const {
    return "ZBox(low=" + low_.str() + ", high=" + high_.str() + ", stabilizer=" + stab_.str() +
           (zero_bias_ ? ", zero_bias" : "") + ")";
}

Tensor ZBox::affine(const Call& c, const Tensor& r) const {
    const Tensor l = low_.expand(c.x.shape(), c.x.device()), h = high_.expand(c.x.shape(), c.x.device());
    const Tensor b = zero_bias_ ? Tensor() : c.b;
    Tensor wp = pos(c.w), wn = neg(c.w);
    // z = f(x; W, b) - (f(l; W+, b+) + f(h; W-, b-)): the biases cancel up to rounding, as in zennit.
    Tensor bounds = c.forward(l, wp, pos(b));
    ops::add(bounds, c.forward(h, wn, neg(b)), bounds);
    Tensor s = stab_divide(r, math::sub(c.output(!zero_bias_), bounds), stab_);
    Tensor lower = ops::mul(l, c.dgrad(s, wp));
    ops::add(lower, ops::mul(h, c.dgrad(s, wn)), lower);
    return math::sub(ops::mul(c.x, c.dgrad(s, c.w)), lower);
}

// ---- WSquare -----------------------------------------------------------------------------------

std::string WSquare::name() const {
    return "WSquare(stabilizer=" + stab_.str() + (zero_bias_ ? ", zero_bias" : "") + ")";
}

Tensor WSquare::affine(const Call& c, const Tensor& r) const {
    Tensor w2 = math::square(c.w);
    Tensor z = c.forward(math::ones_like(c.x), w2, zero_bias_ ? Tensor() : math::square(c.b));
    return c.dgrad(stab_divide(r, z, stab_), w2);
}

// ---- Flat --------------------------------------------------------------------------------------

std::string Flat::name() const { return "Flat(stabilizer=" + stab_.str() + ")"; }

Tensor Flat::affine(const Call& c, const Tensor& r) const {
    Tensor w1 = math::ones_like(c.w);
    Tensor n = c.forward(math::ones_like(c.x), w1);  // (C_in / groups) x in-bounds taps; no bias
    return c.dgrad(stab_divide(r, n, stab_), w1);
}

}  // namespace lrp::explain
