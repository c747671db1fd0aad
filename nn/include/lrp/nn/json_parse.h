// JSON from files lrpcu did not necessarily write (safetensors headers, checkpoint metadata): parsed with
// the nesting depth limited, because nlohmann's dump, copy and comparison recurse once per level.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace lrp::nn {

constexpr int kMaxJsonDepth = 64;  // lrpcu's own files nest 3 levels deep

// nlohmann::json::parse(text) that throws lrp::Error "<what>: JSON nested more than 64 levels deep" for deeper
// input, and one naming a key that appears twice in one object (nlohmann would keep the last), before building
// anything; linear in the text. Syntax errors throw nlohmann::json::parse_error, as json::parse does.
nlohmann::json parse_json_limited(const std::string& text, const std::string& what);

// A JSON value for an error message: scalars as JSON text, others by type ("array", "object"), so a
// message never holds a huge or deeply nested dump.
std::string json_brief(const nlohmann::json& v);

}  // namespace lrp::nn
