// Gradient-norm clipping (PyTorch's clip_grad_norm_): the global norm over all gradients, the factor
// max_norm / (norm + 1e-6) applied only when it is below 1, parameters without gradients left out, bad
// max_norm refused; CUDA against the CPU.
#include <cmath>

#include "lrp/train/optimizer.h"
#include "test_util.h"

using namespace lrp;

namespace {
struct Grads {
    nn::Param a, b, frozen, none;
    train::NamedParams named() { return {{"a", &a}, {"b", &b}, {"frozen", &frozen}, {"none", &none}}; }
};

Grads make(Device d) {
    Grads g;
    auto set = [&](nn::Param& p, const std::vector<float>& v) {
        p.value = Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, d);
        p.grad = Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, d);
        p.grad_is_zero = false;
    };
    set(g.a, {3.f, -4.f});                // |a|^2 = 25
    set(g.b, test::random_vec(1001, 5));  // odd size, random
    set(g.frozen, {100.f});
    g.frozen.requires_grad = false;       // not counted, not scaled
    g.none.value = Tensor::from_vector(std::vector<float>{7.f}, {1}, d);  // no gradient at all
    return g;
}

double expected_norm(const Grads& g) {
    double s = 25;
    for (float v : g.b.grad.to_vector<float>()) s += double(v) * v;
    return std::sqrt(s);
}

void check(Device d) {
    Grads g = make(d);
    const double n = expected_norm(g);
    const std::vector<float> b0 = g.b.grad.to_vector<float>();
    // above the norm: nothing changes
    EXPECT_NEAR(train::clip_grad_norm(g.named(), static_cast<float>(n * 2)), n, 1e-5 * n) << d.str();
    EXPECT_EQ(g.b.grad.to_vector<float>(), b0);
    // below: every counted gradient scaled by max_norm / (norm + 1e-6), the global norm becomes max_norm
    EXPECT_NEAR(train::clip_grad_norm(g.named(), 1.f), n, 1e-5 * n) << d.str();
    const double f = 1.0 / (n + 1e-6);
    EXPECT_NEAR(g.a.grad.to_vector<float>()[0], 3 * f, 1e-6);
    EXPECT_NEAR(g.b.grad.to_vector<float>()[500], b0[500] * f, 1e-6);
    EXPECT_NEAR(train::clip_grad_norm(g.named(), 10.f), 1.0, 1e-5) << "the new global norm";
    EXPECT_EQ(g.frozen.grad.to_vector<float>()[0], 100.f) << "requires_grad = false is left alone";
    EXPECT_THROW(train::clip_grad_norm(g.named(), 0.f), Error);
    EXPECT_THROW(train::clip_grad_norm(g.named(), -1.f), Error);
    nn::Param lone;
    lone.value = Tensor::from_vector(std::vector<float>{1.f}, {1}, d);
    EXPECT_EQ(train::clip_grad_norm({{"lone", &lone}}, 1.f), 0.f) << "no gradients: norm 0";
}
}  // namespace

TEST(ClipGradNormCpu, GlobalNormAndPyTorchFactor) { check(Device::cpu()); }

TEST(ClipGradNormCuda, GlobalNormAndPyTorchFactor) {
    LRP_SKIP_WITHOUT_CUDA();
    check(Device::cuda(0));
}
