// Residual blocks of torchvision's ResNet: BasicBlock (two 3x3 convs) and Bottleneck (1x1, 3x3 with
// the stride, 1x1 expanding by 4), each with an optional projection shortcut "downsample" (1x1 conv +
// BN) and a ReLU after the sum. The sum's relevance is copied or split as the RelevancePolicy says.
#pragma once
#include <memory>

#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/sequential.h"

namespace lrp::nn {

class ResidualBlock : public Module {
public:
    Tensor forward(const Tensor& x) override;
    Tensor backward(const Tensor& dy, bool accumulate_param_grads = true) override;
    Tensor relevance(const Tensor& r, RelevancePolicy& policy) override;
    // The adjoint of a pass that copied the sum's relevance (the split's adjoint is not implemented).
    Tensor relevance_adjoint(const Tensor& h, RelevanceAdjoint& adj) override;
    bool nonneg_output(bool input_nonneg, std::unordered_set<const Module*>& nonneg_inputs) const override;
    void clear_saved() override;
    bool has_downsample() const { return downsample_ != nullptr; }

protected:
    // Builds the block from `main` (the residual branch, ending before the sum) and an optional
    // projection; names are registered by the derived constructor via the member references.
    void finish(std::unique_ptr<Sequential> main, std::unique_ptr<Sequential> downsample);
    std::unique_ptr<Sequential> main_;        // children are registered individually (conv1, bn1, ...)
    std::unique_ptr<Sequential> downsample_;  // registered as "downsample"
    ReLU relu_out_;                           // ReLU after the sum, registered as "relu_out"

private:
    Tensor main_out_, short_out_;
    bool last_split_ = false;  // whether the last relevance() split the sum's relevance
};

class BasicBlock : public ResidualBlock {
public:
    static constexpr int kExpansion = 1;
    BasicBlock(int in_planes, int planes, int stride = 1);
    const char* type() const override { return "BasicBlock"; }
};

class Bottleneck : public ResidualBlock {
public:
    static constexpr int kExpansion = 4;
    Bottleneck(int in_planes, int planes, int stride = 1);
    const char* type() const override { return "Bottleneck"; }
};

}  // namespace lrp::nn
