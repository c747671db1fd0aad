// lrp::Error, the one exception type of lrpcu, and the checking macros. Messages read
// "file:line: <failed expression>: <detail>" so a failure names where and what.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lrp {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what, std::string detail = {})
        : std::runtime_error(what), detail_(detail.empty() ? what : std::move(detail)) {}
    // The message without "file:line: expr: " (for a user-facing note that quotes the reason); what() when none.
    const std::string& detail() const { return detail_; }

private:
    std::string detail_;
};

// Builds "file:line: expr: detail" ("file:line: detail" for an empty expr) and throws lrp::Error.
[[noreturn]] void throw_error(const char* file, int line, const char* expr, const std::string& detail);

// Concatenates anything streamable into a string: lrp::str("shape ", s, " vs ", t).
template <class... Args>
std::string str(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}

}  // namespace lrp

// Precondition check: LRP_CHECK(a.numel() == b.numel(), "add: sizes ", a.numel(), " vs ", b.numel());
#define LRP_CHECK(cond, ...)                                                          \
    do {                                                                              \
        if (!(cond)) ::lrp::throw_error(__FILE__, __LINE__, #cond, ::lrp::str(__VA_ARGS__)); \
    } while (0)

// Unconditional failure with a message ("file:line: message").
#define LRP_THROW(...) ::lrp::throw_error(__FILE__, __LINE__, "", ::lrp::str(__VA_ARGS__))
