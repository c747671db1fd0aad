// Tensor creation, views, copies between devices, and the front-end argument checks.
#include "lrp/tensor.h"

#include "lrp/context.h"

namespace lrp {

Storage::Storage(Device d, size_t bytes) : device_(d), bytes_(bytes) {
    data_ = device_alloc(d, bytes == 0 ? 1 : bytes);
}

Storage::~Storage() { device_free(device_, data_); }

Tensor Tensor::empty(const Shape& s, DType t, Device d) {
    require_device(d);
    // Byte counts (and slice offsets in them) stay far from size_t's wrap-around: 2^62 elements of 4 bytes were 0.
    constexpr int64_t kMaxBytes = int64_t{1} << 60;
    LRP_CHECK(s.numel() <= kMaxBytes / static_cast<int64_t>(dtype_size(t)), "tensor of shape ", s.str(), " and dtype ",
              dtype_name(t), ": more than 2^60 bytes");
    Tensor r;
    r.shape_ = s;
    r.dtype_ = t;
    r.device_ = d;
    r.storage_ = std::make_shared<Storage>(d, r.nbytes());
    return r;
}

Tensor Tensor::zeros(const Shape& s, DType t, Device d) {
    Tensor r = empty(s, t, d);
    zero_bytes(r.raw_data(), d, r.nbytes());
    return r;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& v, const Shape& s, Device d) {
    LRP_CHECK(static_cast<int64_t>(v.size()) == s.numel(), "from_vector: ", v.size(), " values for shape ",
              s.str());
    Tensor r = empty(s, dtype_of<T>::value, d);
    copy_bytes(r.raw_data(), d, v.data(), Device::cpu(), r.nbytes());
    return r;
}

void* Tensor::raw_data() const {
    LRP_CHECK(defined(), "access to an undefined tensor");
    return static_cast<char*>(storage_->data()) + offset_;
}

Tensor Tensor::to(Device d) const {
    check_defined("to", "self", *this);
    if (d == device_) return *this;
    Tensor r = empty(shape_, dtype_, d);
    copy_bytes(r.raw_data(), d, raw_data(), device_, nbytes());
    return r;
}

Tensor Tensor::clone() const {
    check_defined("clone", "self", *this);
    Tensor r = empty(shape_, dtype_, device_);
    copy_bytes(r.raw_data(), device_, raw_data(), device_, nbytes());
    return r;
}

void Tensor::copy_from(const Tensor& src) {
    check_defined("copy_from", "self", *this);
    check_defined("copy_from", "src", src);
    check_dtype("copy_from", "src", src, dtype_);
    check_same_numel("copy_from", *this, src);
    if (shares_storage_with(src)) {  // views of one buffer: memcpy and cudaMemcpy are undefined where they overlap
        const size_t n = nbytes();
        if (offset_ == src.offset_) return;
        if (offset_ < src.offset_ + n && src.offset_ < offset_ + n) {
            const Tensor whole = src.clone();
            copy_bytes(raw_data(), device_, whole.raw_data(), device_, n);
            return;
        }
    }
    copy_bytes(raw_data(), device_, src.raw_data(), src.device_, nbytes());
}

Tensor Tensor::reshape(const Shape& s) const {
    check_defined("reshape", "self", *this);
    LRP_CHECK(s.numel() == numel(), "reshape: cannot view ", shape_.str(), " as ", s.str());
    Tensor r = *this;
    r.shape_ = s;
    return r;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
    check_defined("slice", "self", *this);
    LRP_CHECK(ndim() >= 1, "slice: tensor has no dimensions");
    LRP_CHECK(0 <= begin && begin <= end && end <= dim(0), "slice: [", begin, ", ", end, ") out of range for ",
              shape_.str());
    std::vector<int64_t> d = shape_.dims();
    int64_t row = numel() / (d[0] == 0 ? 1 : d[0]);
    d[0] = end - begin;
    Tensor r = *this;
    r.shape_ = Shape(d);
    r.offset_ = offset_ + static_cast<size_t>(begin * row) * dtype_size(dtype_);
    return r;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
    check_defined("to_vector", "self", *this);
    LRP_CHECK(dtype_ == dtype_of<T>::value, "to_vector: tensor holds ", dtype_name(dtype_));
    std::vector<T> v(static_cast<size_t>(numel()));
    copy_bytes(v.data(), Device::cpu(), raw_data(), device_, nbytes());
    return v;
}

#define LRP_INSTANTIATE(T)                                                                     \
    template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&, Device);      \
    template std::vector<T> Tensor::to_vector<T>() const;
LRP_INSTANTIATE(float)
LRP_INSTANTIATE(double)
LRP_INSTANTIATE(int32_t)
LRP_INSTANTIATE(int64_t)
LRP_INSTANTIATE(uint8_t)
#undef LRP_INSTANTIATE

void check_defined(const char* op, const char* arg, const Tensor& t) {
    LRP_CHECK(t.defined(), op, ": argument '", arg, "' is an undefined tensor");
}

void check_shape(const char* op, const char* arg, const Tensor& t, const Shape& expected) {
    check_defined(op, arg, t);
    LRP_CHECK(t.shape() == expected, op, ": argument '", arg, "' has shape ", t.shape().str(), ", expected ",
              expected.str());
}

void check_ndim(const char* op, const char* arg, const Tensor& t, int ndim) {
    check_defined(op, arg, t);
    LRP_CHECK(t.ndim() == ndim, op, ": argument '", arg, "' has shape ", t.shape().str(), ", expected ", ndim,
              " dims");
}

void check_dtype(const char* op, const char* arg, const Tensor& t, DType expected) {
    check_defined(op, arg, t);
    LRP_CHECK(t.dtype() == expected, op, ": argument '", arg, "' has dtype ", dtype_name(t.dtype()),
              ", expected ", dtype_name(expected));
}

void check_device(const char* op, const char* arg, const Tensor& t, Device expected) {
    check_defined(op, arg, t);
    LRP_CHECK(t.device() == expected, op, ": argument '", arg, "' is on ", t.device().str(), ", expected ",
              expected.str(), " (all arguments must be on one device)");
}

void check_same_numel(const char* op, const Tensor& a, const Tensor& b) {
    LRP_CHECK(a.numel() == b.numel(), op, ": sizes differ (", a.shape().str(), " vs ", b.shape().str(), ")");
}

}  // namespace lrp
