// Tensor: shared owning storage + shape + dtype + device. Contiguous row-major (NCHW); views
// (reshape, batch slices) share storage. Creation, copies between devices and printing live here;
// math goes through the op table (lrp/kernels/ops.h) and the checked front ends (lrp/ops/*.h).
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "lrp/device.h"
#include "lrp/dtype.h"
#include "lrp/error.h"
#include "lrp/shape.h"

namespace lrp {

// A block of memory on one device, returned to that device's allocator when the last owner goes.
class Storage {
public:
    Storage(Device d, size_t bytes);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    void* data() const { return data_; }
    size_t bytes() const { return bytes_; }
    Device device() const { return device_; }

private:
    Device device_;
    size_t bytes_;
    void* data_ = nullptr;
};

class Tensor {
public:
    Tensor() = default;  // undefined tensor

    static Tensor empty(const Shape& s, DType t = DType::F32, Device d = Device::cpu());
    static Tensor zeros(const Shape& s, DType t = DType::F32, Device d = Device::cpu());
    template <class T>
    static Tensor from_vector(const std::vector<T>& v, const Shape& s, Device d = Device::cpu());

    bool defined() const { return storage_ != nullptr; }
    const Shape& shape() const { return shape_; }
    int ndim() const { return shape_.ndim(); }
    int64_t dim(int i) const { return shape_[i]; }
    int64_t numel() const { return shape_.numel(); }
    DType dtype() const { return dtype_; }
    Device device() const { return device_; }
    size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

    void* raw_data() const;
    template <class T> T* data() const {
        LRP_CHECK(dtype_ == dtype_of<T>::value, "tensor holds ", dtype_name(dtype_), ", accessed as ",
                  dtype_name(dtype_of<T>::value));
        return static_cast<T*>(raw_data());
    }

    Tensor to(Device d) const;          // a copy on `d` (this tensor itself if already there)
    Tensor clone() const;               // a deep copy on the same device
    void copy_from(const Tensor& src);  // same numel and dtype; any devices
    Tensor reshape(const Shape& s) const;               // same numel, shares storage
    Tensor slice(int64_t begin, int64_t end) const;     // rows [begin, end) of dim 0, shares storage
    bool shares_storage_with(const Tensor& o) const { return storage_ && storage_ == o.storage_; }

    template <class T> std::vector<T> to_vector() const;  // copies to the host
    std::string str(int64_t max_elems = 64) const;          // "Tensor f32 [2, 3] cpu\n[[...]]"

private:
    std::shared_ptr<Storage> storage_;
    Shape shape_;
    DType dtype_ = DType::F32;
    Device device_;
    size_t offset_ = 0;  // bytes from storage start
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Front-end checks: each throws lrp::Error naming the op, the argument and what was expected.
void check_defined(const char* op, const char* arg, const Tensor& t);
void check_shape(const char* op, const char* arg, const Tensor& t, const Shape& expected);
void check_ndim(const char* op, const char* arg, const Tensor& t, int ndim);
void check_dtype(const char* op, const char* arg, const Tensor& t, DType expected);
void check_device(const char* op, const char* arg, const Tensor& t, Device expected);
void check_same_numel(const char* op, const Tensor& a, const Tensor& b);

}  // namespace lrp
