// Durable, atomic file writes (durable_file.h): temporary file + fsync + close + rename + folder fsync.
#include "lrp/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "lrp/error.h"

namespace lrp {
namespace {
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    // Closes, checked (a deferred write error of NFS or a quota shows here).
    void close_checked(const std::string& path, const std::string& what) {
        const int f = fd;
        fd = -1;
        LRP_CHECK(::close(f) == 0, what, ": closing '", path, "' failed: ", std::strerror(errno));
    }
};
}  // namespace

void FileSink::write(const void* data, size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd_, p, std::min<size_t>(n, size_t{1} << 30));
        if (w < 0 && errno == EINTR) continue;
        LRP_CHECK(w > 0, what_, ": writing '", path_, "' failed: ", std::strerror(w < 0 ? errno : EIO));
        p += w, n -= static_cast<size_t>(w);
    }
}

void sync_parent_dir(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    Fd d;
    d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d.fd >= 0) (void)::fsync(d.fd);
}

void write_file_atomic(const std::string& target, const std::function<void(FileSink&)>& fill, const std::string& what,
                       bool durable) {
    // A link is followed: its file is replaced (as torch.save and safetensors write through it), not the link.
    std::string path = target;
    struct stat st {};
    if (::lstat(target.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        if (char* real = ::realpath(target.c_str(), nullptr)) {
            path = real;
            std::free(real);
        }
    }
    bool existed = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    static std::atomic<unsigned> counter{0};
    std::string tmp;
    Fd f;
    auto open_temp = [&] {
        for (int attempt = 0; attempt < 100 && f.fd < 0; ++attempt) {
            tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
            f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (f.fd < 0 && errno != EEXIST) break;
        }
    };
    open_temp();
    if (f.fd < 0 && path != target) {  // the link's file sits in a folder we cannot write: replace the link, as before
        path = target;
        existed = false;
        open_temp();
    }
    LRP_CHECK(f.fd >= 0, what, " '", path, "': cannot create temporary file '", tmp, "': ", std::strerror(errno));
    try {
        // The file keeps its permissions (a private 0600 checkpoint stays private).
        LRP_CHECK(!existed || ::fchmod(f.fd, st.st_mode & 07777) == 0, what, ": cannot give '", tmp, "' the mode of '",
                  path, "': ", std::strerror(errno));
        FileSink sink(f.fd, tmp, what);
        fill(sink);
        LRP_CHECK(!durable || ::fsync(f.fd) == 0, what, ": fsync of '", tmp, "' failed: ", std::strerror(errno));
        f.close_checked(tmp, what);
        LRP_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, what, ": cannot rename '", tmp, "' to '", path, "': ",
                  std::strerror(errno));
    } catch (const Error& e) {
        ::unlink(tmp.c_str());
        const std::string unchanged = " ('" + path + "' is unchanged)";
        throw Error(std::string(e.what()) + unchanged, e.detail() + unchanged);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (durable) sync_parent_dir(path);
}

void append_file_durable(const std::string& path, const std::string& bytes, const std::string& what) {
    Fd f;
    f.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);  // through a link, even a dangling one
    LRP_CHECK(f.fd >= 0, what, ": cannot open '", path, "' to append: ", std::strerror(errno));
    struct stat st {};
    LRP_CHECK(::fstat(f.fd, &st) == 0, what, ": cannot stat '", path, "': ", std::strerror(errno));
    const bool created = st.st_size == 0;  // new (or empty): its name is synced below
    try {
        FileSink(f.fd, path, what).write(bytes);
    } catch (const Error& e) {
        // A partial append (a full disk, a file-size limit) is cut off again: the file keeps only whole lines.
        const bool cut = S_ISREG(st.st_mode) && ::ftruncate(f.fd, st.st_size) == 0;
        const std::string tail = cut ? " (the partial append was removed)" : "";
        throw Error(std::string(e.what()) + tail, e.detail() + tail);
    }
    LRP_CHECK(::fsync(f.fd) == 0, what, ": fsync of '", path, "' failed: ", std::strerror(errno));
    f.close_checked(path, what);
    if (created) {  // the new file's name, too, survives a crash: in its own folder (a link's target may be elsewhere)
        char* real = ::realpath(path.c_str(), nullptr);
        sync_parent_dir(real ? std::string(real) : path);
        std::free(real);
    }
}

bool is_atomic_temp_of(const std::string& file_name, const std::string& target) {
    const std::string prefix = target + ".tmp.";
    if (file_name.size() <= prefix.size() || file_name.compare(0, prefix.size(), prefix) != 0) return false;
    const std::string rest = file_name.substr(prefix.size());  // "<pid>.<n>"
    const size_t dot = rest.find('.');
    auto digits = [](const std::string& s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    return dot != std::string::npos && digits(rest.substr(0, dot)) && digits(rest.substr(dot + 1));
}

}  // namespace lrp
