// `lrpcu explain`: LRP relevance maps of a model (lrpcu checkpoint or PyTorch safetensors + --arch) for
// inputs from a .npy file (float32 N x C x H x W, already normalised): writes relevance.npy (N x C x H x W)
// and one heatmap PNG per sample (channel-summed relevance, signed blue-white-red map scaled by max |R|).
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cli.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/nn/models.h"
#include "lrp/train/checkpoint.h"

namespace lrp::cli {

namespace {
// Minimal .npy (format 1.0/2.0, C order, little-endian) for float32 and int32/int64 arrays.
Tensor read_npy(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    LRP_CHECK(f.good(), "cannot open '", path, "'");
    char magic[8];
    f.read(magic, 8);
    LRP_CHECK(f.good() && std::string(magic, 6) == "\x93NUMPY", "'", path, "' is not a .npy file");
    uint32_t hlen = 0;
    if (magic[6] == 1) {
        uint16_t h16 = 0;
        f.read(reinterpret_cast<char*>(&h16), 2);
        hlen = h16;
    } else {
        f.read(reinterpret_cast<char*>(&hlen), 4);
    }
    std::string header(hlen, ' ');
    f.read(header.data(), hlen);
    std::smatch m;
    LRP_CHECK(std::regex_search(header, m, std::regex("'descr':\\s*'([<|=]?)([fi][48])'")), "'", path,
              "': unsupported dtype in header ", header, " (need float32, int32 or int64)");
    const std::string kind = m[2];
    LRP_CHECK(header.find("'fortran_order': False") != std::string::npos, "'", path, "': Fortran order is not supported");
    LRP_CHECK(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), "'", path, "': no shape");
    std::vector<int64_t> dims;
    std::stringstream ss(m[1].str());
    for (std::string tok; std::getline(ss, tok, ',');)
        if (tok.find_first_not_of(" ") != std::string::npos) dims.push_back(std::stoll(tok));
    const Shape shape(dims);
    const DType dt = kind == "f4" ? DType::F32 : kind == "i4" ? DType::I32 : kind == "i8" ? DType::I64 : DType::F64;
    LRP_CHECK(dt != DType::F64, "'", path, "': float64 arrays are not supported; save float32");
    Tensor t = Tensor::empty(shape, dt);
    f.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
    LRP_CHECK(f.good(), "'", path, "' is truncated");
    return t;
}

void write_npy(const std::string& path, const Tensor& t) {
    std::string shape;
    for (int i = 0; i < t.ndim(); ++i) shape += std::to_string(t.dim(i)) + (t.ndim() == 1 || i + 1 < t.ndim() ? ", " : "");
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
    header.append(64 - (10 + header.size() + 1) % 64, ' ');
    header += '\n';
    std::ofstream f(path, std::ios::binary);
    LRP_CHECK(f.good(), "cannot write '", path, "'");
    const uint16_t hlen = static_cast<uint16_t>(header.size());
    f.write("\x93NUMPY\x01\x00", 8);
    f.write(reinterpret_cast<const char*>(&hlen), 2);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    std::vector<float> v = t.to_vector<float>();
    f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    LRP_CHECK(f.good(), "failed writing '", path, "'");
}

// Channel-summed relevance of one sample as an RGB heatmap: blue (negative), white (0), red (positive),
// symmetric around 0 and scaled by the sample's max |R|; nearest-neighbour upscaling by `scale`.
void write_heatmap(const std::string& path, const float* r, int64_t C, int64_t H, int64_t W, int scale) {
    std::vector<double> sum(static_cast<size_t>(H * W), 0.0);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < H * W; ++i) sum[i] += r[c * H * W + i];
    double peak = 0;
    for (double v : sum) peak = std::max(peak, std::fabs(v));
    const int64_t h2 = H * scale, w2 = W * scale;
    std::vector<unsigned char> px(static_cast<size_t>(h2 * w2 * 3));
    for (int64_t y = 0; y < h2; ++y)
        for (int64_t x = 0; x < w2; ++x) {
            const double v = peak > 0 ? sum[(y / scale) * W + x / scale] / peak : 0.0;
            const auto fade = static_cast<unsigned char>(std::lround(255 * (1 - std::fabs(v))));
            unsigned char* p = &px[(y * w2 + x) * 3];
            p[0] = v >= 0 ? 255 : fade;
            p[1] = fade;
            p[2] = v <= 0 ? 255 : fade;
        }
    LRP_CHECK(stbi_write_png(path.c_str(), static_cast<int>(w2), static_cast<int>(h2), 3, px.data(),
                             static_cast<int>(w2 * 3)) != 0,
              "failed writing '", path, "'");
}

std::vector<float> parse_floats(const std::string& s, const char* what) {
    std::vector<float> v;
    std::stringstream ss(s);
    for (std::string tok; std::getline(ss, tok, ',');) {
        try {
            v.push_back(std::stof(tok));
        } catch (const std::exception&) {
            LRP_THROW(what, ": '", tok, "' is not a number");
        }
    }
    return v;
}
}  // namespace

int run_explain(const std::vector<std::string>& args) {
    std::string arch, weights, input, labels_path, target = "pred", composite = "epsilon_plus_flat", out;
    std::string device = "auto", bn_fold, low, high;
    int width = 64, classes = 0, scale = 4;
    float epsilon = -1.f;
    bool print_rules = false;
    CLI::App app("LRP relevance maps (relevance.npy and heatmap PNGs).", "lrpcu explain");
    app.add_option("--weights", weights, "an lrpcu checkpoint/model file or a PyTorch safetensors state_dict")
        ->required();
    app.add_option("--arch", arch, "architecture (default: from the checkpoint)");
    app.add_option("--width", width, "first-stage width (checkpoints store it)")->capture_default_str();
    app.add_option("--num-classes", classes,
                   "number of classes (default: 100 for a cifar100 checkpoint, 20 for cifar100-coarse, else 10)");
    app.add_option("--input", input, ".npy float32 N x C x H x W, normalised as for the model")->required();
    app.add_option("--target", target, "label | pred | <class>, optionally with suffix *logit")->capture_default_str();
    app.add_option("--labels", labels_path, ".npy int32/int64 labels (N) for --target label");
    app.add_option("--composite", composite, "composite name (" + [] {
        std::string l;
        for (const std::string& n : explain::known_composites()) l += (l.empty() ? "" : ", ") + n;
        return l;
    }() + ")")->capture_default_str();
    app.add_option("--epsilon", epsilon, "Epsilon of the composite (default: its own)");
    app.add_option("--low", low, "ZBox lower input bound(s), comma-separated per channel (epsilon_gamma_box)");
    app.add_option("--high", high, "ZBox upper input bound(s), comma-separated per channel (epsilon_gamma_box)");
    app.add_option("--bn-fold", bn_fold, "none | exact | zennit_0_5_1 (default: zennit_0_5_1)");
    app.add_option("--out", out, "output directory")->required();
    app.add_option("--scale", scale, "heatmap upscaling factor")->capture_default_str();
    app.add_option("--device", device, "auto | cpu | cuda | cuda:N")->capture_default_str();
    app.add_flag("--print-rules", print_rules, "print the rule of every layer");
    if (int rc = parse_args(app, args); rc >= 0) return rc;
    LRP_CHECK(std::filesystem::exists(weights), "--weights: '", weights, "' does not exist");
    LRP_CHECK(scale >= 1 && scale <= 64, "--scale must be in [1, 64] (got ", scale, ")");

    nlohmann::json cfg = nlohmann::json::object();
    try {
        cfg = train::read_checkpoint_state(weights).config;
    } catch (const Error&) {  // a plain state_dict
    }
    if (!cfg.is_object()) cfg = nlohmann::json::object();
    if (arch.empty()) arch = cfg.value("arch", "");
    LRP_CHECK(!arch.empty(), "--arch is required for weights that are not an lrpcu checkpoint");
    if (cfg.contains("width")) width = cfg.value("width", width);

    Tensor x = read_npy(input);
    LRP_CHECK(x.dtype() == DType::F32 && x.ndim() == 4, "--input: need float32 N x C x H x W, got ",
              dtype_name(x.dtype()), " ", x.shape().str());
    Tensor labels;
    if (!labels_path.empty()) labels = read_npy(labels_path);
    const explain::Target t = explain::Target::parse(target, labels);

    explain::CompositeOptions o;
    if (epsilon >= 0.f) o.epsilon = epsilon;
    if (!low.empty()) o.low = explain::Bound::channels(parse_floats(low, "--low"));
    if (!high.empty()) o.high = explain::Bound::channels(parse_floats(high, "--high"));
    for (auto* b : {&o.low, &o.high})
        if (*b && b->value().per_channel.size() == 1) *b = explain::Bound(b->value().per_channel[0]);
    if (!bn_fold.empty()) o.bn_fold = explain::parse_bn_fold(bn_fold);
    explain::Composite comp = explain::make_composite(composite, o);

    nn::ModelSpec spec;
    spec.arch = arch;
    if (classes <= 0) {
        const std::string ds = cfg.value("dataset", "");
        classes = ds == "cifar100" ? 100 : ds == "cifar100-coarse" ? 20 : 10;
    }
    spec.num_classes = classes;
    spec.in_channels = static_cast<int>(x.dim(1));
    spec.image_size = static_cast<int>(x.dim(2));
    spec.base_width = width;
    auto model = nn::make_model(spec);
    train::load_model_weights(weights, *model);
    const Device dev = parse_device(device);
    model->to(dev);

    Tensor logits;
    Tensor r = explain::attribute(*model, x.to(dev), t, comp, &logits).to(Device::cpu());
    if (print_rules) std::printf("%s", comp.assignment_table().c_str());

    std::filesystem::create_directories(out);
    write_npy((std::filesystem::path(out) / "relevance.npy").string(), r);
    const int64_t n = r.dim(0), c = r.dim(1), h = r.dim(2), w = r.dim(3);
    std::vector<float> rv = r.to_vector<float>(), lv = logits.to(Device::cpu()).to_vector<float>();
    const int64_t k = logits.dim(1);
    for (int64_t i = 0; i < n; ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "heatmap_%04lld.png", static_cast<long long>(i));
        write_heatmap((std::filesystem::path(out) / name).string(), rv.data() + i * c * h * w, c, h, w, scale);
        const auto best = std::max_element(lv.begin() + i * k, lv.begin() + (i + 1) * k) - (lv.begin() + i * k);
        double total = 0;
        for (int64_t j = 0; j < c * h * w; ++j) total += rv[i * c * h * w + j];
        std::printf("sample %lld: predicted class %lld, relevance sum %.6g -> %s\n", static_cast<long long>(i),
                    static_cast<long long>(best), total, name);
    }
    std::printf("wrote %s/relevance.npy (%s) with composite %s, target %s\n", out.c_str(), r.shape().str().c_str(),
                composite.c_str(), t.str().c_str());
    return 0;
}

}  // namespace lrp::cli
