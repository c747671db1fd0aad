// The EDDA step on CUDA: the windows and the three parts agree with the CPU step for the same weights, and the
// whole step (attribution, window choice, fills, train forward/backward over 3N rows, SGD) captures into a CUDA
// graph (no synchronisation, no device-to-host copy, no cudaMalloc while captured) and replays to the eager
// result. Skips without a device; fails instead when LRP_REQUIRE_CUDA=1.
#include <gtest/gtest.h>

#include <cmath>

#include "lrp/context.h"
#include "lrp/graph.h"
#include "lrp/train/edda_step.h"
#include "graph_test_util.h"
#include "reldrop_step_test_util.h"

using namespace lrp;
using namespace lrp::test;
using lrp::train::Edda;

namespace {
train::EddaSettings edda_settings() {
    train::EddaSettings s;
    s.patch = 5;
    s.fill = {0.25f, -0.5f, 0.75f};
    s.w_salient = 0.5f;
    return s;
}
}  // namespace

TEST(EddaStepCuda, WindowsAndPartsMatchTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    StepFixture c(Device::cpu(), 8), g(dev, 8);
    Edda ec(edda_settings()), eg(edda_settings());
    Tensor pc, pg, vc, vg;
    const std::vector<float> xc = ec.augment(*c.model, c.x, c.y, &pc, &vc).to_vector<float>();
    const std::vector<float> xg = eg.augment(*g.model, g.x, g.y, &pg, &vg).to_vector<float>();
    EXPECT_EQ(vg.to_vector<float>(), vc.to_vector<float>());
    // The relevance differs by float rounding between backends, so a window at a near tie may flip; more than
    // one sample in eight is a real disagreement. Wherever the windows agree, the rows agree bit for bit.
    const std::vector<int32_t> a = pc.to_vector<int32_t>(), b = pg.to_vector<int32_t>();
    int differ = 0;
    const size_t per = xc.size() / 24;
    for (int n = 0; n < 8; ++n) {
        const bool same = a[n] == b[n] && a[8 + n] == b[8 + n];
        differ += !same;
        for (int part = 0; part < 3 && same; ++part)
            for (size_t j = 0; j < per; ++j)
                ASSERT_EQ(xc[(part * 8 + n) * per + j], xg[(part * 8 + n) * per + j]) << "part " << part << " sample " << n;
    }
    EXPECT_LE(differ, 1);
    // One step each: the losses agree to float rounding where every window agrees; a flipped window changes one
    // sample's two copies (under 1 % of this loss here, while a wrong target or weight moves it by tens of %).
    const auto before = snapshot(*c.model);
    Tensor trained;
    const train::EddaStepResult rc = edda_train_step(*c.model, *c.opt, ec, c.x, c.y);
    const train::EddaStepResult rg = edda_train_step(*g.model, *g.opt, eg, g.x, g.y, {}, &trained);
    const float lc = rc.step.loss.to_vector<float>()[0], lg = rg.step.loss.to_vector<float>()[0];
    EXPECT_NEAR(lg, lc, (differ == 0 ? 1e-4 : 2e-2) * std::fabs(lc)) << differ << " windows differ";
    EXPECT_EQ(rg.nonfinite.to_vector<float>()[0], 0.f);
    // The update too (the losses alone would not see a wrong backward), against the CPU's forward, loss and
    // backward on the batch the CUDA step trained on: a window that flipped by rounding (which moves one step's
    // update by tens of %) is then the same on both sides, and the updates agree to float rounding.
    StepFixture r(Device::cpu(), 8);
    r.model->train(true);
    r.model->zero_grad();
    const Tensor logits = r.model->forward(trained.to(Device::cpu()));
    const Tensor dlogits = Tensor::empty(logits.shape());
    train::edda_loss(logits, r.y, vc, ec.settings(), train::StepOptions{}.label_smoothing, dlogits);
    r.model->backward(dlogits, true);
    r.opt->step();
    EXPECT_LT(update_distance(before, snapshot(*r.model), snapshot(*g.model)), 1e-3);
    // That reference is the CPU step itself where the windows agree.
    if (differ == 0) {
        EXPECT_EQ(snapshot(*r.model), snapshot(*c.model));
    }
}

TEST(EddaStepCuda, WholeStepCapturesIntoAGraphAndReplaysToTheEagerResult) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    prepare_capture(dev);
    StepFixture f(dev, 8);
    Edda e(edda_settings());
    for (int i = 0; i < 3; ++i) edda_train_step(*f.model, *f.opt, e, f.x, f.y);  // warm-up: blocks, plans, buffers
    auto [eager, replayed] = eager_and_replayed(dev, *f.model, *f.opt, [] {}, [&] {
        Tensor trained;
        const train::EddaStepResult r = edda_train_step(*f.model, *f.opt, e, f.x, f.y, {}, &trained);
        return std::vector<Tensor>{trained, r.step.loss};
    }, "EDDA step");
    // Same device, inputs and (deterministic) algorithms: the same windows, bit for bit.
    EXPECT_EQ(replayed.results[0].to_vector<float>(), eager.results[0].to_vector<float>());
    const float loss = eager.results[1].to_vector<float>()[0];
    EXPECT_NEAR(replayed.results[1].to_vector<float>()[0], loss, 1e-4 * std::fabs(loss) + 1e-6);
    for (auto& [k, v] : eager.params) EXPECT_LT(rel_l2(replayed.params.at(k), v), 1e-4) << k;
}
