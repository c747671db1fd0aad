// LRP deep supervision's hidden maps of an LRP-Flex pass (ResNet stage outputs, VGG max-pool outputs) and their
// terms in the pass's adjoint (isnet-edda.md A.1).
#include "lrp/lrp/flex_lds.h"

#include <cctype>

#include "lrp/ops/elementwise.h"

namespace lrp::explain {
namespace {

nn::Module* named(nn::Module& m, const std::string& name) {
    if (m.name() == name) return &m;
    for (nn::Module* c : m.children())
        if (nn::Module* f = named(*c, name)) return f;
    return nullptr;
}

bool is_stage(const std::string& n) {
    if (n.size() <= 5 || n.compare(0, 5, "layer") != 0) return false;
    for (size_t i = 5; i < n.size(); ++i)
        if (!std::isdigit(static_cast<unsigned char>(n[i]))) return false;
    return true;
}

}  // namespace

void FlexTerms::apply_pending() const {
    for (const auto& [relu, da] : pending) relu->add_output_grad(da);
}

std::vector<FlexHidden::Point> FlexHidden::find(nn::Module& model, const std::vector<std::string>& names,
                                                const std::string& context, bool required) {
    std::vector<Point> pts;
    if (!names.empty()) {
        const std::vector<nn::Module*> leaves = model.leaves();
        for (const std::string& n : names) {
            nn::Module* m = n.empty() ? nullptr : named(model, n);
            LRP_CHECK(m, context, ": the model has no module named '", n, "' (dotted module names, e.g. ",
                      "layer1, layer1.0, layer1.0.relu_out, features.4)");
            nn::Module* last = m->is_leaf() ? m : m->leaves().back();
            Point p{n, last, dynamic_cast<nn::ReLU*>(last), nullptr};
            // A max-pool's ReLU is the leaf just before it, which feeds it in every model nn/ builds (a custom model
            // with an unconnected ReLU there is caught by the shape check of activation() at best).
            if (auto* pool = dynamic_cast<nn::MaxPool2d*>(last)) {
                size_t i = 0;
                while (i < leaves.size() && leaves[i] != last) ++i;
                p.pool = pool;
                p.relu = i > 0 && i < leaves.size() ? dynamic_cast<nn::ReLU*>(leaves[i - 1]) : nullptr;
            }
            LRP_CHECK(p.relu, context, ": '", n, "' (", m->type(), ") ends in ", last->type(), " '",
                      last->name(), "', not in a ReLU or in a max-pool right after a ReLU: its output has no LRP-Flex map");
            for (const Point& q : pts)
                LRP_CHECK(q.at != p.at, context, ": '", n, "' and '", q.name, "' are the same point (",
                          last->type(), " '", last->name(), "')");
            pts.push_back(p);
        }
        return pts;
    }
    for (const auto& [name, child] : model.named_children()) {
        if (!is_stage(name)) continue;
        nn::ReLU* last = nullptr;
        for (nn::Module* leaf : child->leaves())
            if (auto* r = dynamic_cast<nn::ReLU*>(leaf)) last = r;
        LRP_CHECK(last, context, ": stage '", name, "' has no ReLU");
        pts.push_back(Point{name, last, last, nullptr});
    }
    if (!pts.empty()) return pts;
    const std::vector<nn::Module*> leaves = model.leaves();
    for (size_t i = 1; i < leaves.size(); ++i) {
        auto* pool = dynamic_cast<nn::MaxPool2d*>(leaves[i]);
        auto* relu = dynamic_cast<nn::ReLU*>(leaves[i - 1]);
        if (pool && relu) pts.push_back(Point{pool->name(), pool, relu, pool});
    }
    LRP_CHECK(!pts.empty() || !required, context, ": ", model.type(), " '", model.name(), "' has neither ResNet stages ",
              "(children layer1, layer2, ...) nor max-pools after a ReLU (VGG) whose outputs it could supervise");
    return pts;
}

Tensor FlexHidden::activation(size_t i) const {
    const Point& p = points_.at(i);
    if (!p.pool) return ops::relu(p.relu->saved_input());
    const Tensor& in = p.pool->saved_input();
    LRP_CHECK(in.shape() == p.relu->saved_input().shape(), context_, ": max-pool '", p.pool->name(), "' saw ",
              in.shape().str(), ", not the output ", p.relu->saved_input().shape().str(), " of ReLU '", p.relu->name(),
              "' before it");
    return p.pool->gather(in);
}

namespace {
void check_feature_map(const std::string& context, const std::string& name, const Shape& s) {
    LRP_CHECK(s.ndim() == 4, context, ": the output of '", name, "' is ", s.str(), ", not a feature map [N, C, H, W] ",
              "(a layer after the flatten has no heatmap); name convolutional layers only");
}
}  // namespace

void FlexHidden::check_feature_maps() const {
    for (const Point& p : points_) check_feature_map(context_, p.name, p.relu->saved_input().shape());
}

Tensor FlexHidden::map(const FlexPass& pass, size_t i, Tensor* act) const {
    const Point& p = points_.at(i);
    const Tensor& g = pass.output_gradient(*p.at);
    check_feature_map(context_, p.name, g.shape());
    Tensor a = activation(i);
    Tensor H = ops::mul(g, a);
    if (act) *act = std::move(a);
    return H;
}

void FlexHidden::add_terms(const FlexPass& pass, size_t i, const Tensor& dmap, FlexTerms& terms, const Tensor& act) const {
    const Point& p = points_.at(i);
    const Tensor& g = pass.output_gradient(*p.at);
    LRP_CHECK(dmap.shape() == g.shape() && dmap.device() == g.device(), context_, ": dL/dmap ", dmap.shape().str(), " on ",
              dmap.device().str(), " for the map at '", p.name, "' of ", g.shape().str(), " on ", g.device().str());
    LRP_CHECK(!act.defined() || (act.shape() == g.shape() && act.device() == g.device()), context_, ": the activation ",
              act.shape().str(), " handed in for the map at '", p.name, "' of ", g.shape().str(), " on ",
              g.device().str());
    terms.injections.push_back(FlexPass::Injection{p.at, ops::mul(dmap, act.defined() ? act : activation(i))});
    const Tensor da = ops::mul(dmap, g);
    terms.pending.emplace_back(p.relu, p.pool ? p.pool->backward(da, false) : da);
}

}  // namespace lrp::explain
