// lrp::throw_error: formats the location, the failed expression and the detail into one message.
#include "lrp/error.h"

namespace lrp {

void throw_error(const char* file, int line, const char* expr, const std::string& detail) {
    std::string msg = str(file, ":", line);
    if (*expr) msg += str(": ", expr);  // LRP_THROW has none
    if (!detail.empty()) msg += ": " + detail;
    throw Error(msg, detail);
}

}  // namespace lrp
