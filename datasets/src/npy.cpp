// .npy reader and writer: a strict parser of the header's Python dict literal, the data size checked
// against the file size before anything is allocated, and atomic writes.
#include "lrp/data/npy.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include "lrp/durable_file.h"

namespace lrp::data {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr uint64_t kMaxHeader = 65536;

// The header: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } and padding.
struct Header {
    std::string descr;
    bool fortran = false;
    std::vector<int64_t> shape;
    bool has_descr = false, has_fortran = false, has_shape = false;
};

class HeaderParser {
public:
    HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

    Header parse() {
        Header h;
        expect('{');
        while (!peek('}')) {
            const std::string key = quoted();
            expect(':');
            if (key == "descr") {
                LRP_CHECK(!peek('['), where(), "structured arrays (a list 'descr') are not supported");
                h.descr = quoted();
                h.has_descr = true;
            } else if (key == "fortran_order") {
                h.fortran = boolean();
                h.has_fortran = true;
            } else if (key == "shape") {
                h.shape = tuple();
                h.has_shape = true;
            } else {
                LRP_THROW(where(), "unexpected key '", key, "' (a .npy header holds descr, fortran_order, shape)");
            }
            if (!peek('}')) expect(',');
        }
        expect('}');
        skip_space();
        LRP_CHECK(i_ == s_.size(), where(), "text after the header's closing brace");
        LRP_CHECK(h.has_descr && h.has_fortran && h.has_shape, "'", path_,
                  "': the .npy header lacks one of descr, fortran_order, shape: ", shown());
        return h;
    }

private:
    std::string where() const {
        return "'" + path_ + "': malformed .npy header at character " + std::to_string(i_) + " of \"" + shown() + "\": ";
    }
    std::string shown() const { return s_.size() <= 200 ? s_ : s_.substr(0, 200) + "..."; }
    void skip_space() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
    }
    bool peek(char c) {
        skip_space();
        return i_ < s_.size() && s_[i_] == c;
    }
    void expect(char c) {
        LRP_CHECK(peek(c), where(), "expected '", std::string(1, c), "'");
        ++i_;
    }
    std::string quoted() {
        skip_space();
        LRP_CHECK(i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"'), where(), "expected a quoted string");
        const char q = s_[i_++];
        const size_t end = s_.find(q, i_);
        LRP_CHECK(end != std::string::npos, where(), "unterminated string");
        std::string v = s_.substr(i_, end - i_);
        i_ = end + 1;
        return v;
    }
    bool boolean() {
        skip_space();
        for (const char* w : {"True", "False"})
            if (s_.compare(i_, std::strlen(w), w) == 0) {
                i_ += std::strlen(w);
                return w[0] == 'T';
            }
        LRP_THROW(where(), "expected True or False");
    }
    std::vector<int64_t> tuple() {
        expect('(');
        std::vector<int64_t> dims;
        while (!peek(')')) {
            int64_t v = -1;
            const char* b = s_.data() + i_;
            const char* e = s_.data() + s_.size();
            auto r = std::from_chars(b, e, v);
            LRP_CHECK(r.ec == std::errc() && v >= 0 && r.ptr != b && *b != '-', where(),
                      "a shape entry must be a non-negative integer");
            i_ += static_cast<size_t>(r.ptr - b);
            dims.push_back(v);
            if (!peek(')')) expect(',');
        }
        expect(')');
        return dims;
    }

    const std::string& s_;
    const std::string& path_;
    size_t i_ = 0;
};

uint32_t little_endian(const unsigned char* b, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
}

// How a descr such as '<f4' is stored in the file: its element size and kind.
struct FileType {
    char kind = 'f';  // 'f' float, 'i' signed, 'u' unsigned integer
    int size = 4;     // bytes per element
};

FileType descr_type(const std::string& descr, const std::string& path) {
    const char* need = "' (need float32/float64, or an integer type of up to 64 bits)";
    LRP_CHECK(descr.size() == 3, "'", path, "': unsupported dtype '", descr, need);
    const bool one_byte = descr[2] == '1';
    LRP_CHECK((descr[0] != '>' && descr[0] != '!') || one_byte, "'", path, "': big-endian array ('", descr,
              "'); save it little-endian, e.g. arr.astype(arr.dtype.newbyteorder('<'))");
    const std::string t = descr.substr(1);
    const bool order_ok = descr[0] == '<' || descr[0] == '=' || descr[0] == '|' || (one_byte && descr[0] == '>');
    LRP_CHECK(order_ok, "'", path, "': unsupported byte order in dtype '", descr, "'");
    if (t == "f4" || t == "f8") return {'f', t[1] - '0'};
    if ((t[0] == 'i' || t[0] == 'u') && (t[1] == '1' || t[1] == '2' || t[1] == '4' || t[1] == '8'))
        return {t[0], t[1] - '0'};
    LRP_THROW("'", path, "': unsupported dtype '", descr, need);
}

// The tensor dtype an array of `f` becomes: F32 for floats, I32 for integers that always fit it, else I64.
DType tensor_dtype(FileType f) {
    if (f.kind == 'f') return DType::F32;
    return f.size < 4 || (f.kind == 'i' && f.size == 4) ? DType::I32 : DType::I64;
}

// Element i of a little-endian integer array of type f.
int64_t int_at(const unsigned char* p, FileType f, uint64_t i, bool* fits) {
    uint64_t u = 0;
    for (int b = f.size - 1; b >= 0; --b) u = (u << 8) | p[i * f.size + b];
    if (f.kind == 'u') {
        *fits = u <= static_cast<uint64_t>(INT64_MAX);
        return static_cast<int64_t>(u);
    }
    const int shift = 64 - 8 * f.size;  // sign-extend
    *fits = true;
    return static_cast<int64_t>(u << shift) >> shift;
}

// The numpy index of the element at file position i: "(1, 2)" (last index fastest in C order, first in Fortran
// order), "(3,)" for one dimension, "()" for a scalar.
std::string element_index(uint64_t i, const std::vector<int64_t>& shape, bool fortran) {
    std::vector<uint64_t> ix(shape.size());
    for (size_t k = 0; k < shape.size(); ++k) {
        const size_t d = fortran ? k : shape.size() - 1 - k;
        const auto n = static_cast<uint64_t>(shape[d]);
        ix[d] = n ? i % n : 0;
        i = n ? i / n : 0;
    }
    std::string s = "(";
    for (size_t d = 0; d < ix.size(); ++d) s += (d ? ", " : "") + std::to_string(ix[d]);
    return s + (ix.size() == 1 ? ",)" : ")");
}

}  // namespace

namespace {
// t holds a Fortran-order array's elements in file order (its first index varying fastest); the same array in C
// order (its last index fastest), element bytes copied as they are.
Tensor fortran_to_c_order(const Tensor& t) {
    const int nd = t.ndim();
    const size_t es = dtype_size(t.dtype());
    std::vector<int64_t> stride(static_cast<size_t>(nd), 1), idx(static_cast<size_t>(nd), 0);
    for (int k = 1; k < nd; ++k) stride[k] = stride[k - 1] * t.dim(k - 1);
    Tensor c = Tensor::empty(t.shape(), t.dtype());
    const char* src = static_cast<const char*>(t.raw_data());
    char* dst = static_cast<char*>(c.raw_data());
    for (int64_t i = 0; i < t.numel(); ++i) {  // i: the C-order position of the multi-index idx
        int64_t f = 0;
        for (int k = 0; k < nd; ++k) f += idx[k] * stride[k];
        std::memcpy(dst + static_cast<size_t>(i) * es, src + static_cast<size_t>(f) * es, es);
        for (int k = nd - 1; k >= 0 && ++idx[k] == t.dim(k); --k) idx[k] = 0;
    }
    return c;
}
}  // namespace

Tensor read_npy(const std::string& path) {
    std::error_code ec;
    LRP_CHECK(std::filesystem::is_regular_file(path, ec), "cannot open '", path, "': not an existing file");
    const uint64_t file_size = std::filesystem::file_size(path, ec);
    LRP_CHECK(!ec, "cannot read the size of '", path, "': ", ec.message());
    std::ifstream f(path, std::ios::binary);
    LRP_CHECK(f.good(), "cannot open '", path, "'");

    unsigned char pre[12] = {};
    f.read(reinterpret_cast<char*>(pre), 8);
    LRP_CHECK(f.good() && std::memcmp(pre, kMagic, 6) == 0, "'", path,
              "' is not a .npy file (no \\x93NUMPY magic)");
    const int major = pre[6];
    LRP_CHECK(major >= 1 && major <= 3 && pre[7] == 0, "'", path, "': unsupported .npy format version ", major, ".",
              int(pre[7]), " (NumPy writes 1.0, 2.0 and 3.0)");
    const int len_bytes = major == 1 ? 2 : 4;
    f.read(reinterpret_cast<char*>(pre + 8), len_bytes);
    LRP_CHECK(f.good(), "'", path, "' is truncated inside the .npy preamble");
    const uint64_t header_len = little_endian(pre + 8, len_bytes);
    const uint64_t data_start = 8 + static_cast<uint64_t>(len_bytes) + header_len;
    LRP_CHECK(data_start <= file_size, "'", path, "': the header claims ", header_len, " bytes but the file has ",
              file_size, " in all (truncated?)");
    // NumPy itself refuses headers over 10000 bytes by default; a plain array's is under 200.
    LRP_CHECK(header_len <= kMaxHeader, "'", path, "': a ", header_len, "-byte .npy header (at most ", kMaxHeader,
              " are read; a corrupt file?)");
    std::string text(header_len, ' ');
    f.read(text.data(), static_cast<std::streamsize>(header_len));
    LRP_CHECK(f.good(), "'", path, "': cannot read the .npy header");

    const Header h = HeaderParser(text, path).parse();
    const FileType file_type = descr_type(h.descr, path);
    LRP_CHECK(static_cast<int>(h.shape.size()) <= Shape::kMaxDims, "'", path, "': ", h.shape.size(),
              " dimensions (at most ", Shape::kMaxDims, " are supported)");
    uint64_t nonzero = 1;  // the product of the non-zero extents must fit an int64, as Shape requires
    bool empty = false;
    for (int64_t d : h.shape) {
        if (d == 0) empty = true;
        else LRP_CHECK(!__builtin_mul_overflow(nonzero, static_cast<uint64_t>(d), &nonzero) &&
                           nonzero <= static_cast<uint64_t>(INT64_MAX),
                       "'", path, "': the shape's element count overflows");
    }
    const uint64_t count = empty ? 0 : nonzero;
    uint64_t data_bytes = 0;
    LRP_CHECK(!__builtin_mul_overflow(count, static_cast<uint64_t>(file_type.size), &data_bytes), "'", path,
              "': the shape's byte count overflows");
    LRP_CHECK(file_size - data_start == data_bytes, "'", path, "': a '", h.descr, "' array of shape ",
              Shape(h.shape).str(), " needs ", data_bytes, " data bytes, but the file holds ", file_size - data_start,
              file_size - data_start < data_bytes ? " (truncated)" : " (trailing bytes: wrong dtype or shape?)");

    const Shape shape(h.shape);
    const DType type = tensor_dtype(file_type);
    // Elements are read in file order, as if C order; a Fortran-order array's (np.asfortranarray, a 2-D array's .T)
    // are then put into C order.
    auto finish = [&](const Tensor& t) { return h.fortran && t.ndim() > 1 ? fortran_to_c_order(t) : t; };
    if (dtype_size(type) == static_cast<size_t>(file_type.size) && file_type.kind != 'u') {
        Tensor t = Tensor::empty(shape, type);  // stored as it is (f4, i4, i8)
        f.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(data_bytes));
        LRP_CHECK(f.good(), "'", path, "': reading the array data failed");
        return finish(t);
    }
    if (file_type.kind != 'f') {  // a narrower or unsigned integer: widened to I32 / I64
        std::vector<unsigned char> raw(data_bytes);
        f.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(data_bytes));
        LRP_CHECK(f.good(), "'", path, "': reading the array data failed");
        Tensor t = Tensor::empty(shape, type);
        for (uint64_t i = 0; i < count; ++i) {
            bool fits = true;
            const int64_t v = int_at(raw.data(), file_type, i, &fits);
            LRP_CHECK(fits, "'", path, "': element ", element_index(i, h.shape, h.fortran), " (",
                      static_cast<uint64_t>(v), ") is beyond the int64 range");
            if (type == DType::I32) t.data<int32_t>()[i] = static_cast<int32_t>(v);
            else t.data<int64_t>()[i] = v;
        }
        return finish(t);
    }
    std::vector<double> d(count);
    f.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(data_bytes));
    LRP_CHECK(f.good(), "'", path, "': reading the array data failed");
    Tensor t = Tensor::empty(shape, DType::F32);
    float* out = t.data<float>();
    for (uint64_t i = 0; i < count; ++i) {
        out[i] = static_cast<float>(d[i]);
        LRP_CHECK(std::isfinite(out[i]) || !std::isfinite(d[i]), "'", path, "': element ",
                  element_index(i, h.shape, h.fortran), " (", d[i], ") is outside the float32 range");
    }
    return finish(t);
}

void write_npy(const std::string& path, const Tensor& t) {
    const DType dt = t.dtype();
    LRP_CHECK(dt == DType::F32 || dt == DType::I32 || dt == DType::I64, "write_npy '", path, "': ",
              dtype_name(dt), " tensors are not written (F32, I32, I64 are)");
    std::string shape;  // as Python writes a tuple: (), (4,), (2, 3)
    for (int i = 0; i < t.ndim(); ++i)
        shape += std::to_string(t.dim(i)) + (t.ndim() == 1 ? "," : i + 1 < t.ndim() ? ", " : "");
    const char* descr = dt == DType::F32 ? "<f4" : dt == DType::I32 ? "<i4" : "<i8";
    std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
    header.append(63 - (10 + header.size()) % 64, ' ');  // preamble + header + '\n' a multiple of 64
    header += '\n';
    const Tensor host = t.to(Device::cpu());

    const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                  static_cast<unsigned char>(header.size() >> 8)};
    write_file_atomic(path, [&](FileSink& f) {  // durable_file.h: the old file stays on any failure
        f.write(kMagic, 6);
        f.write("\x01\x00", 2);
        f.write(len, 2);
        f.write(header);
        f.write(host.raw_data(), host.nbytes());
    }, "write_npy");
}

}  // namespace lrp::data
