// The RRR step on CUDA: the same loss, penalty and parameter updates as the CPU step for the same weights (ResNet
// with BN), and the whole step (forward, plain-ReLU gradient pass, penalty, adjoint, seed VJP, backward, SGD)
// captures into a CUDA graph and replays to the eager result. Skips without a device; fails instead when
// LRP_REQUIRE_CUDA=1.
#include <gtest/gtest.h>

#include <cmath>

#include "lrp/context.h"
#include "lrp/graph.h"
#include "lrp/train/rrr_step.h"
#include "graph_test_util.h"
#include "reldrop_step_test_util.h"

using namespace lrp;
using namespace lrp::test;

namespace {
train::RrrSettings rrr_settings() {
    train::TrainConfig c;
    c.augment = "rrr";
    c.rrr_lambda = 1e4f;
    c.rrr_mask = "threshold:0.5";
    return train::rrr_settings(c, {0.4f, 0.5f, 0.6f}, {0.5f, 0.5f, 0.5f});
}
}  // namespace

TEST(RrrStepCuda, MatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    StepFixture c(Device::cpu(), 8), g(dev, 8);
    train::Rrr rc(rrr_settings()), rg(rrr_settings());
    EXPECT_EQ(rg.mask(g.x).to_vector<float>(), rc.mask(c.x).to_vector<float>());
    const auto before = snapshot(*c.model);
    const train::RrrStepResult a = rc.step(*c.model, *c.opt, c.x, c.y);
    const train::RrrStepResult b = rg.step(*g.model, *g.opt, g.x, g.y);
    const float pen = a.penalty.to_vector<float>()[0], loss = a.step.loss.to_vector<float>()[0];
    EXPECT_GT(pen, 0.f);
    EXPECT_NEAR(b.penalty.to_vector<float>()[0], pen, 1e-4 * pen);
    EXPECT_NEAR(b.step.loss.to_vector<float>()[0], loss, 1e-4 * std::fabs(loss));
    EXPECT_LT(update_distance(before, snapshot(*c.model), snapshot(*g.model)), 1e-3);
}

TEST(RrrStepCuda, WholeStepCapturesIntoAGraphAndReplaysToTheEagerResult) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    prepare_capture(dev);
    StepFixture f(dev, 8);
    train::Rrr rrr(rrr_settings());
    const train::StepOptions clip{0.f, 1.f};
    for (int i = 0; i < 3; ++i) rrr.step(*f.model, *f.opt, f.x, f.y, clip);  // warm-up: blocks, plans, caches
    auto [eager, replayed] = eager_and_replayed(dev, *f.model, *f.opt, [] {}, [&] {
        const train::RrrStepResult r = rrr.step(*f.model, *f.opt, f.x, f.y, clip);
        return std::vector<Tensor>{r.step.loss, r.penalty};
    }, "RRR step");
    const float loss = eager.results[0].to_vector<float>()[0];
    ASSERT_TRUE(std::isfinite(loss)) << "the eager steps diverged";
    EXPECT_NEAR(replayed.results[0].to_vector<float>()[0], loss, 1e-4 * std::fabs(loss) + 1e-6);
    EXPECT_NEAR(replayed.results[1].to_vector<float>()[0], eager.results[1].to_vector<float>()[0],
                1e-4 * std::fabs(eager.results[1].to_vector<float>()[0]) + 1e-12);
    for (auto& [k, v] : eager.params) EXPECT_LT(rel_l2(replayed.params.at(k), v), 1e-4) << k;
}
