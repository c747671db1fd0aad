// The run directory (internal to lrp_trainers): its lock, and its text files (durable atomic rewrites, metrics
// rows appended durably, truncated on resume, or set aside when no checkpoint goes with them).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace lrp::train {

// One lrpcu run at a time per --out: an flock on <out>/.lock, held while this lives (the kernel drops it when
// the process ends, however it ends); a second run is refused naming the folder. Where the filesystem has no
// locks, a warning. Taking it removes the temporary files a run killed mid-write left in <out>.
// created: the outermost folder this run made for <out> (empty: <out> existed). When the run fails (an exception
// leaves the scope) before writing anything there, the lock file and the folders it made go again, so that a
// mistyped flag or missing data leaves no empty run folder behind.
class RunDirLock {
public:
    explicit RunDirLock(const std::filesystem::path& out, const std::filesystem::path& created = {});
    ~RunDirLock();
    RunDirLock(const RunDirLock&) = delete;
    RunDirLock& operator=(const RunDirLock&) = delete;

private:
    void remove_if_empty() noexcept;

    int fd_ = -1;
    std::filesystem::path out_, created_;
    int exceptions_ = 0;  // std::uncaught_exceptions() when taken
};

// The outermost folder of `out` (itself or an ancestor) that does not exist yet; empty when `out` exists.
std::filesystem::path first_missing_folder(const std::filesystem::path& out);

// Replaces a text file durably through a temporary file and a rename: the old contents survive any failure.
void write_text_atomic(const std::filesystem::path& p, const std::string& text);
// On --resume from a checkpoint after `epoch` (global `step`): metrics.jsonl keeps the rows of epochs <= epoch; when
// it held more (rows of later epochs, lines that are no rows) a copy of the file as it was goes to
// metrics.jsonl.earlier[-N] first, except for what a stop between a row and its checkpoint leaves (the next epoch's
// row, a torn last line), which is dropped with a note. model.safetensors and model_best_val.safetensors of later steps (or of unknown steps, when later rows
// were there) move aside too: nothing of what went further is lost, and nothing stale passes for the run's.
// (moved: move_aside_other_settings ran first; the files it moved are not missed.)
void set_aside_later_results(const std::filesystem::path& out, int64_t epoch, int64_t step, bool moved = false);
// Rows in <out>/metrics.jsonl without a checkpoint (an attempt that crashed before its first checkpoint, or
// a run whose checkpoint was removed) describe other weights: they move to metrics.jsonl.earlier[-N]. So does a
// config.json of other settings than `config` (the text this run is about to write there; where and how it runs,
// --out, --device, logging and stops, aside).
void set_aside_metrics(const std::filesystem::path& out, const std::string& config);
// The config.json part of that.
void set_aside_config(const std::filesystem::path& out, const std::string& config);
// A copy of <out>/<name> as <out>/<name>.earlier[-N] (written durably), with a warning saying why; the file stays.
void copy_aside(const std::filesystem::path& out, const std::string& name, const std::string& why);
// On --resume when <out>/config.json holds other settings than the checkpoint: edited by hand, or the checkpoint is
// another run's (copied in). Either way metrics.jsonl and the exported weights cannot be told to be the checkpoint's
// run: they move aside (<name>.earlier[-N]), so none is continued, mixed or reported as this run's; a copy of
// config.json stays.
void move_aside_other_settings(const std::filesystem::path& out);
// Appends one line durably (fsync), checked (a full disk is an error, not a lost metrics row).
void append_line(const std::filesystem::path& p, const std::string& line);

}  // namespace lrp::train
