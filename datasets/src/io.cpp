// File reading for the dataset readers: plain or gzip (zlib gzread, detected by the magic bytes, not the
// extension), with errors naming the file, the problem and where to get the data.
#include "io.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>

namespace lrp::data::detail {

namespace fs = std::filesystem;

const char* const kFashionMnistHint =
    "Get the data: install the Debian package dataset-fashion-mnist (scripts/install-deps.sh --with-data) "
    "or download from github.com/zalandoresearch/fashion-mnist";
const char* const kMnistHint =
    "Get the data: the MNIST idx files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from yann.lecun.com/exdb/mnist or a mirror";
const char* const kCifar10Hint =
    "Get the data: the CIFAR-10 binary version (cifar-10-binary.tar.gz, unpacked: "
    "cifar-10-batches-bin/data_batch_1..5.bin, test_batch.bin) from https://www.cs.toronto.edu/~kriz/cifar.html";
const char* const kCifar100Hint =
    "Get the data: the CIFAR-100 binary version (cifar-100-binary.tar.gz, unpacked: "
    "cifar-100-binary/train.bin, test.bin) from https://www.cs.toronto.edu/~kriz/cifar.html";
const char* const kFolderHint =
    "Expected layout: <dir>/<class name>/.../<image> with one subfolder per class and PNG or JPEG images";

const char* idx_hint(const std::string& name) {
    if (name == "fashion-mnist") return kFashionMnistHint;
    if (name == "mnist") return kMnistHint;
    return "Expected idx files as distributed at yann.lecun.com/exdb/mnist (idx3 images, idx1 labels)";
}

bool is_file(const std::string& path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec);
}

bool is_dir(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(path, ec);
}

std::string join(const std::string& dir, const std::string& name) {
    if (dir.empty() || dir.back() == '/') return dir + name;
    return dir + "/" + name;
}

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", v);
    return buf;
}

bool is_gzip_file(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    unsigned char m[2] = {0, 0};
    const size_t got = std::fread(m, 1, 2, f);
    std::fclose(f);
    return got == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
struct GzCloser {
    void operator()(gzFile_s* g) const { gzclose(g); }
};

std::string open_problem(const std::string& path, int err) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return "file not found";
    if (fs::is_directory(path, ec)) return "is a directory, expected a file";
    return str("cannot open (", std::strerror(err), ")");
}

void read_gzip(const std::string& path, const std::string& hint, size_t compressed_size, size_t max_bytes,
               std::vector<uint8_t>& out) {
    std::unique_ptr<gzFile_s, GzCloser> g(gzopen(path.c_str(), "rb"));
    LRP_DATA_CHECK(g != nullptr, path, hint, "cannot open gzip file (", std::strerror(errno), ")");
    gzbuffer(g.get(), 1 << 17);
    out.clear();
    out.reserve(std::min(max_bytes, compressed_size * 2 + 4096));
    size_t used = 0;
    while (used < max_bytes) {  // at max_bytes: stop (what a gzip bomb inflates to is never held)
        const unsigned chunk = static_cast<unsigned>(std::min<size_t>(size_t{1} << 20, max_bytes - used));
        if (out.size() < used + chunk) out.resize(used + chunk);
        int n = gzread(g.get(), out.data() + used, chunk);
        if (n <= 0) {
            int errnum = Z_OK;
            const char* msg = gzerror(g.get(), &errnum);
            out.resize(used);
            if (n == 0 && errnum == Z_OK) break;
            if (errnum == Z_BUF_ERROR)
                LRP_DATA_THROW(path, hint, "truncated gzip stream (", msg, ") after ", used, " decompressed bytes");
            LRP_DATA_THROW(path, hint, "corrupt gzip stream (", msg ? msg : "unknown zlib error", ")");
        }
        used += static_cast<size_t>(n);
    }
    out.resize(used);
    if (used == max_bytes) return;
    // A truncated stream can also surface as a short read without an error on the last call.
    int errnum = Z_OK;
    const char* msg = gzerror(g.get(), &errnum);
    LRP_DATA_CHECK(errnum == Z_OK, path, hint, "truncated or corrupt gzip stream (", msg, ")");
    out.shrink_to_fit();
}

}  // namespace

FileBytes read_file(const std::string& path, const std::string& hint, size_t max_bytes) {
    FileBytes r;
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    const int open_errno = errno;
    if (!f || is_dir(path)) LRP_DATA_THROW(path, hint, open_problem(path, open_errno));
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    LRP_DATA_CHECK(!ec, path, hint, "cannot get the file size (", ec.message(), ")");
    unsigned char magic[2] = {0, 0};
    size_t got = std::fread(magic, 1, 2, f.get());
    r.gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    try {
        if (r.gzip) {
            f.reset();
            read_gzip(path, hint, static_cast<size_t>(size), max_bytes, r.bytes);
            return r;
        }
        r.bytes.resize(std::min(static_cast<size_t>(size), max_bytes));
    } catch (const std::bad_alloc&) {
        LRP_DATA_THROW(path, hint, "not enough memory to read the file (", size, " bytes",
                       r.gzip ? " compressed" : "", ")");
    }
    const size_t head = std::min(got, r.bytes.size());
    if (head > 0) std::memcpy(r.bytes.data(), magic, head);
    size_t total = head;
    while (total < r.bytes.size()) {
        size_t n = std::fread(r.bytes.data() + total, 1, r.bytes.size() - total, f.get());
        if (n == 0) break;
        total += n;
    }
    LRP_DATA_CHECK(!std::ferror(f.get()), path, hint, "read error (", std::strerror(errno), ")");
    r.bytes.resize(total);  // a file that shrank while being read is judged by what was read
    return r;
}

}  // namespace lrp::data::detail
