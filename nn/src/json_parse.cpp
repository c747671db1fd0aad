// Depth-limited JSON parsing of untrusted text, and short renderings of JSON values for messages.
#include "lrp/nn/json_parse.h"

#include "lrp/error.h"

namespace lrp::nn {

namespace {
struct TooDeep {};  // thrown from the parser callback to stop at the first level too many
}  // namespace

nlohmann::json parse_json_limited(const std::string& text, const std::string& what,
                                  const std::function<void(int, const std::string&)>& on_key) {
    using json = nlohmann::json;
    json j;
    try {
        j = json::parse(text, [&](int depth, json::parse_event_t ev, json& v) {
            if ((ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start) &&
                depth >= kMaxJsonDepth) {
                throw TooDeep{};
            }
            if (ev == json::parse_event_t::key && on_key) on_key(depth, v.get<std::string>());
            return true;
        });
    } catch (const TooDeep&) {
        LRP_THROW(what, ": JSON nested more than ", kMaxJsonDepth, " levels deep (a corrupt file?)");
    }
    return j;
}

std::string json_brief(const nlohmann::json& v) {
    if (v.is_primitive()) {
        std::string s = v.dump();
        return s.size() <= 80 ? s : s.substr(0, 77) + "...";
    }
    return std::string("a JSON ") + v.type_name();
}

}  // namespace lrp::nn
