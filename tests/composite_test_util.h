// Helpers of the composite tests: a narrow model by name, a leaf by its dotted name, and the name of the rule a
// bound composite gave it ("Gradient (unmatched)" for none).
#pragma once
#include <memory>
#include <stdexcept>
#include <string>

#include "lrp/lrp/composite.h"
#include "lrp/nn/models.h"

namespace lrp::test {

inline std::unique_ptr<nn::Sequential> small_model(const std::string& arch) {
    nn::ModelSpec s;
    s.arch = arch;
    s.base_width = 4;
    s.image_size = 16;
    return nn::make_model(s);
}
inline nn::Module& leaf(nn::Module& m, const std::string& name) {
    for (nn::Module* l : m.leaves())
        if (l->name() == name) return *l;
    throw std::runtime_error("no leaf " + name);
}
inline std::string rule_name(const explain::Composite& c, nn::Module& m, const std::string& name) {
    const explain::Rule* r = c.rule_for(leaf(m, name));
    return r ? r->name() : "Gradient (unmatched)";
}

}  // namespace lrp::test
