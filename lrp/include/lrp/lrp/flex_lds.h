// LRP deep supervision (isnet-edda.md A.1, LDS): relevance maps at hidden layers of an LRP-Flex pass (ResNet stage
// outputs, as the authors' LRPFlexStoreActivations picks them; VGG max-pool outputs, as isnet-edda.md A.1 lists them)
// and what a loss on them adds to the pass's adjoint, so that ISNet's heatmap loss can train on them as on the input.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "lrp/lrp/flex.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/pooling.h"

namespace lrp::explain {

// What losses on hidden maps add to one adjoint: terms for FlexPass::adjoint(), and gradients of the activations,
// left pending at their ReLUs by apply_pending() once that adjoint ran (a ReLU's backward consumes them).
struct FlexTerms {
    std::vector<FlexPass::Injection> injections;
    std::vector<std::pair<nn::ReLU*, Tensor>> pending;
    void apply_pending() const;
};

class FlexHidden {
public:
    struct Point {
        std::string name;               // "layer1" (a ResNet stage) or the max-pool's name ("features.2")
        const nn::Module* at = nullptr;  // the leaf whose output is mapped: the stage's last ReLU, or the max-pool
        nn::ReLU* relu = nullptr;        // the ReLU whose output is the map's activation (or feeds the max-pool)
        nn::MaxPool2d* pool = nullptr;   // set for a map after a max-pool
    };

    // The supervised points of a model: with top-level children layer1, layer2, ... (ResNet), each stage's output
    // (its last ReLU); otherwise each MaxPool2d right after a ReLU (VGG's features). Throws, naming the model, if
    // there are none (unless !required: then none). With `names` (full dotted module names, the authors' `layers`):
    // the output of each named module, whose last leaf must be a ReLU or a MaxPool2d right after a ReLU; each an
    // error naming it otherwise. `context` opens every message (what asked for the points: a flag, a feature).
    static std::vector<Point> find(nn::Module& model, const std::vector<std::string>& names = {},
                                   const std::string& context = "LRP deep supervision", bool required = true);

    explicit FlexHidden(nn::Module& model, const std::vector<std::string>& names = {},
                        const std::string& context = "LRP deep supervision", bool required = true)
        : points_(find(model, names, context, required)), context_(context) {}
    const std::vector<Point>& points() const { return points_; }

    // After a forward of the model: throws, naming it, for a point whose output is not a feature map [N, C, h, w] (a
    // ReLU after the flatten), as map() would (a check before the work that needs the maps).
    void check_feature_maps() const;

    // After pass.gradient() over the model's last forward: the relevance at point i, G * a, with a the layer's
    // output and G the pass's gradient there ([N, C, h, w]). With `act`, a is handed back for add_terms().
    Tensor map(const FlexPass& pass, size_t i, Tensor* act = nullptr) const;
    // Given dmap = dL/d(map i) (before pass.adjoint()): adds to `terms` dL/dG = dmap * a at the point's leaf and
    // dL/da = dmap * G (through the max-pool's routing for a pooled point) pending at its ReLU. `act`: the a that
    // map() handed back for this forward (saves recomputing it); undefined, it is formed again.
    void add_terms(const FlexPass& pass, size_t i, const Tensor& dmap, FlexTerms& terms, const Tensor& act = Tensor()) const;

private:
    Tensor activation(size_t i) const;
    std::vector<Point> points_;
    std::string context_;
};

}  // namespace lrp::explain
