// The ISNet step on CUDA: the same losses, heatmap and updated parameters as the CPU step for the same weights (ResNet
// with BN; Stochastic ISNet with the same Philox draws, z^B or epsilon first layer, Selective ISNet, every class's map,
// LRP deep supervision), and the whole step (forward, LRP-Flex pass, z^B, heatmap loss, adjoints, backward, SGD)
// captures into a CUDA graph and replays to the eager result, with and without deep supervision. Skips without a
// device; fails instead when LRP_REQUIRE_CUDA=1.
#include <gtest/gtest.h>

#include <cmath>

#include "lrp/context.h"
#include "lrp/graph.h"
#include "lrp/train/isnet_step.h"
#include "graph_test_util.h"
#include "reldrop_step_test_util.h"

using namespace lrp;
using namespace lrp::test;

namespace {
const train::StepOptions kClip{0.f, 1.f};  // ISNet's clipping (unclipped, these steps grow the weights to NaN)

train::IsnetSettings isnet_settings(const std::string& explain = "stochastic", const std::string& first = "zb",
                                    bool lds = false) {
    train::TrainConfig c;
    c.augment = "isnet";
    c.isnet_explain = explain;
    c.isnet_first_rule = first;
    c.isnet_lds = lds;
    c.isnet_mask = "threshold:0.5";
    c.isnet_c1 = 0.2f;
    // Raw 0 and 1 are -2.5 and 2.5 here: the fixture's inputs (in [-2, 2]) lie inside z^B's box, as images do.
    return train::isnet_settings(c, {0.5f, 0.5f, 0.5f}, {0.2f, 0.2f, 0.2f});
}

void expect_step_matches_cpu(const std::string& explain, const std::string& first = "zb", bool lds = false) {
    const Device dev = Device::cuda(0);
    StepFixture c(Device::cpu(), 8), g(dev, 8);
    train::Isnet ic(isnet_settings(explain, first, lds)), ig(isnet_settings(explain, first, lds));
    Generator gc(5), gg(5);
    EXPECT_EQ(ig.mask(g.x).to_vector<float>(), ic.mask(c.x).to_vector<float>());
    const auto before = snapshot(*c.model);
    const train::IsnetStepResult rc = ic.step(*c.model, *c.opt, c.x, c.y, gc);
    const train::IsnetStepResult rg = ig.step(*g.model, *g.opt, g.x, g.y, gg);
    EXPECT_GT(rc.heat_loss.to_vector<float>()[0], 0.f);
    EXPECT_NEAR(rg.heat_loss.to_vector<float>()[0], rc.heat_loss.to_vector<float>()[0],
                1e-4 * std::fabs(rc.heat_loss.to_vector<float>()[0]));
    EXPECT_NEAR(rg.step.loss.to_vector<float>()[0], rc.step.loss.to_vector<float>()[0],
                1e-4 * std::fabs(rc.step.loss.to_vector<float>()[0]));
    EXPECT_LT(rel_l2(rg.heatmap, rc.heatmap), 1e-4);
    if (lds) {
        ASSERT_EQ(rc.layer_losses.shape(), (Shape{5}));  // the input map and ResNet-18's four stages
        EXPECT_LT(rel_l2(rg.layer_losses, rc.layer_losses), 1e-4);
    }
    // The updates (not the values, which hide them): the heatmap gradient runs through epsilon-stabilised
    // divisions and GWRP ranks, so float rounding that differs between backends shows more than in a plain step;
    // a wrong term would differ by O(1).
    const auto pc = snapshot(*c.model), pg = snapshot(*g.model);
    double err2 = 0, ref2 = 0;
    for (auto& [k, v] : pc) {
        if (k.find("running") != std::string::npos) continue;
        const std::vector<float>& b = before.at(k);
        double e = 0, r = 0;
        for (size_t i = 0; i < v.size(); ++i) {
            const double dc = double(v[i]) - b[i], dg = double(pg.at(k)[i]) - b[i];
            e += (dg - dc) * (dg - dc);
            r += dc * dc;
        }
        EXPECT_LT(std::sqrt(e / std::max(r, 1e-30)), 5e-2) << k;
        err2 += e, ref2 += r;
    }
    EXPECT_GT(ref2, 0.0);
    EXPECT_LT(std::sqrt(err2 / ref2), 1e-2) << "the updates of all parameters together";
}
}  // namespace

TEST(IsnetStepCuda, MatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_step_matches_cpu("stochastic");
}

TEST(IsnetStepCuda, EpsilonFirstLayerMatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_step_matches_cpu("stochastic", "epsilon");
}

TEST(IsnetStepCuda, AllClassesMatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_step_matches_cpu("all");
}

TEST(IsnetStepCuda, SelectiveMatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_step_matches_cpu("selective");
}

TEST(IsnetStepCuda, SoftminSelectiveMatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_step_matches_cpu("selective-softmin");
}

TEST(IsnetStepCuda, DeepSupervisionMatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_step_matches_cpu("stochastic", "zb", true);
}

TEST(IsnetStepCuda, AllClassesDeepSupervisionMatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_step_matches_cpu("all", "zb", true);
}

namespace {
void expect_capture_replays(bool lds) {
    const Device dev = Device::cuda(0);
    prepare_capture(dev);
    StepFixture f(dev, 8);
    train::Isnet isnet(isnet_settings("stochastic", "zb", lds));
    Generator g(9);
    for (int i = 0; i < 3; ++i) isnet.step(*f.model, *f.opt, f.x, f.y, g, kClip);  // warm-up: blocks, plans, caches
    const uint64_t offset0 = g.offset();
    auto [eager, replayed] = eager_and_replayed(dev, *f.model, *f.opt, [&] { g.set_state(g.seed(), offset0); }, [&] {
        const train::IsnetStepResult r = isnet.step(*f.model, *f.opt, f.x, f.y, g, kClip);
        return std::vector<Tensor>{r.step.loss, r.heatmap};
    }, "ISNet step");
    const float loss = eager.results[0].to_vector<float>()[0];
    ASSERT_TRUE(std::isfinite(loss)) << "the eager steps diverged";
    EXPECT_NEAR(replayed.results[0].to_vector<float>()[0], loss, 1e-4 * std::fabs(loss) + 1e-6);
    EXPECT_LT(rel_l2(replayed.results[1], eager.results[1]), 1e-5);
    for (auto& [k, v] : eager.params) EXPECT_LT(rel_l2(replayed.params.at(k), v), 1e-4) << k;
}
}  // namespace

TEST(IsnetStepCuda, WholeStepCapturesIntoAGraphAndReplaysToTheEagerResult) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_capture_replays(false);
}

TEST(IsnetStepCuda, DeepSupervisionStepCapturesIntoAGraph) {
    LRP_SKIP_WITHOUT_CUDA();
    expect_capture_replays(true);
}
