// JSON from files lrpcu did not necessarily write (safetensors headers, checkpoint metadata): parsed with
// the nesting depth limited, because nlohmann's dump, copy and comparison recurse once per level.
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace lrp::nn {

constexpr int kMaxJsonDepth = 64;  // lrpcu's own files nest 3 levels deep

// nlohmann::json::parse(text) that throws lrp::Error "<what>: JSON nested more than 64 levels deep" for
// deeper input (before building it). `on_key(depth, key)` sees each object key (depth 1: the top level).
// Syntax errors throw nlohmann::json::parse_error, as json::parse does.
nlohmann::json parse_json_limited(const std::string& text, const std::string& what,
                                  const std::function<void(int, const std::string&)>& on_key = {});

// A JSON value for an error message: scalars as JSON text, others by type ("array", "object"), so a
// message never holds a huge or deeply nested dump.
std::string json_brief(const nlohmann::json& v);

}  // namespace lrp::nn
