// Shared fixtures of the RelDrop step tests: a small seeded ResNet with non-trivial BN statistics, a
// labelled batch, SGD, and parameter snapshots for bit-exact comparisons.
#pragma once
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lrp/nn/models.h"
#include "lrp/train/reldrop_step.h"
#include "lrp_test_util.h"

namespace lrp::test {

struct StepFixture {
    std::unique_ptr<nn::Sequential> model;
    std::unique_ptr<train::SGD> opt;
    Tensor x, y;

    // ResNet-18 (width 4) on N x 3 x 16 x 16, 5 classes; identical for equal seeds on every device.
    explicit StepFixture(Device d, int N = 6, uint32_t seed = 7) {
        nn::ModelSpec spec;
        spec.num_classes = 5;
        spec.image_size = 16;
        spec.base_width = 4;
        model = nn::make_model(spec);
        Generator g(seed);
        nn::init_weights(*model, g, "torchvision");
        x = rand_tensor({N, 3, 16, 16}, seed + 1, -2.f, 2.f);
        std::vector<int32_t> lab;
        for (int i = 0; i < N; ++i) lab.push_back((i * 3 + 1) % 5);
        y = Tensor::from_vector(lab, {N});
        // Running statistics away from 0/1 (a train-mode forward on the CPU, then move).
        model->train(true);
        model->forward(rand_tensor({8, 3, 16, 16}, seed + 2, -1.f, 3.f));
        model->clear_saved();
        model->to(d);
        x = x.to(d);
        y = y.to(d);
        kernels::SgdParams p;
        p.lr = 0.05f;
        p.momentum = 0.9f;
        p.weight_decay = 1e-4f;
        opt = std::make_unique<train::SGD>(model->named_params(), p);
    }
};

// SGD without momentum or weight decay: one step moves the parameters by -lr times their gradient.
inline train::SGD plain_sgd(nn::Module& m, float lr) {
    kernels::SgdParams p;
    p.lr = lr;
    p.momentum = 0.f;
    p.weight_decay = 0.f;
    return train::SGD(m.named_params(), p);
}

inline std::map<std::string, std::vector<float>> snapshot(nn::Module& m) {
    std::map<std::string, std::vector<float>> s;
    for (auto& [k, t] : m.state_dict())
        if (t.dtype() == DType::F32) s[k] = t.to_vector<float>();
    return s;
}

// How far one backend's parameter updates are from another's: the relative L2 distance of (b - before) from
// (a - before) over all parameters together (running statistics left out), the updates rather than the values,
// which would hide them. Fails the test when a made no update at all.
inline double update_distance(const std::map<std::string, std::vector<float>>& before,
                              const std::map<std::string, std::vector<float>>& a,
                              const std::map<std::string, std::vector<float>>& b) {
    double err2 = 0, ref2 = 0;
    for (const auto& [k, v] : a) {
        if (k.find("running") != std::string::npos) continue;
        const std::vector<float>& w = before.at(k);
        const std::vector<float>& u = b.at(k);
        for (size_t i = 0; i < v.size(); ++i) {
            const double da = double(v[i]) - w[i], db = double(u[i]) - w[i];
            err2 += (db - da) * (db - da);
            ref2 += da * da;
        }
    }
    EXPECT_GT(ref2, 0.0) << "the reference step changed no parameter";
    return ref2 > 0 ? std::sqrt(err2 / ref2) : INFINITY;
}

inline train::RelDropSettings settings(const std::string& variant, float p, int k = 1,
                                       const std::string& coin = "reference") {
    train::RelDropSettings s;
    s.params.variant = variant;
    s.params.p = p;
    s.params.k = k;
    s.params.coin = coin;
    s.params.fill = {0.25f, -0.5f, 0.75f};
    return s;
}

}  // namespace lrp::test
