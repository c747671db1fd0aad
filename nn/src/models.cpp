// ResNet and VGG builders (CIFAR and ImageNet forms) with torchvision's module names.
#include "lrp/nn/models.h"

#include <algorithm>

#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/residual.h"

namespace lrp::nn {

namespace {
struct ArchName {
    std::string family;  // "resnet" or "vgg"
    int depth = 0;
    bool bn = false;
    bool imagenet = false;
};

ArchName parse_arch(std::string a) {
    ArchName r;
    auto strip = [&a](const std::string& suffix) {
        if (a.size() > suffix.size() && a.compare(a.size() - suffix.size(), suffix.size(), suffix) == 0) {
            a.resize(a.size() - suffix.size());
            return true;
        }
        return false;
    };
    r.imagenet = strip("_imagenet");
    r.bn = strip("_bn");
    for (const char* fam : {"resnet", "vgg"}) {
        const std::string f = fam;
        if (a.rfind(f, 0) == 0 && a.size() > f.size() &&
            a.find_first_not_of("0123456789", f.size()) == std::string::npos) {
            r.family = f;
            r.depth = std::stoi(a.substr(f.size()));
        }
    }
    return r;
}

std::unique_ptr<Sequential> make_resnet(const ArchName& a, const ModelSpec& s) {
    std::vector<int> blocks;
    bool bottleneck = false;
    if (a.depth == 18) blocks = {2, 2, 2, 2};
    else if (a.depth == 34) blocks = {3, 4, 6, 3};
    else if (a.depth == 50) blocks = {3, 4, 6, 3}, bottleneck = true;
    const int w = s.base_width;
    auto m = std::make_unique<Sequential>("ResNet");
    if (a.imagenet) {
        m->emplace<Conv2d>("conv1", s.in_channels, w, 7, 2, 3, false);
        m->emplace<BatchNorm2d>("bn1", w);
        m->emplace<ReLU>("relu");
        m->emplace<MaxPool2d>("maxpool", 3, 2, 1);
    } else {
        m->emplace<Conv2d>("conv1", s.in_channels, w, 3, 1, 1, false);
        m->emplace<BatchNorm2d>("bn1", w);
        m->emplace<ReLU>("relu");
    }
    const int expansion = bottleneck ? Bottleneck::kExpansion : BasicBlock::kExpansion;
    int in_planes = w;
    for (int stage = 0; stage < 4; ++stage) {
        const int planes = w << stage;
        auto layer = std::make_unique<Sequential>();
        for (int b = 0; b < blocks[stage]; ++b) {
            const int stride = (stage > 0 && b == 0) ? 2 : 1;
            if (bottleneck) layer->emplace<Bottleneck>("", in_planes, planes, stride);
            else layer->emplace<BasicBlock>("", in_planes, planes, stride);
            in_planes = planes * expansion;
        }
        m->add(std::move(layer), "layer" + std::to_string(stage + 1));
    }
    m->emplace<AdaptiveAvgPool2d>("avgpool", 1, 1);
    m->emplace<Flatten>("flatten");
    m->emplace<Linear>("fc", in_planes, s.num_classes);
    return m;
}

std::vector<int> vgg_config(int depth) {
    const int M = 0;  // max-pool marker
    switch (depth) {
        case 11: return {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
        case 13: return {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
        case 16: return {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};
        case 19: return {64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M};
    }
    return {};
}

std::unique_ptr<Sequential> make_vgg(const ArchName& a, const ModelSpec& s) {
    // The CIFAR form flattens the last feature map into its classifier: its input size is the model's.
    LRP_CHECK(a.imagenet || s.image_width == 0 || s.image_width == s.image_size, s.arch, " (CIFAR form) needs ",
              "square inputs, got ", s.image_size, " x ", s.image_width, " (height x width): crop them square (image ",
              "folders: --crop N), or use ", s.arch, "_imagenet (adaptive pooling)");
    if (a.imagenet) {  // torchvision's form keeps all five 2x2 max-pools: each halves the map (rounding down)
        const int h = s.image_size, w = s.image_width > 0 ? s.image_width : s.image_size;
        LRP_CHECK(h >= 32 && w >= 32, s.arch, " needs inputs of at least 32 x 32 (its five max-pools halve them), ",
                  "got ", h, " x ", w, ": resize the images (image folders: --resize 32), or use ",
                  s.arch.substr(0, s.arch.size() - 9), ", the CIFAR form, which leaves out pools below 1 x 1");
    }
    auto m = std::make_unique<Sequential>("VGG");
    auto features = std::make_unique<Sequential>();
    int c_in = s.in_channels, size = s.image_size, c_last = c_in;
    for (int v : vgg_config(a.depth)) {
        if (v == 0) {
            // CIFAR form: a pool that would shrink below 1x1 is left out (e.g. 28x28 Fashion-MNIST).
            if (a.imagenet || size >= 2) {
                features->emplace<MaxPool2d>("", 2, 2);
                size /= 2;
            }
            continue;
        }
        const int c = std::max(1, v * s.base_width / 64);
        features->emplace<Conv2d>("", c_in, c, 3, 1, 1, true);
        if (a.bn) features->emplace<BatchNorm2d>("", c);
        features->emplace<ReLU>("");
        c_in = c_last = c;
    }
    m->add(std::move(features), "features");
    if (a.imagenet) {
        const int hidden = std::max(1, 4096 * s.base_width / 64);
        m->emplace<AdaptiveAvgPool2d>("avgpool", 7, 7);
        m->emplace<Flatten>("flatten");
        auto cls = std::make_unique<Sequential>();
        cls->emplace<Linear>("", c_last * 49, hidden);
        cls->emplace<ReLU>("");
        cls->emplace<Dropout>("", 0.5f);
        cls->emplace<Linear>("", hidden, hidden);
        cls->emplace<ReLU>("");
        cls->emplace<Dropout>("", 0.5f);
        cls->emplace<Linear>("", hidden, s.num_classes);
        m->add(std::move(cls), "classifier");
    } else {
        m->emplace<Flatten>("flatten");
        m->emplace<Linear>("classifier", c_last * size * size, s.num_classes);
    }
    return m;
}
}  // namespace

std::vector<std::string> known_archs() {
    std::vector<std::string> out;
    for (const char* form : {"", "_imagenet"}) {
        for (int d : {18, 34, 50}) out.push_back("resnet" + std::to_string(d) + form);
        for (int d : {11, 13, 16, 19}) {
            out.push_back("vgg" + std::to_string(d) + form);
            out.push_back("vgg" + std::to_string(d) + "_bn" + form);
        }
    }
    return out;
}

void check_known_arch(const std::string& arch) {
    const auto known = known_archs();
    if (std::find(known.begin(), known.end(), arch) == known.end()) {
        std::string list;
        for (auto& k : known) list += (list.empty() ? "" : ", ") + k;
        LRP_THROW("unknown architecture '", arch, "'; known: ", list);
    }
}

std::unique_ptr<Sequential> make_model(const ModelSpec& s) {
    check_known_arch(s.arch);
    LRP_CHECK(s.num_classes > 0, "num_classes must be positive (got ", s.num_classes, ")");
    LRP_CHECK(s.in_channels > 0, "in_channels must be positive (got ", s.in_channels, ")");
    // 64 x torchvision's width at most: the stage widths (w << 3, x 4 in Bottleneck; VGG's 512 w / 64) stay ints.
    LRP_CHECK(s.base_width > 0 && s.base_width <= kMaxBaseWidth, "base_width must be in [1, ", kMaxBaseWidth, "] (got ",
              s.base_width, ")");
    LRP_CHECK(s.image_size > 0, "image_size must be positive (got ", s.image_size, ")");
    ArchName a = parse_arch(s.arch);
    return a.family == "resnet" ? make_resnet(a, s) : make_vgg(a, s);
}

int64_t count_params(Module& model) {
    int64_t n = 0;
    for (Param* p : model.params()) n += p->value.numel();
    return n;
}

}  // namespace lrp::nn
