// Weight initialisation: torchvision's scheme for ResNet/VGG and PyTorch's per-layer defaults.
#include <cmath>

#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/models.h"
#include "lrp/ops/elementwise.h"

namespace lrp::nn {

namespace {
// PyTorch's reset_parameters for Conv2d/Linear: kaiming_uniform(a = sqrt(5)) gives bound 1/sqrt(fan_in)
// for the weight; the bias is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void pytorch_default(AffineLayer& l, Generator& g) {
    const Tensor& w = l.weight.value;
    const int64_t fan_in = w.numel() / w.dim(0);
    const float bound = 1.f / std::sqrt(static_cast<float>(fan_in));
    ops::uniform(w, g, -bound, bound);
    if (l.has_bias()) ops::uniform(l.bias.value, g, -bound, bound);
}
}  // namespace

void init_weights(Module& model, Generator& g, const std::string& scheme) {
    LRP_CHECK(scheme == "torchvision" || scheme == "pytorch-default", "unknown init scheme '", scheme,
              "' (expected torchvision or pytorch-default)");
    const bool is_vgg = std::string(model.type()) == "VGG";
    for (Module* m : model.leaves()) {
        if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) {
            ops::fill(bn->weight.value, 1.f);
            ops::fill(bn->bias.value, 0.f);
            continue;
        }
        auto* l = dynamic_cast<AffineLayer*>(m);
        if (!l) continue;
        if (scheme == "pytorch-default") {
            pytorch_default(*l, g);
        } else if (dynamic_cast<Conv2d*>(l)) {
            // kaiming_normal_(mode="fan_out", nonlinearity="relu"): std = sqrt(2 / (K * R * S))
            const Tensor& w = l->weight.value;
            const int64_t fan_out = w.dim(0) * w.dim(2) * w.dim(3);
            ops::normal(w, g, 0.f, std::sqrt(2.f / static_cast<float>(fan_out)));
            if (l->has_bias()) ops::fill(l->bias.value, 0.f);
        } else if (is_vgg) {
            ops::normal(l->weight.value, g, 0.f, 0.01f);  // torchvision VGG: N(0, 0.01), bias 0
            if (l->has_bias()) ops::fill(l->bias.value, 0.f);
        } else {
            pytorch_default(*l, g);  // torchvision ResNet keeps Linear's default
        }
    }
}

}  // namespace lrp::nn
