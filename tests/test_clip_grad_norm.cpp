// Gradient-norm clipping (PyTorch's clip_grad_norm_): the global norm over all gradients, the factor
// min(max_norm / (norm + 1e-6), 1), parameters without gradients left out, NaN kept, bad max_norm
// refused, the clip_coef op; on CUDA the same checks and a CUDA-graph capture (no host read).
#include <cmath>

#include "lrp/graph.h"
#include "lrp/ops/optim.h"
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

// The norm the device computed, read back (0 when no gradient exists).
double clip(Grads& g, float max_norm) {
    Tensor n = train::clip_grad_norm(g.named(), max_norm);
    return n.defined() ? n.to_vector<float>()[0] : 0.0;
}

void check(Device d) {
    Grads g = make(d);
    const double n = expected_norm(g);
    const std::vector<float> b0 = g.b.grad.to_vector<float>();
    // above the norm: the factor is exactly 1, nothing changes
    EXPECT_NEAR(clip(g, static_cast<float>(n * 2)), n, 1e-5 * n) << d.str();
    EXPECT_EQ(g.b.grad.to_vector<float>(), b0);
    // below: every counted gradient scaled by max_norm / (norm + 1e-6), the global norm becomes max_norm
    EXPECT_NEAR(clip(g, 1.f), n, 1e-5 * n) << d.str();
    const double f = 1.0 / (n + 1e-6);
    EXPECT_NEAR(g.a.grad.to_vector<float>()[0], 3 * f, 1e-6);
    EXPECT_NEAR(g.b.grad.to_vector<float>()[500], b0[500] * f, 1e-6);
    EXPECT_NEAR(clip(g, 10.f), 1.0, 1e-5) << "the new global norm";
    EXPECT_EQ(g.frozen.grad.to_vector<float>()[0], 100.f) << "requires_grad = false is left alone";
    EXPECT_EQ(g.none.grad.defined(), false);
    test::expect_error([&] { clip(g, 0.f); }, {"clip_grad_norm", "max_norm must be finite and > 0"});
    test::expect_error([&] { clip(g, -1.f); }, {"clip_grad_norm"});
    test::expect_error([&] { clip(g, NAN); }, {"clip_grad_norm"});
    nn::Param lone;
    lone.value = Tensor::from_vector(std::vector<float>{1.f}, {1}, d);
    EXPECT_FALSE(train::clip_grad_norm({{"lone", &lone}}, 1.f).defined()) << "no gradients: no norm";
}

// A NaN gradient makes the norm and every clipped gradient NaN (PyTorch's default, error_if_nonfinite
// off), so the trainer's divergence check sees it instead of a silently clipped step.
void check_nan(Device d) {
    Grads g = make(d);
    std::vector<float> b = g.b.grad.to_vector<float>();
    b[7] = NAN;
    g.b.grad = Tensor::from_vector(b, g.b.grad.shape(), d);
    EXPECT_TRUE(std::isnan(clip(g, 1.f))) << d.str();
    EXPECT_TRUE(std::isnan(g.a.grad.to_vector<float>()[1])) << d.str();
}
}  // namespace

TEST(ClipGradNormCpu, GlobalNormAndPyTorchFactor) { check(Device::cpu()); }
TEST(ClipGradNormCpu, NaNPropagates) { check_nan(Device::cpu()); }

TEST(ClipGradNormCpu, ClipCoefFrontEnd) {
    Tensor s = Tensor::from_vector(std::vector<float>{16.f}, {1}), n = Tensor::empty({1}), c = Tensor::empty({1});
    ops::clip_coef(s, 2.f, n, c);
    EXPECT_EQ(n.to_vector<float>()[0], 4.f);
    EXPECT_EQ(c.to_vector<float>()[0], 2.f / (4.f + 1e-6f));
    ops::clip_coef(s, 8.f, n, c);
    EXPECT_EQ(c.to_vector<float>()[0], 1.f) << "clamped to 1";
    test::expect_error([&] { ops::clip_coef(Tensor::empty({2}), 1.f, n, c); }, {"clip_coef", "one element"});
    test::expect_error([&] { ops::clip_coef(s, 1.f, Tensor::empty({2}), c); }, {"clip_coef", "'norm'"});
    test::expect_error([&] { ops::clip_coef(s, INFINITY, n, c); }, {"clip_coef", "max_norm"});
}

TEST(ClipGradNormCuda, GlobalNormAndPyTorchFactor) {
    LRP_SKIP_WITHOUT_CUDA();
    check(Device::cuda(0));
    check_nan(Device::cuda(0));
}

// Clipping issues no host read: it captures into a CUDA graph, and the replay equals the eager result.
TEST(ClipGradNormCuda, CapturesIntoAGraph) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    Grads eager = make(dev);
    const double want = clip(eager, 1.f);  // also fills the allocator's cache for the capture
    Grads g = make(dev);
    synchronize(dev);
    DeviceGraph graph(dev);
    Tensor norm;
    graph.begin_capture();
    try {
        norm = train::clip_grad_norm(g.named(), 1.f);
    } catch (const Error& e) {
        FAIL() << "clip_grad_norm cannot be captured: " << e.what();
    }
    ASSERT_NO_THROW(graph.end_capture());
    graph.replay();
    synchronize(dev);
    EXPECT_EQ(norm.to_vector<float>()[0], static_cast<float>(want));
    EXPECT_EQ(g.b.grad.to_vector<float>(), eager.b.grad.to_vector<float>());
    EXPECT_EQ(g.a.grad.to_vector<float>(), eager.a.grad.to_vector<float>());
}
