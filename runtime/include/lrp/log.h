// Minimal leveled logging to stderr (LRP_LOG_LEVEL=debug|info|warn|error|off; default warn).
// Used where throwing is wrong (destructors, free paths) and for one-time notices.
#pragma once
#include <string>

#include "lrp/error.h"

namespace lrp {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };
LogLevel log_level();
void set_log_level(LogLevel l);
void log_write(LogLevel l, const std::string& msg);

template <class... A> void log_debug(const A&... a) { if (log_level() <= LogLevel::Debug) log_write(LogLevel::Debug, str(a...)); }
template <class... A> void log_info(const A&... a) { if (log_level() <= LogLevel::Info) log_write(LogLevel::Info, str(a...)); }
template <class... A> void log_warn(const A&... a) { if (log_level() <= LogLevel::Warn) log_write(LogLevel::Warn, str(a...)); }
template <class... A> void log_error(const A&... a) { if (log_level() <= LogLevel::Error) log_write(LogLevel::Error, str(a...)); }

}  // namespace lrp
