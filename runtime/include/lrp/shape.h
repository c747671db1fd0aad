// Shape: up to 6 dimensions of int64 extents, contiguous row-major (NCHW for images).
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace lrp {

class Shape {
public:
    static constexpr int kMaxDims = 6;
    Shape() = default;
    Shape(std::initializer_list<int64_t> dims);
    explicit Shape(const std::vector<int64_t>& dims);

    int ndim() const { return ndim_; }
    int64_t operator[](int i) const;  // negative i counts from the end; throws when out of range
    int64_t numel() const;
    std::vector<int64_t> dims() const { return {d_.begin(), d_.begin() + ndim_}; }
    std::string str() const;  // "[2, 3, 32, 32]"

    bool operator==(const Shape& o) const;
    bool operator!=(const Shape& o) const { return !(*this == o); }

private:
    std::array<int64_t, kMaxDims> d_{};
    int ndim_ = 0;
};

}  // namespace lrp
