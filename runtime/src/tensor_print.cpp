// Printing of small tensors (numpy-like nesting, truncated after max_elems values).
#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "lrp/tensor.h"

namespace lrp {

namespace {
double value_at(const std::vector<uint8_t>& raw, DType t, int64_t i) {
    const uint8_t* p = raw.data() + i * static_cast<int64_t>(dtype_size(t));
    switch (t) {
        case DType::F32: return *reinterpret_cast<const float*>(p);
        case DType::F64: return *reinterpret_cast<const double*>(p);
        case DType::F16: return half_to_float(*reinterpret_cast<const uint16_t*>(p));
        case DType::BF16: return bf16_to_float(*reinterpret_cast<const uint16_t*>(p));
        case DType::I32: return *reinterpret_cast<const int32_t*>(p);
        case DType::I64: return static_cast<double>(*reinterpret_cast<const int64_t*>(p));
        case DType::U8: return *p;
    }
    return 0;
}
}  // namespace

std::string Tensor::str(int64_t max_elems) const {
    std::ostringstream os;
    if (!defined()) return "Tensor(undefined)";
    os << "Tensor " << dtype_name(dtype_) << " " << shape_.str() << " " << device_.str() << "\n";
    Tensor host = to(Device::cpu());
    std::vector<uint8_t> raw(nbytes());
    std::copy_n(static_cast<const uint8_t*>(host.raw_data()), raw.size(), raw.begin());
    const int nd = ndim();
    const int64_t n = numel();
    const bool is_int = dtype_ == DType::I32 || dtype_ == DType::I64 || dtype_ == DType::U8;
    for (int d = 0; d < nd; ++d) os << "[";
    for (int64_t i = 0; i < n; ++i) {
        if (i == max_elems) {
            os << " ...(" << n - max_elems << " more)";
            break;
        }
        if (i > 0) {
            // close and reopen brackets at dimension boundaries
            int closes = 0;
            int64_t stride = 1;
            for (int d = nd - 1; d > 0; --d) {
                stride *= shape_[d];
                if (i % stride == 0) ++closes;
            }
            for (int c = 0; c < closes; ++c) os << "]";
            os << (closes ? ",\n" : ", ");
            for (int c = 0; c < closes; ++c) os << "[";
        }
        double v = value_at(raw, dtype_, i);
        if (is_int) os << static_cast<int64_t>(v);
        else os << std::setprecision(6) << v;
    }
    if (n <= max_elems)
        for (int d = 0; d < nd; ++d) os << "]";
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace lrp
