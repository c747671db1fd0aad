// Shape construction with validation (non-negative extents, at most kMaxDims, an element count that fits
// int64) and printing.
#include "lrp/shape.h"

#include "lrp/error.h"

namespace lrp {

namespace {
std::string str_of(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}
}  // namespace

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
    LRP_CHECK(static_cast<int>(dims.size()) <= kMaxDims, "shape has ", dims.size(), " dims; at most ",
              kMaxDims, " are supported");
    int64_t nonzero = 1;  // the product of the non-zero extents fits, so numel() cannot overflow
    for (size_t i = 0; i < dims.size(); ++i) {
        LRP_CHECK(dims[i] >= 0, "shape extent ", i, " is negative (", dims[i], ")");
        if (dims[i] > 0)
            LRP_CHECK(!__builtin_mul_overflow(nonzero, dims[i], &nonzero), "shape ", str_of(dims),
                      " has more elements than an int64 holds");
        d_[i] = dims[i];
    }
    ndim_ = static_cast<int>(dims.size());
}

int64_t Shape::operator[](int i) const {
    int j = i < 0 ? i + ndim_ : i;
    LRP_CHECK(j >= 0 && j < ndim_, "dim ", i, " out of range for shape ", str());
    return d_[j];
}

int64_t Shape::numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim_; ++i) n *= d_[i];
    return n;
}

std::string Shape::str() const {
    std::string s = "[";
    for (int i = 0; i < ndim_; ++i) s += (i ? ", " : "") + std::to_string(d_[i]);
    return s + "]";
}

bool Shape::operator==(const Shape& o) const {
    if (ndim_ != o.ndim_) return false;
    for (int i = 0; i < ndim_; ++i)
        if (d_[i] != o.d_[i]) return false;
    return true;
}

}  // namespace lrp
