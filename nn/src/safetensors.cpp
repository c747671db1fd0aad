// safetensors load (validating header length, JSON, dtypes, shapes and data offsets before reading
// anything), atomic save (temp file + fsync + rename), and the state-dict name/shape/dtype check.
#include "lrp/nn/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "lrp/durable_file.h"
#include "lrp/error.h"
#include "lrp/nn/json_parse.h"
#include "lrp/utf8.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; lrpcu reads and writes it in host byte order");

namespace lrp::nn {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference library's limit

// Errors of the file at `path`: "safetensors file '<path>': <detail>".
#define ST_CHECK(cond, ...) LRP_CHECK(cond, "safetensors file '", path, "': ", __VA_ARGS__)
#define ST_THROW(...) LRP_THROW("safetensors file '", path, "': ", __VA_ARGS__)

struct FileDtype {
    const char* name;  // as written in the header
    DType stored;      // the element type in the file
    DType loaded;      // what load_safetensors returns
};
constexpr FileDtype kDtypes[] = {
    {"F32", DType::F32, DType::F32}, {"F16", DType::F16, DType::F32}, {"BF16", DType::BF16, DType::F32},
    {"F64", DType::F64, DType::F32}, {"I64", DType::I64, DType::I64}, {"I32", DType::I32, DType::I32},
    {"U8", DType::U8, DType::U8},
};

const FileDtype* find_dtype(const std::string& name) {
    for (const FileDtype& d : kDtypes)
        if (name == d.name) return &d;
    return nullptr;
}

const char* file_dtype_name(DType t) {
    for (const FileDtype& d : kDtypes)
        if (d.stored == t) return d.name;
    LRP_THROW("no safetensors name for dtype ", dtype_name(t));
}

// Closes the descriptor when it goes out of scope (errors on close are checked where they matter).
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

void read_at(int fd, void* dst, uint64_t n, uint64_t off, const std::string& path) {
    auto* p = static_cast<char*>(dst);
    while (n > 0) {
        ssize_t r = ::pread(fd, p, static_cast<size_t>(std::min<uint64_t>(n, 1u << 30)), static_cast<off_t>(off));
        if (r < 0 && errno == EINTR) continue;
        ST_CHECK(r >= 0, "read failed at byte ", off, ": ", std::strerror(errno));
        ST_CHECK(r > 0, "unexpected end of file at byte ", off, " (did the file change while it was read?)");
        p += r, n -= static_cast<uint64_t>(r), off += static_cast<uint64_t>(r);
    }
}

// A non-negative JSON integer, or an error naming `what`.
uint64_t get_uint(const json& v, const std::string& path, const std::string& what) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer()) ST_THROW(what, " is negative (", json_brief(v), ")");
    ST_THROW(what, " is not a non-negative integer (", json_brief(v), ")");
}

struct Entry {
    std::string name;
    const FileDtype* dtype;
    std::vector<int64_t> dims;
    uint64_t begin, end;      // relative to the data section
    std::string unsupported;  // the dtype as written, where lrpcu does not read it (dtype null)
};

Entry parse_entry(const std::string& name, const json& v, uint64_t data_bytes, const std::string& path) {
    const std::string t = "tensor '" + escaped_bytes(name) + "': ";  // (a name may hold any bytes, NUL and ESC too)
    ST_CHECK(v.is_object(), t, "entry is not a JSON object");
    auto dt = v.find("dtype"), sh = v.find("shape"), of = v.find("data_offsets");
    ST_CHECK(dt != v.end(), t, "missing \"dtype\"");
    ST_CHECK(sh != v.end(), t, "missing \"shape\"");
    ST_CHECK(of != v.end(), t, "missing \"data_offsets\"");
    ST_CHECK(dt->is_string(), t, "\"dtype\" is not a string");
    Entry e{name, find_dtype(dt->get<std::string>()), {}, 0, 0, {}};
    if (!e.dtype) e.unsupported = dt->get<std::string>();  // said with the others after the structural checks

    ST_CHECK(sh->is_array(), t, "\"shape\" is not an array");
    ST_CHECK(sh->size() <= static_cast<size_t>(Shape::kMaxDims), t, "shape has ", sh->size(),
             " dims; at most ", Shape::kMaxDims, " are supported");
    // The product of the non-zero extents must fit (so Shape::numel cannot overflow on the way).
    uint64_t nonzero = 1;
    bool empty = false;
    for (size_t i = 0; i < sh->size(); ++i) {
        uint64_t d = get_uint((*sh)[i], path, t + "shape[" + std::to_string(i) + "]");
        if (d == 0) empty = true;
        else ST_CHECK(!__builtin_mul_overflow(nonzero, d, &nonzero) && nonzero <= uint64_t{INT64_MAX}, t,
                      "shape ", sh->dump(), " is too large");
        e.dims.push_back(static_cast<int64_t>(d));
    }
    uint64_t numel = empty ? 0 : nonzero, bytes = 0;
    ST_CHECK(!__builtin_mul_overflow(numel, e.dtype ? dtype_size(e.dtype->stored) : 1, &bytes), t, "shape ",
             sh->dump(), " is too large");

    ST_CHECK(of->is_array() && of->size() == 2, t, "\"data_offsets\" is not an array [begin, end]");
    e.begin = get_uint((*of)[0], path, t + "data_offsets[0]");
    e.end = get_uint((*of)[1], path, t + "data_offsets[1]");
    ST_CHECK(e.begin <= e.end, t, "data_offsets [", e.begin, ", ", e.end, "] has begin after end");
    ST_CHECK(e.end <= data_bytes, t, "data_offsets [", e.begin, ", ", e.end, "] run past the end of the ",
             data_bytes, "-byte data section (truncated file?)");
    ST_CHECK(!e.dtype || e.end - e.begin == bytes, t, "data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin,
             " bytes but ", e.dtype->name, " shape ", sh->dump(), " needs ", bytes);
    return e;
}

// Reads one validated entry into a new CPU tensor, converting floating types to F32.
Tensor read_tensor(int fd, const Entry& e, uint64_t data_start, const std::string& path) {
    Tensor out = Tensor::empty(Shape(e.dims), e.dtype->loaded);
    uint64_t bytes = e.end - e.begin, off = data_start + e.begin;
    if (e.dtype->stored == e.dtype->loaded) {
        read_at(fd, out.raw_data(), bytes, off, path);
        return out;
    }
    std::vector<char> buf(static_cast<size_t>(bytes));
    read_at(fd, buf.data(), bytes, off, path);
    float* dst = out.data<float>();
    const size_t n = static_cast<size_t>(out.numel());
    for (size_t i = 0; i < n; ++i) {
        if (e.dtype->stored == DType::F64) {
            double d;
            std::memcpy(&d, buf.data() + 8 * i, 8);
            dst[i] = static_cast<float>(d);
        } else {
            uint16_t h;
            std::memcpy(&h, buf.data() + 2 * i, 2);
            dst[i] = e.dtype->stored == DType::F16 ? half_to_float(h) : bf16_to_float(h);
        }
    }
    return out;
}

}  // namespace

namespace {
// A validated header: the tensors sorted by offset (non-empty ones), the empty ones, the metadata.
struct Header {
    std::vector<Entry> entries;
    std::vector<size_t> order;  // indices of the non-empty entries by offset (no pointers: Header is returned)
    std::map<std::string, std::string> meta;
    uint64_t data_start = 0;
};

Header read_header(const Fd& f, const std::string& path) {
    struct stat st {};
    ST_CHECK(::fstat(f.fd, &st) == 0, "cannot stat: ", std::strerror(errno));
    ST_CHECK(S_ISREG(st.st_mode), "not a regular file");
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    ST_CHECK(size > 0, "file is empty");
    ST_CHECK(size >= 8, "file is ", size, " bytes, too short for the 8-byte header length (truncated file?)");

    unsigned char len_bytes[8];
    read_at(f.fd, len_bytes, 8, 0, path);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | len_bytes[i];
    ST_CHECK(hlen <= size - 8, "header length ", hlen, " exceeds the ", size - 8,
             " bytes after the length field (truncated file, or not a safetensors file)");
    ST_CHECK(hlen <= kMaxHeaderBytes, "header length ", hlen, " exceeds the limit of ", kMaxHeaderBytes, " bytes");
    ST_CHECK(hlen > 0, "header is empty");
    std::string text(static_cast<size_t>(hlen), '\0');
    read_at(f.fd, text.data(), hlen, 8, path);

    // The format: the header begins with '{' (no byte-order mark) and may be padded with spaces; a NUL would end
    // nlohmann's input early, hiding what follows it. A repeated name (a tensor, or a field of one) is an error
    // (parse_json_limited), not the last one silently kept.
    ST_CHECK(text[0] == '{', "header does not begin with '{' (not a safetensors file, or a byte-order mark)");
    ST_CHECK(text.find('\0') == std::string::npos, "header holds a NUL byte at offset ", text.find('\0'),
             " (a corrupt file)");
    json header;
    try {
        header = parse_json_limited(text, path + ": header");
    } catch (const json::exception& e) {
        ST_THROW("header is not valid JSON: ", e.what());
    }
    ST_CHECK(header.is_object(), "header is not a JSON object");

    Header h;
    h.data_start = 8 + hlen;
    const uint64_t data_bytes = size - h.data_start;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            ST_CHECK(it->is_object(), "\"__metadata__\" is not a JSON object");
            for (auto m = it->begin(); m != it->end(); ++m) {
                ST_CHECK(m->is_string(), "\"__metadata__\" value of '", m.key(), "' is not a string");
                h.meta[m.key()] = m->get<std::string>();
            }
            continue;
        }
        h.entries.push_back(parse_entry(it.key(), it.value(), data_bytes, path));
    }

    // The tensors tile the byte buffer (the format's rule, as the reference reader checks it): sorted by offset,
    // the first starts at 0, each where the one before ended (empty ones included), the last at the end of the
    // file. Overlaps, gaps and trailing bytes (room for hidden content) are errors.
    std::vector<size_t> all(h.entries.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    std::sort(all.begin(), all.end(), [&h](size_t i, size_t j) {
        const Entry &a = h.entries[i], &b = h.entries[j];
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t at = 0;
    const Entry* before = nullptr;
    for (size_t i : all) {
        const Entry& e = h.entries[i];
        if (e.begin < at)
            ST_THROW("tensors '", before->name, "' [", before->begin, ", ", before->end, ") and '", e.name, "' [",
                     e.begin, ", ", e.end, ") overlap");
        ST_CHECK(e.begin == at, "tensor '", e.name, "' starts at byte ", e.begin, " of the data, but ",
                 before ? "'" + before->name + "' ends at " + std::to_string(at) : std::string("the data starts at 0"),
                 ": a gap the format does not allow (a corrupt file?)");
        at = e.end;
        before = &e;
        if (e.end > e.begin) h.order.push_back(i);
    }
    ST_CHECK(at == data_bytes, "the tensors end at byte ", at, " of the data, but the file holds ", data_bytes,
             " bytes after the header: ", data_bytes - at, " trailing bytes the format does not allow (a corrupt file?)");
    // Every tensor of a dtype lrpcu does not read, in one error (the first alone hid the others), after the checks
    // of the file's structure (a corrupt file is said to be one first).
    std::string unsupported;
    int64_t count = 0;
    for (const Entry& e : h.entries)
        if (!e.dtype && ++count <= 20) unsupported += "\n  '" + escaped_bytes(e.name) + "': " + escaped_bytes(e.unsupported);
    if (count > 20) unsupported += "\n  ... and " + std::to_string(count - 20) + " more";
    ST_CHECK(count == 0, count, " tensor(s) of a dtype lrpcu does not read (it reads F32, F16, BF16, F64, I64, I32, ",
             "U8):", unsupported);
    return h;
}

int open_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ST_CHECK(fd >= 0, "cannot open: ", std::strerror(errno));
    return fd;
}
}  // namespace

StateDict load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
    Fd f;
    f.fd = open_file(path);
    Header h = read_header(f, path);
    StateDict sd;
    for (size_t i : h.order) sd[h.entries[i].name] = read_tensor(f.fd, h.entries[i], h.data_start, path);
    for (const Entry& e : h.entries)
        if (e.end == e.begin) sd[e.name] = Tensor::empty(Shape(e.dims), e.dtype->loaded);
    if (metadata) *metadata = std::move(h.meta);
    return sd;
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
    Fd f;
    f.fd = open_file(path);
    Header h = read_header(f, path);
    SafetensorsHeader out;
    for (const Entry& e : h.entries) out.tensors[e.name] = {e.dtype->loaded, Shape(e.dims)};
    out.metadata = std::move(h.meta);
    return out;
}

void save_safetensors(const std::string& path, const StateDict& sd, const std::map<std::string, std::string>& metadata) {
    // Header first: validates every entry before any file is touched.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    // Data layout as the reference writer does it: larger elements first, then by name, with no gaps,
    // so every tensor is aligned to its element size. Header entries are in name order.
    std::vector<const StateDict::value_type*> layout;
    for (const auto& kv : sd) {
        LRP_CHECK(kv.first != "__metadata__", "save_safetensors '", path,
                  "': invalid tensor name '__metadata__' (reserved for the metadata)");
        LRP_CHECK(kv.second.defined(), "save_safetensors '", path, "': tensor '", kv.first, "' is undefined");
        layout.push_back(&kv);
    }
    std::stable_sort(layout.begin(), layout.end(), [](const auto* a, const auto* b) {
        return dtype_size(a->second.dtype()) > dtype_size(b->second.dtype());
    });
    std::map<std::string, uint64_t> offsets;
    uint64_t offset = 0;
    for (const auto* kv : layout) offsets[kv->first] = offset, offset += kv->second.nbytes();
    for (const auto& [name, t] : sd) {
        uint64_t b = offsets[name];
        header[name] = {{"dtype", file_dtype_name(t.dtype())},
                        {"shape", t.shape().dims()},
                        {"data_offsets", {b, b + t.nbytes()}}};
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::ordered_json::exception& e) {
        LRP_THROW("save_safetensors '", path, "': cannot encode the header (names and metadata must be UTF-8): ",
                  e.what());
    }
    text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(uint64_t{text.size()} >> (8 * i));

    // A temporary file next to `path`, made durable, then renamed over it (durable_file.h).
    write_file_atomic(path, [&](FileSink& f) {
        f.write(len_bytes, 8);
        f.write(text);
        for (const auto* kv : layout) {
            Tensor host = kv->second.to(Device::cpu());
            f.write(host.raw_data(), host.nbytes());
        }
    }, "save_safetensors");
}

void check_state_dict(const StateDict& sd, const std::vector<ParamSpec>& expected, bool allow_unexpected) {
    std::vector<std::string> problems;
    std::set<std::string> names;
    for (const ParamSpec& p : expected) {
        if (!names.insert(p.name).second) {
            problems.push_back("duplicate expected name '" + p.name + "'");
            continue;
        }
        auto it = sd.find(p.name);
        if (it == sd.end()) {
            problems.push_back(str("missing '", p.name, "' (", dtype_name(p.dtype), " ", p.shape.str(), ")"));
        } else if (!it->second.defined()) {
            problems.push_back("undefined tensor '" + p.name + "'");
        } else {
            const Tensor& t = it->second;
            if (t.shape() != p.shape)
                problems.push_back(str("wrong shape for '", p.name, "': ", t.shape().str(), ", expected ", p.shape.str()));
            if (t.dtype() != p.dtype)
                problems.push_back(str("wrong dtype for '", p.name, "': ", dtype_name(t.dtype()), ", expected ",
                                       dtype_name(p.dtype)));
        }
    }
    if (!allow_unexpected)
        for (const auto& [name, t] : sd)
            if (!names.count(name))
                problems.push_back(str("unexpected '", name, "' (",
                                       t.defined() ? dtype_name(t.dtype()) : "undefined", " ",
                                       t.defined() ? t.shape().str() : "", ")"));
    if (problems.empty()) return;
    std::string msg = str("state dict does not match the model (", problems.size(), " problem",
                          problems.size() == 1 ? "" : "s", "):");
    for (const std::string& p : problems) msg += "\n  " + p;
    LRP_THROW(msg);
}

}  // namespace lrp::nn
