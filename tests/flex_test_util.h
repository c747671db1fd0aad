// Shared by the LRP-Flex tests: a small ResNet (every leaf kind a ResNet has) and a small BN-free VGG, random
// parameters and BN statistics, a double-precision dot product, and the LRP composite LRP-Flex equals.
#pragma once
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "lrp/lrp/composite.h"
#include "lrp/lrp/rules.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/residual.h"
#include "lrp/nn/sequential.h"
#include "lrp_test_util.h"

namespace lrp::test {

// conv(bias)-BN-ReLU-maxpool, a strided BasicBlock (projection), an identity BasicBlock, global average
// pool, flatten, linear: every leaf kind a ResNet has.
inline std::unique_ptr<nn::Sequential> small_resnet() {
    auto m = std::make_unique<nn::Sequential>("ResNet");
    m->emplace<nn::Conv2d>("conv1", 2, 4, 3, 1, 1, true);
    m->emplace<nn::BatchNorm2d>("bn1", 4);
    m->emplace<nn::ReLU>("relu");
    m->emplace<nn::MaxPool2d>("maxpool", 2);
    m->emplace<nn::BasicBlock>("block1", 4, 6, 2);
    m->emplace<nn::BasicBlock>("block2", 6, 6, 1);
    m->emplace<nn::AdaptiveAvgPool2d>("avgpool", 1, 1);
    m->emplace<nn::Flatten>("flatten");
    m->emplace<nn::Linear>("fc", 6, 5, true);
    return m;
}

// conv-ReLU-avgpool-conv-ReLU-maxpool-flatten-linear-ReLU-dropout-linear: no BN, so train mode is exact.
inline std::unique_ptr<nn::Sequential> small_vgg() {
    auto m = std::make_unique<nn::Sequential>("VGG");
    m->emplace<nn::Conv2d>("0", 2, 4, 3, 1, 1, true);
    m->emplace<nn::ReLU>("1");
    m->emplace<nn::AvgPool2d>("2", 2);
    m->emplace<nn::Conv2d>("3", 4, 5, 3, 1, 1, true);
    m->emplace<nn::ReLU>("4");
    m->emplace<nn::MaxPool2d>("5", 2);
    m->emplace<nn::Flatten>("6");
    m->emplace<nn::Linear>("7", 5 * 2 * 2, 7, true);
    m->emplace<nn::ReLU>("8");
    m->emplace<nn::Dropout>("9", 0.f);
    m->emplace<nn::Linear>("10", 7, 3, true);
    return m;
}

// Random parameters (weights scaled by fan-in so activations stay O(1)), BN affine and running statistics.
inline void randomize(nn::Module& m, uint32_t seed) {
    for (auto& [n, p] : m.named_params()) {
        const Shape& s = p->value.shape();
        const bool bn_gamma = n.find("bn") != std::string::npos && n.find("weight") != std::string::npos;
        const bool ds_gamma = n.find("downsample.1.weight") != std::string::npos;
        float a = 0.3f;
        if (s.ndim() >= 2) a = 1.5f / std::sqrt(static_cast<float>(s.numel() / s[0]));
        p->value.copy_from(bn_gamma || ds_gamma ? rand_tensor(s, seed++, 0.5f, 1.5f) : rand_tensor(s, seed++, -a, a));
    }
    for (auto& [n, b] : m.named_buffers()) {
        if (n.find("running_mean") != std::string::npos) b->copy_from(rand_tensor(b->shape(), seed++, -0.2f, 0.2f));
        if (n.find("running_var") != std::string::npos) b->copy_from(rand_tensor(b->shape(), seed++, 0.5f, 1.5f));
    }
}

inline double dot(const Tensor& a, const Tensor& b) {
    std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += double(x[i]) * y[i];
    return s;
}

// The LRP composite that LRP-Flex with epsilon `eps` equals on small_resnet() (isnet-edda.md A.7): epsilon on every
// layer feeding a ReLU, LRP-0 on the output layer and on the layers feeding a residual sum, the sum split with
// stabiliser eps (the ReLU after it), Pass on ReLU, BN folded exactly, gradient routing on max-pool, Norm on the
// average pool; to be used with initial relevance logit x one-hot.
inline explain::Composite flex_equivalent_composite(float eps) {
    explain::Composite c("flex-equivalent");
    c.set_bn_fold(explain::BnFold::Exact).set_residual(explain::ResidualMode::NormSplit, eps);
    c.add(explain::LayerType::AnyLinear, std::make_shared<explain::Epsilon>(eps));
    c.add(explain::LayerType::Activation, std::make_shared<explain::Pass>());
    c.add(explain::LayerType::MaxPool, std::make_shared<explain::Gradient>());
    c.add(explain::LayerType::AvgPool, std::make_shared<explain::Norm>(1e-9f));
    for (const char* n : {"fc", "block1.conv2", "block1.downsample.0", "block2.conv2"})
        c.set_name_rule(n, std::make_shared<explain::Epsilon>(0.f));
    return c;
}

}  // namespace lrp::test
