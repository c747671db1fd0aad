// UTF-8 checks for text lrpcu records in JSON (class names from folder names, paths in config.json): nlohmann's dump
// throws on invalid UTF-8, so such text is refused where it enters, naming it.
#pragma once
#include <string>

namespace lrp {

// Whether s is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(const std::string& s);
// s for a message: printable ASCII and valid UTF-8 kept, every other byte as \xNN.
std::string escaped_bytes(const std::string& s);

}  // namespace lrp
