// Depth-limited JSON parsing of untrusted text, and short renderings of JSON values for messages.
#include "lrp/nn/json_parse.h"

#include <string>
#include <unordered_set>
#include <vector>

#include "lrp/error.h"

namespace lrp::nn {

namespace {
using json = nlohmann::json;

// A SAX pass that builds nothing: it stops at the first level too deep and at a key repeated within one object.
// Linear in the text (nlohmann's parse callback rescans an object's members each time a child closes, which made a
// header of 40,000 entries take minutes).
class Limits : public nlohmann::json_sax<json> {
public:
    explicit Limits(const std::string& what) : what_(what) {}
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return open(true); }
    bool key(string_t& k) override {
        LRP_CHECK(keys_.back().insert(k).second, what_, ": the key '", k.size() <= 80 ? k : k.substr(0, 77) + "...",
                  "' appears more than once in one JSON object (a reader would keep only one of them)");
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(false); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

private:
    bool open(bool) {  // an array's set stays empty: arrays have no keys
        if (static_cast<int>(keys_.size()) >= kMaxJsonDepth)
            LRP_THROW(what_, ": JSON nested more than ", kMaxJsonDepth, " levels deep (a corrupt file?)");
        keys_.emplace_back();
        return true;
    }
    bool close() {
        keys_.pop_back();
        return true;
    }
    const std::string& what_;
    std::vector<std::unordered_set<std::string>> keys_;
};
}  // namespace

nlohmann::json parse_json_limited(const std::string& text, const std::string& what) {
    Limits limits(what);
    if (!json::sax_parse(text, &limits)) return json::parse(text);  // a syntax error: json::parse names it
    return json::parse(text);
}

std::string json_brief(const nlohmann::json& v) {
    if (v.is_primitive()) {
        std::string s = v.dump();
        return s.size() <= 80 ? s : s.substr(0, 77) + "...";
    }
    return std::string("a JSON ") + v.type_name();
}

}  // namespace lrp::nn
