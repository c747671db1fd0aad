// The run directory's text files: atomic rewrites, metrics rows appended, truncated on resume, or set
// aside when no checkpoint goes with them (run_files.h).
#include "run_files.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "lrp/error.h"
#include "lrp/nn/json_parse.h"
#include "lrp/log.h"

namespace fs = std::filesystem;

namespace lrp::train {

// Replaces a text file through a temporary file and a rename: the old contents survive any failure.
void write_text_atomic(const fs::path& p, const std::string& text) {
    const fs::path tmp = p.string() + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << text;
        f.flush();
        LRP_CHECK(f.good(), "cannot write '", tmp.string(), "' (disk full or not writable?); '", p.string(),
                  "' is unchanged");
    }
    std::error_code ec;
    fs::rename(tmp, p, ec);
    LRP_CHECK(!ec, "cannot rename '", tmp.string(), "' to '", p.string(), "': ", ec.message());
}

// Keeps metrics.jsonl rows of epochs <= `epoch` (after a resume, rows of unfinished epochs go).
void truncate_metrics(const fs::path& p, int64_t epoch) {
    if (!fs::exists(p)) return;
    std::ifstream in(p);
    std::string line, kept;
    while (std::getline(in, line)) {
        try {
            const nlohmann::json row = nn::parse_json_limited(line, p.string());
            const nlohmann::json e = row.is_object() ? row.value("epoch", nlohmann::json(0)) : nlohmann::json();
            if (e.is_number_integer() && e.get<int64_t>() <= epoch) kept += line + "\n";
        } catch (const std::exception&) {  // a torn last line from a crash (or a corrupt one): drop it
        }
    }
    in.close();
    write_text_atomic(p, kept);
}

// Rows in metrics.jsonl without a checkpoint (an attempt that crashed before its first checkpoint, or a run
// whose checkpoint was removed) describe other weights: they move to metrics.jsonl.earlier[-N], never lost.
void set_aside_metrics(const fs::path& out) {
    const fs::path p = out / "metrics.jsonl";
    std::ifstream m(p);
    std::string line;
    bool rows = false;
    while (!rows && std::getline(m, line)) rows = line.find_first_not_of(" \t\r") != std::string::npos;
    m.close();
    if (!rows) return;
    fs::path to = out / "metrics.jsonl.earlier";
    for (int i = 2; fs::exists(to); ++i) to = out / ("metrics.jsonl.earlier-" + std::to_string(i));
    std::error_code ec;
    fs::rename(p, to, ec);
    LRP_CHECK(!ec, "cannot move the earlier run's '", p.string(), "' to '", to.string(), "': ", ec.message(),
              " (nothing was overwritten)");
    log_warn("'", p.string(), "' held rows of an earlier run without a checkpoint: moved to '", to.string(), "'");
}

// Appends one line, checked (a full disk is an error, not a lost metrics row).
void append_line(const fs::path& p, const std::string& line) {
    std::ofstream f(p, std::ios::app);
    f << line << "\n";
    f.flush();
    LRP_CHECK(f.good(), "cannot append to '", p.string(), "' (disk full or not writable?)");
}

}  // namespace lrp::train
