// make_rule: textual rule specs ("epsilon:1e-3", "gamma:0.5:stab=1e-5", "zbox:-1:1") -> rule objects.
// One table row per rule; a new rule adds its row here.
#include <cstdlib>
#include <functional>
#include <optional>
#include <sstream>

#include "lrp/lrp/rules.h"
#include "lrp/parse.h"

namespace lrp::explain {

namespace {
struct Spec {
    std::string name;
    std::vector<float> numbers;
    std::vector<double> exact;  // the numbers in double precision, as zennit (Python) would take them
    Stabilizer stab;
    bool has_stab = false, stab_given = false;
    bool zero_bias = false;
};

float parse_number(const std::string& tok, const std::string& spec) {
    if (const std::optional<float> v = parse_finite_float(tok)) return *v;
    LRP_THROW("rule spec '", spec, "': '", tok,
              "' is not a finite float32 number (options: stab=<eps>, clip, norm_scale, zero_bias)");
}

Spec parse(const std::string& spec) {
    Spec s;
    std::stringstream ss(spec);
    std::string tok;
    std::getline(ss, s.name, ':');
    LRP_CHECK(spec.empty() || spec.back() != ':', "rule spec '", spec, "': an empty last field (a trailing ':')");
    bool clip = false, norm_scale = false;
    while (std::getline(ss, tok, ':')) {
        if (tok.rfind("stab=", 0) == 0) {
            LRP_CHECK(!s.stab_given, "rule spec '", spec, "': stab= is given twice");
            s.stab_given = true;
            s.stab.epsilon = parse_number(tok.substr(5), spec);
            s.has_stab = true;
            // As --stabilizer: 0 would divide a zero denominator by itself (NaN relevance).
            LRP_CHECK(s.stab.epsilon > 0.f, "rule spec '", spec, "': stab must be > 0 (got ", s.stab.epsilon, ")");
        } else if (tok == "clip" || tok == "norm_scale" || tok == "zero_bias") {
            bool& given = tok == "clip" ? clip : tok == "norm_scale" ? norm_scale : s.zero_bias;
            LRP_CHECK(!given, "rule spec '", spec, "': ", tok, " is given twice");
            given = true;
            if (tok == "clip") s.stab.clip = s.has_stab = true;
            if (tok == "norm_scale") s.stab.norm_scale = s.has_stab = true;
        } else {
            s.numbers.push_back(parse_number(tok, spec));
            // (validated above; strtod, unlike stod, reads an underflowing value such as 1e-400 as 0, not an error)
            s.exact.push_back(std::strtod(tok.c_str(), nullptr));
        }
    }
    return s;
}

// The options a rule takes: the stabilizer's (stab=, clip, norm_scale) and zero_bias.
constexpr int kStab = 1, kZeroBias = 2;

struct Entry {
    const char* name;
    const char* usage;
    int max_numbers;
    std::function<RulePtr(const Spec&)> make;
    int options = kStab | kZeroBias;
};

float num(const Spec& s, size_t i, float dflt) { return i < s.numbers.size() ? s.numbers[i] : dflt; }
Stabilizer stab(const Spec& s) { return s.has_stab ? s.stab : Stabilizer(1e-6f); }

const std::vector<Entry>& table() {
    static const std::vector<Entry> t = {
        {"epsilon", "epsilon[:eps]", 1,
         [](const Spec& s) {
             Stabilizer e = stab(s);
             LRP_CHECK(s.numbers.empty() || !s.stab_given, "rule spec epsilon: its epsilon is its stabilizer; give it ",
                       "once, as epsilon:<eps> or epsilon:stab=<eps>");
             if (!s.numbers.empty()) e.epsilon = s.numbers[0];
             LRP_CHECK(e.epsilon >= 0.f, "rule spec epsilon: eps must be >= 0 (got ", e.epsilon, ")");
             return std::make_shared<Epsilon>(e, s.zero_bias);
         }},
        {"zplus", "zplus", 0, [](const Spec& s) { return std::make_shared<ZPlus>(stab(s), s.zero_bias); }},
        {"alpha_beta", "alpha_beta[:alpha[:beta]]", 2,
         [](const Spec& s) {
             const float a = num(s, 0, 2.f);
             // zennit checks alpha - beta == 1 on the values as Python reads them (doubles): 1.3:0.3 passes,
             // 2.5:1.4 (1.1000000000000001) does not.
             if (s.exact.size() == 2) {
                 std::ostringstream d;
                 d.precision(17);
                 d << s.exact[0] - s.exact[1];
                 LRP_CHECK(s.exact[0] - s.exact[1] == 1.0, "rule spec alpha_beta: alpha - beta must equal 1 (got ",
                           d.str(), " in double precision, as zennit checks it; alpha_beta:<alpha> alone takes beta = ",
                           "alpha - 1)");
             }
             return std::make_shared<AlphaBeta>(a, num(s, 1, a - 1.f), stab(s), s.zero_bias);
         }},
        {"gamma", "gamma[:gamma]", 1,
         [](const Spec& s) {
             LRP_CHECK(num(s, 0, 0.25f) >= 0.f, "rule spec gamma: gamma must be >= 0 (got ", num(s, 0, 0.25f), ")");
             return std::make_shared<Gamma>(num(s, 0, 0.25f), stab(s), s.zero_bias);
         }},
        {"zbox", "zbox:low:high", 2,
         [](const Spec& s) -> RulePtr {
             LRP_CHECK(s.numbers.size() == 2, "rule spec zbox needs low and high: zbox:<low>:<high>");
             LRP_CHECK(s.numbers[0] <= s.numbers[1], "rule spec zbox: low ", s.numbers[0], " is above high ",
                       s.numbers[1], " (zbox:<low>:<high>)");
             return std::make_shared<ZBox>(s.numbers[0], s.numbers[1], stab(s), s.zero_bias);
         }},
        {"wsquare", "wsquare", 0, [](const Spec& s) { return std::make_shared<WSquare>(stab(s), s.zero_bias); }},
        {"flat", "flat", 0, [](const Spec& s) { return std::make_shared<Flat>(stab(s)); }},  // zero_bias: Flat's own
        {"norm", "norm", 0, [](const Spec& s) { return std::make_shared<Norm>(stab(s)); }, kStab},
        {"pass", "pass", 0, [](const Spec&) { return std::make_shared<Pass>(); }, 0},
        {"gradient", "gradient", 0, [](const Spec&) { return std::make_shared<Gradient>(); }, 0},
        {"relu_deconvnet", "relu_deconvnet", 0, [](const Spec&) { return std::make_shared<ReLUDeconvNet>(); }, 0},
        {"relu_guided_backprop", "relu_guided_backprop", 0,
         [](const Spec&) { return std::make_shared<ReLUGuidedBackprop>(); }, 0},
        {"relu_beta_smooth", "relu_beta_smooth[:beta]", 1,
         [](const Spec& s) { return std::make_shared<ReLUBetaSmooth>(num(s, 0, 10.f)); }, 0},
    };
    return t;
}
}  // namespace

std::vector<std::string> known_rules() {
    std::vector<std::string> out;
    for (const Entry& e : table()) out.push_back(e.usage);
    return out;
}

RulePtr make_rule(const std::string& spec) {
    const Spec s = parse(spec);
    for (const Entry& e : table()) {
        if (s.name != e.name) continue;
        LRP_CHECK(static_cast<int>(s.numbers.size()) <= e.max_numbers, "rule spec '", spec, "': too many numbers (",
                  e.usage, ")");
        LRP_CHECK(!s.has_stab || (e.options & kStab), "rule spec '", spec, "': ", e.name,
                  " has no stabilizer (stab=, clip and norm_scale do not apply)");
        LRP_CHECK(!s.zero_bias || (e.options & kZeroBias), "rule spec '", spec, "': ", e.name,
                  " takes no zero_bias (it uses no bias)");
        return e.make(s);
    }
    std::string list;
    for (const std::string& k : known_rules()) list += (list.empty() ? "" : ", ") + k;
    LRP_THROW("unknown rule '", s.name, "' in '", spec, "'; known: ", list,
              " (options: stab=<eps>, clip, norm_scale, zero_bias)");
}

std::pair<std::string, RulePtr> parse_rule_assignment(const std::string& arg, const std::string& what) {
    const size_t eq = arg.find('=');
    LRP_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < arg.size(), what, ": '", arg,
              "' is not KEY=RULE (e.g. conv=gamma:0.25, layer1.0.conv1=epsilon:0.01)");
    try {
        return {arg.substr(0, eq), make_rule(arg.substr(eq + 1))};
    } catch (const Error& e) {  // the spec's own error, told for the flag that gave it
        LRP_THROW(what, " '", arg, "': ", e.what());
    }
}

}  // namespace lrp::explain
