// The run directory: its lock, and its text files (durable atomic rewrites, metrics rows appended durably,
// truncated on resume, or set aside when no checkpoint goes with them) (run_files.h).
#include "run_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "lrp/durable_file.h"
#include "lrp/error.h"
#include "lrp/nn/json_parse.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/trainer.h"
#include "lrp/log.h"

namespace fs = std::filesystem;

namespace lrp::train {

namespace {
// `p` absolute and normal, without a trailing separator.
fs::path absolute_folder(const fs::path& p) {
    fs::path a = fs::absolute(p).lexically_normal();
    return a.has_filename() || !a.has_parent_path() || a == a.root_path() ? a : a.parent_path();
}
[[noreturn]] void throw_in_use(const std::string& out, const std::string& lock) {
    LRP_THROW("--out '", out, "' is in use by another lrpcu run (it holds '", lock, "'); wait for it to finish or ",
              "choose another --out (nothing was touched)");
}
}  // namespace

void check_out_not_in_use(const std::string& out) {
    const std::string path = (fs::path(out) / ".lock").string();
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);  // read-write where it can: NFS locks need it
    if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;  // no lock file: no run there (or an unreadable one, which run_training reports)
    const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    ::close(fd);  // drops the probe's own lock
    if (held) throw_in_use(out, path);
}

RunDirLock::RunDirLock(const fs::path& out, const fs::path& created)
    : out_(absolute_folder(out)), created_(created.empty() ? fs::path() : absolute_folder(created)),
      exceptions_(std::uncaught_exceptions()) {
    const std::string path = (out / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    LRP_CHECK(fd_ >= 0, "--out '", out.string(), "': cannot create its lock file '", path, "': ", std::strerror(errno));
    // A few tries over ~20 ms: check_out_not_in_use's probe holds the lock for an instant (a run is refused only
    // for one that holds it).
    int rc = ::flock(fd_, LOCK_EX | LOCK_NB);
    for (int i = 0; i < 10 && rc != 0 && errno == EWOULDBLOCK; ++i) {
        ::usleep(2000);
        rc = ::flock(fd_, LOCK_EX | LOCK_NB);
    }
    if (rc != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK) {
            ::close(fd_);
            fd_ = -1;
            throw_in_use(out.string(), path);
        }
        log_warn("--out '", out.string(), "': cannot lock '", path, "' (", std::strerror(err), "): a second run on ",
                 "this folder would not be refused");
    }
    // Temporary files of an earlier run killed mid-write (each as large as what it was writing): of the files a run
    // writes, and of the copies it keeps of them (<name>.earlier, <name>.earlier-<n>).
    static const char* const kTargets[] = {"checkpoint.safetensors", "model.safetensors", "model_best_val.safetensors",
                                           "config.json", "metrics.jsonl", "first_batch.png", "first_batch_clean.png",
                                           "first_batch_mask.png"};
    auto run_file = [](const std::string& t) {
        for (const char* k : kTargets) {
            const std::string kept = std::string(k) + ".earlier";
            if (t == k || t == kept || (t.rfind(kept + "-", 0) == 0 && t.size() > kept.size() + 1 &&
                                        t.find_first_not_of("0123456789", kept.size() + 1) == std::string::npos))
                return true;
        }
        return false;
    };
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec)) {
        const std::string name = e.path().filename().string();
        const size_t at = name.rfind(".tmp");
        if (at == std::string::npos || at == 0) continue;
        const std::string t = name.substr(0, name.find(".tmp."));
        const bool temp =
            (name.size() == at + 4 && run_file(name.substr(0, at))) || (run_file(t) && is_atomic_temp_of(name, t));
        std::error_code rm;
        if (temp && fs::remove(e.path(), rm)) log_info("removed '", e.path().string(), "', left by an interrupted write");
    }
}

RunDirLock::~RunDirLock() {
    if (!created_.empty() && std::uncaught_exceptions() > exceptions_) remove_if_empty();
    if (fd_ >= 0) ::close(fd_);  // releases the lock (after the removal: no other run takes it meanwhile)
}

void RunDirLock::remove_if_empty() noexcept {
    // A failed run in folders it made: they go again when the lock file is all they hold. Nothing here may throw
    // (this runs while an exception unwinds).
    try {
        std::error_code ec;
        for (fs::directory_iterator it(out_, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().filename() != ".lock") return;
        if (ec) return;
        // Only out_ and its ancestors up to created_ (an ancestor of out_ or out_ itself); fs::remove takes empty
        // folders only.
        const std::string inside = created_.string() + "/";
        if (out_ != created_ && out_.string().rfind(inside, 0) != 0) return;
        fs::remove(out_ / ".lock", ec);
        for (fs::path p = out_; fs::remove(p, ec) && p != created_; p = p.parent_path()) {
        }
    } catch (...) {
    }
}

fs::path first_missing_folder(const fs::path& out) {
    fs::path missing;
    std::error_code ec;  // a folder that cannot be examined (no permission) ends the walk
    for (fs::path p = absolute_folder(out); !p.empty() && !fs::exists(p, ec) && !ec; p = p.parent_path()) {
        missing = p;
        if (p == p.parent_path()) break;
    }
    return missing;
}

// Replaces a text file durably through a temporary file and a rename: the old contents survive any failure.
void write_text_atomic(const fs::path& p, const std::string& text) {
    write_file_atomic(p.string(), [&](FileSink& f) { f.write(text); }, "writing the run file");
}

// Rows in metrics.jsonl without a checkpoint (an attempt that crashed before its first checkpoint, or a run
// whose checkpoint was removed) describe other weights: they move to metrics.jsonl.earlier[-N], never lost.
namespace {
// <out>/<name> to <out>/<name>.earlier[-N] (the first free name), with a warning saying why.
void move_aside(const fs::path& out, const std::string& name, const std::string& why) {
    const fs::path p = out / name;
    fs::path to = out / (name + ".earlier");
    for (int i = 2; fs::exists(to); ++i) to = out / (name + ".earlier-" + std::to_string(i));
    std::error_code ec;
    fs::rename(p, to, ec);
    LRP_CHECK(!ec, "cannot move the earlier run's '", p.string(), "' to '", to.string(), "': ", ec.message(),
              " (nothing was overwritten)");
    log_warn("'", p.string(), "' ", why, ": moved to '", to.string(), "'");
}
}  // namespace

void copy_aside(const fs::path& out, const std::string& name, const std::string& why) {
    const fs::path p = out / name;
    fs::path to = out / (name + ".earlier");
    for (int i = 2; fs::exists(to); ++i) to = out / (name + ".earlier-" + std::to_string(i));
    std::ifstream in(p, std::ios::binary);
    LRP_CHECK(in.is_open(), "cannot read '", p.string(), "' to keep a copy (", std::strerror(errno), ")");
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LRP_CHECK(!in.bad(), "reading '", p.string(), "' failed; it is left as it was");
    write_text_atomic(to, bytes);
    log_warn("'", p.string(), "' ", why, ": the file as it was is kept as '", to.string(), "'");
}

namespace {
// True for the start of a JSON text cut short (a write torn by a crash): the parser fails only at its end. Rows glued
// on one line, or text that is no JSON, fail earlier.
bool torn_json(const std::string& line) {
    if (line.size() > (1u << 20)) return false;
    try {
        const nlohmann::json parsed = nlohmann::json::parse(line);
        return parsed.is_discarded();  // (never: parsed whole)
    } catch (const nlohmann::json::parse_error& e) {
        return e.byte > line.size();  // the byte after the last: the input ended inside the text
    } catch (const std::exception&) {
    }
    return false;
}
}  // namespace

namespace {
// The global step a weights file records; -1: unreadable metadata (of unknown steps).
int64_t weights_step(const fs::path& w) {
    try {
        return recorded_state(w.string()).global_step;
    } catch (const std::exception&) {
        return -1;
    }
}
}  // namespace

void set_aside_later_results(const fs::path& out, int64_t epoch, int64_t step, bool moved) {
    const fs::path p = out / "metrics.jsonl";
    bool later_rows = false;
    // model.safetensors is exported after a checkpoint: of a later step, it shows that the run went past a later
    // checkpoint (one copied back over since), so the next epoch's row is no crash's leftover.
    const bool exported_later = fs::exists(out / "model.safetensors") && weights_step(out / "model.safetensors") > step;
    if (!fs::exists(p) && epoch > 0 && !moved)
        log_warn("--resume: '", p.string(), "' is gone; the rows of epochs 1-", epoch, " are not in it any more (the ",
                 "run goes on and appends the next)");
    if (fs::exists(p)) {
        std::ifstream in(p);
        LRP_CHECK(in.is_open(), "cannot read '", p.string(), "' to continue it (", std::strerror(errno), ")");
        std::string line, kept;
        int64_t later = 0, unreadable = 0, next_rows = 0, lines = 0, last_torn = -1;
        while (std::getline(in, line)) {
            ++lines;
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            try {
                const nlohmann::json row = nn::parse_json_limited(line, p.string());
                const nlohmann::json e = row.is_object() ? row.value("epoch", nlohmann::json()) : nlohmann::json();
                if (e.is_number_integer() && e.get<int64_t>() <= epoch) kept += line + "\n";
                else if (e.is_number_integer()) ++later, next_rows += e.get<int64_t>() == epoch + 1;
                else ++unreadable;  // JSON, but no metrics row (a note of yours?)
            } catch (const std::exception&) {  // a torn last line from a crash, or a line edited by hand
                ++unreadable;
                if (torn_json(line)) last_torn = lines;
            }
        }
        LRP_CHECK(!in.bad(), "reading '", p.string(), "' failed; it is left as it was");
        in.close();
        later_rows = later > 0;
        // A run stopped between a row and its checkpoint (a crash, a kill) leaves the next epoch's row, or a torn last
        // line (the start of a row, cut): the resumed run writes that row again (the same, bit for bit), so it goes
        // without a copy. Anything else dropped (rows glued on one line, a line of yours) is kept in a copy.
        const bool interrupted = (later == 0 || (later == 1 && next_rows == 1 && !exported_later)) &&
                                 (unreadable == 0 || (unreadable == 1 && last_torn == lines));
        if (later + unreadable > 0 && interrupted) {
            std::printf("note: --resume: metrics.jsonl %s, written before the run stopped and not in its checkpoint; "
                        "it is dropped (the run writes that epoch again)\n",
                        later > 0 ? str("held the row of epoch ", epoch + 1).c_str() : "ended in a torn line");
            write_text_atomic(p, kept);
        } else if (later + unreadable > 0) {  // a copy of the file as it was stays, under another name
            copy_aside(out, "metrics.jsonl",
                       str("held ", later > 0 ? str(later, " row(s) of epochs after the checkpoint's epoch ", epoch) : "",
                           later > 0 && unreadable > 0 ? " and " : "",
                           unreadable > 0 ? str(unreadable, " line(s) that are no metrics row") : "",
                           " (the run goes on from its checkpoint, with the rows up to epoch ", epoch, ")"));
            write_text_atomic(p, kept);
        }
    }
    // Exported weights of steps after the checkpoint's (a checkpoint copied back, or a crash after an export): the
    // run will write its own again.
    for (const char* name : {"model.safetensors", "model_best_val.safetensors"}) {
        const fs::path w = out / name;
        if (!fs::exists(w)) continue;
        const int64_t at = weights_step(w);
        if (at > step || (at < 0 && later_rows))
            move_aside(out, name, at > step ? str("holds the weights of step ", at, ", after the checkpoint's step ", step)
                                            : std::string("holds weights of unknown step, and the run had gone past "
                                                          "its checkpoint"));
    }
}

void move_aside_other_settings(const fs::path& out) {
    for (const char* name : {"metrics.jsonl", "model.safetensors", "model_best_val.safetensors"})
        if (fs::exists(out / name))
            move_aside(out, name, "sits beside a config.json of other settings than the checkpoint's (the checkpoint "
                                  "of another run?): not continued");
    copy_aside(out, "config.json", "holds other settings than the checkpoint records (edited by hand, or the "
                                   "checkpoint is another run's?); a resumed run keeps the checkpoint's (a new --out "
                                   "with --config trains with others)");
}

void set_aside_metrics(const fs::path& out, const std::string& config) {
    const fs::path p = out / "metrics.jsonl";
    std::ifstream m(p);
    std::string line;
    bool rows = false;
    while (!rows && std::getline(m, line)) rows = line.find_first_not_of(" \t\r") != std::string::npos;
    m.close();
    if (rows) move_aside(out, "metrics.jsonl", "held rows of an earlier run without a checkpoint");
    set_aside_config(out, config);
}

void set_aside_config(const fs::path& out, const std::string& config) {
    const fs::path c = out / "config.json";
    std::error_code ec;
    if (!fs::exists(c, ec)) return;
    std::ifstream in(c, std::ios::binary);
    const std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    // The same settings but for where and how the attempt ran (its --out as typed, device, logging, stops) are
    // not worth keeping; anything else (other settings, a file that is no settings JSON) is.
    auto settings = [&](const std::string& text) {
        nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_object())
            for (const char* k : {"out", "device", "log-every", "stop-after-epoch", "stop-after-step", "checkpoint-every"})
                j.erase(k);
        return j;
    };
    const nlohmann::json before = settings(old);
    if (before.is_discarded() || before != settings(config))
        move_aside(out, "config.json", "held other settings (an earlier run's, or a file of yours)");
}

// Appends one line durably, checked (a full disk is an error, not a lost metrics row); on a line of its own when
// the file does not end in a newline (edited by hand), so no two rows share one.
void append_line(const fs::path& p, const std::string& line) {
    bool newline = false;
    {
        std::ifstream in(p, std::ios::binary | std::ios::ate);
        if (in.is_open() && in.tellg() > 0) {
            in.seekg(-1, std::ios::end);
            char last = '\n';
            newline = in.get(last) && last != '\n';
        }
    }
    append_file_durable(p.string(), (newline ? "\n" : "") + line + "\n", "appending to the run file");
}

}  // namespace lrp::train
