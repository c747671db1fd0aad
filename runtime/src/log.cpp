// Logging level from LRP_LOG_LEVEL and the stderr sink.
#include "lrp/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lrp {

namespace {
LogLevel level_from_env() {
    const char* e = std::getenv("LRP_LOG_LEVEL");
    if (!e || !*e) return LogLevel::Warn;  // unset, or set empty (LRP_LOG_LEVEL= cmd)
    if (!std::strcmp(e, "debug")) return LogLevel::Debug;
    if (!std::strcmp(e, "info")) return LogLevel::Info;
    if (!std::strcmp(e, "warn")) return LogLevel::Warn;
    if (!std::strcmp(e, "error")) return LogLevel::Error;
    if (!std::strcmp(e, "off")) return LogLevel::Off;
    // A misspelt level is said once (it was ignored without a word); warnings stay on.
    std::fprintf(stderr, "[lrpcu warn] LRP_LOG_LEVEL='%s' is none of debug, info, warn, error, off; using warn\n", e);
    return LogLevel::Warn;
}
std::atomic<int>& level_ref() {
    static std::atomic<int> l{static_cast<int>(level_from_env())};
    return l;
}
}  // namespace

LogLevel log_level() { return static_cast<LogLevel>(level_ref().load()); }
void set_log_level(LogLevel l) { level_ref().store(static_cast<int>(l)); }

void log_write(LogLevel l, const std::string& msg) {
    static const char* names[] = {"debug", "info", "warn", "error", "off"};
    std::fprintf(stderr, "[lrpcu %s] %s\n", names[static_cast<int>(l)], msg.c_str());
}

}  // namespace lrp
