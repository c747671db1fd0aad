// The run directory's text files (internal to lrp_trainers): atomic rewrites, metrics rows appended,
// truncated on resume, or set aside when no checkpoint goes with them.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace lrp::train {

// Replaces a text file through a temporary file and a rename: the old contents survive any failure.
void write_text_atomic(const std::filesystem::path& p, const std::string& text);
// Keeps metrics.jsonl rows of epochs <= `epoch` (after a resume, rows of unfinished epochs go).
void truncate_metrics(const std::filesystem::path& p, int64_t epoch);
// Rows in <out>/metrics.jsonl without a checkpoint (an attempt that crashed before its first checkpoint, or
// a run whose checkpoint was removed) describe other weights: they move to metrics.jsonl.earlier[-N].
void set_aside_metrics(const std::filesystem::path& out);
// Appends one line, checked (a full disk is an error, not a lost metrics row).
void append_line(const std::filesystem::path& p, const std::string& line);

}  // namespace lrp::train
