// Durable, atomic file writes (POSIX): a temporary file next to the target (a unique name, created
// exclusively), every write, the fsync and the close checked, a rename over the target, then an fsync of
// its folder. On any failure the temporary file is removed and the target keeps its old contents.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace lrp {

// Writes to an open file; short writes are continued, errors thrown naming the file and `what`.
class FileSink {
public:
    FileSink(int fd, std::string path, std::string what) : fd_(fd), path_(std::move(path)), what_(std::move(what)) {}
    void write(const void* data, size_t n);
    void write(const std::string& s) { write(s.data(), s.size()); }

private:
    int fd_;
    std::string path_, what_;
};

// Replaces `path` with what `fill` writes, keeping its permissions; a symbolic link's file is replaced (the link
// itself only when that file's folder takes no temporary file). `what` (e.g. "save_safetensors") starts every error
// message.
// durable = false leaves out the fsyncs (file and folder): still atomic and every write checked, for outputs that
// are cheap to make again and many (heatmap PNGs), where an fsync each would cost more than the writing.
void write_file_atomic(const std::string& path, const std::function<void(FileSink&)>& fill, const std::string& what,
                       bool durable = true);

// Appends `bytes` to `path` (created when missing, through a link too) and makes them durable before returning; a
// failed write is cut back, so the file keeps what it held.
void append_file_durable(const std::string& path, const std::string& bytes, const std::string& what);

// True for a temporary file write_file_atomic leaves behind for `target` when killed mid-write (file names,
// not paths: "<target>.tmp.<pid>.<n>").
bool is_atomic_temp_of(const std::string& file_name, const std::string& target);

// fsync of the folder holding `path`, so a rename or creation in it survives a crash (best effort: some
// filesystems refuse fsync on a folder).
void sync_parent_dir(const std::string& path);

}  // namespace lrp
