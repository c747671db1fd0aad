// Model builders: ResNet-18/34/50 and VGG-11/13/16/19 (with or without BatchNorm), each in the CIFAR
// form (ResNet: 3x3 stem, no max-pool; VGG: one Linear classifier) or torchvision's ImageNet form.
// Parameter and buffer names follow torchvision's state_dict keys. Weight initialisation as
// torchvision does it (or PyTorch's per-layer defaults), drawn from a Philox generator.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "lrp/generator.h"
#include "lrp/nn/sequential.h"

namespace lrp::nn {

constexpr int kMaxBaseWidth = 4096;  // 64 x torchvision's 64

struct ModelSpec {
    std::string arch = "resnet18";  // resnet18|34|50, vgg11|13|16|19, vgg*_bn; suffix "_imagenet" for that form
    int num_classes = 10;
    int in_channels = 3;
    int image_size = 32;   // input height (VGG CIFAR form drops pools that would go below 1x1)
    int image_width = 0;   // input width when it differs (0: = image_size); VGG's CIFAR form needs square inputs
    int base_width = 64;  // channels of the first stage (narrow models for tests: 8, 16); <= kMaxBaseWidth
};

// Parses and validates the spec; throws naming the unknown architecture and listing the known ones.
std::unique_ptr<Sequential> make_model(const ModelSpec& spec);
std::vector<std::string> known_archs();
// Throws naming `arch` and listing the known ones when it is not one of them.
void check_known_arch(const std::string& arch);

// "torchvision": kaiming-normal (fan_out, relu) convs, BN 1/0, Linear as torchvision's ResNet/VGG;
// "pytorch-default": each layer's reset_parameters(). Runs on the model's device.
void init_weights(Module& model, Generator& g, const std::string& scheme = "torchvision");

// Number of trainable scalars.
int64_t count_params(Module& model);

}  // namespace lrp::nn
