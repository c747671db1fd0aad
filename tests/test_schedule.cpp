// LR schedules against PyTorch's formulas (StepLR, cosine with warmup, OneCycleLR), and --cycle-momentum
// (OneCycleLR(cycle_momentum=True)): the momentum against PyTorch's formula, set_momentum equal to an optimiser built
// with that momentum (SGD) or beta1 (AdamW), and a training run that cycles it: different from one that does not,
// resumed bit for bit, and refused with another schedule.
#include <cmath>

#include "lrp/error.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/sequential.h"
#include "lrp/train/optimizer.h"
#include "lrp/train/schedule.h"
#include "lrp_test_util.h"
#include "test_util.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;

TEST(ScheduleCpu, MatchesPyTorchFormulas) {
    LrSchedule s;
    s.base_lr = 0.1f;
    s.total_steps = 100;
    s.kind = "step";
    s.step_size = 30;
    EXPECT_FLOAT_EQ(s.lr_at(29), 0.1f);
    EXPECT_FLOAT_EQ(s.lr_at(30), 0.01f);
    s.kind = "cosine";
    s.warmup_steps = 10;
    EXPECT_FLOAT_EQ(s.lr_at(0), 0.01f);
    EXPECT_FLOAT_EQ(s.lr_at(9), 0.1f);
    EXPECT_NEAR(s.lr_at(55), 0.05f, 1e-6);
    EXPECT_NEAR(s.lr_at(100), 0.f, 1e-7);
    // torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100): values at steps 0, 29, 64, 99.
    s.kind = "onecycle";
    EXPECT_NEAR(s.lr_at(0), 0.004, 1e-7);
    EXPECT_NEAR(s.lr_at(29), 0.1, 1e-7);
    EXPECT_NEAR(s.lr_at(64), 0.1 / 25 / 1e4 + (0.1 - 0.1 / 25 / 1e4) / 2 * (std::cos(M_PI * 35 / 70) + 1), 1e-6);
    EXPECT_NEAR(s.lr_at(99), 4e-7, 1e-9);
    s.kind = "exponential";
    EXPECT_THROW(s.validate(), Error);
}

// torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=100) with the default base_momentum 0.85 and
// max_momentum 0.95: 0.95 at step 0, 0.85 at the peak (step 29), back to 0.95 at the last step (99).
TEST(CycleMomentumCpu, ScheduleMatchesPyTorchFormula) {
    LrSchedule s;
    s.kind = "onecycle";
    s.total_steps = 100;
    s.cycle_momentum = true;
    s.validate();
    EXPECT_NEAR(s.momentum_at(0), 0.95, 1e-7);
    EXPECT_NEAR(s.momentum_at(29), 0.85, 1e-7);
    EXPECT_NEAR(s.momentum_at(64), 0.95 + (0.85 - 0.95) / 2 * (std::cos(M_PI * 35 / 70) + 1), 1e-7);
    EXPECT_NEAR(s.momentum_at(10), 0.85 + (0.95 - 0.85) / 2 * (std::cos(M_PI * 10 / 29) + 1), 1e-7);
    EXPECT_NEAR(s.momentum_at(99), 0.95, 1e-7);
    EXPECT_NEAR(s.momentum_at(150), 0.95, 1e-7);
    EXPECT_NEAR(s.lr_at(29), 0.1, 1e-7) << "the LR is unchanged";
    s.base_momentum = 0.96f;
    expect_error([&] { s.validate(); }, {"base momentum <= max momentum"});
    s.base_momentum = 0.85f;
    s.kind = "cosine";
    expect_error([&] { s.validate(); }, {"needs the onecycle schedule"});
    s.cycle_momentum = false;
    s.kind = "onecycle";
    expect_error([&] { s.momentum_at(3); }, {"only the onecycle schedule cycles momentum"});
}

namespace {
// Two steps of a Linear layer with fixed gradients; returns the weights.
std::vector<float> two_steps(Optimizer& opt, nn::Linear& l) {
    for (int i = 0; i < 2; ++i) {
        for (auto& [n, p] : l.named_params()) {
            p->grad = rand_tensor(p->value.shape(), 7 + i, -1.f, 1.f);
            p->grad_is_zero = false;
        }
        opt.step();
    }
    return l.named_params()[0].second->value.to_vector<float>();
}
std::unique_ptr<nn::Linear> layer() {
    auto l = std::make_unique<nn::Linear>(5, 3, true);
    for (auto& [n, p] : l->named_params()) p->value.copy_from(rand_tensor(p->value.shape(), 3, -1.f, 1.f));
    return l;
}
}  // namespace

TEST(CycleMomentumCpu, SetMomentumEqualsBuildingWithIt) {
    kernels::SgdParams sp;
    sp.momentum = 0.9f;
    sp.nesterov = true;
    auto a = layer(), b = layer();
    SGD set(a->named_params(), sp);
    set.set_momentum(0.6f);
    sp.momentum = 0.6f;
    SGD built(b->named_params(), sp);
    EXPECT_EQ(two_steps(set, *a), two_steps(built, *b));
    // A cycled momentum of 0 (--max-momentum 0) is plain SGD with Nesterov on, as in PyTorch (it was refused).
    auto z = layer(), zp = layer();
    SGD zero(z->named_params(), sp);
    zero.set_momentum(0.f);
    kernels::SgdParams no_momentum = sp;
    no_momentum.momentum = 0.f;
    no_momentum.nesterov = false;
    SGD built_plain(zp->named_params(), no_momentum);
    EXPECT_EQ(two_steps(zero, *z), two_steps(built_plain, *zp));
    expect_error([&] { set.set_momentum(1.f); }, {"momentum must be in [0, 1)"});

    kernels::AdamWParams ap;
    auto c = layer(), d = layer();
    AdamW aset(c->named_params(), ap);
    aset.set_momentum(0.7f);
    ap.beta1 = 0.7f;
    AdamW abuilt(d->named_params(), ap);
    const std::vector<float> wc = two_steps(aset, *c);
    EXPECT_EQ(wc, two_steps(abuilt, *d));
    auto e = layer();
    AdamW plain(e->named_params(), kernels::AdamWParams{});
    EXPECT_NE(wc, two_steps(plain, *e)) << "beta1 0.7 and 0.9 give the same steps: the test cannot fail";
}

TEST(CycleMomentumCpu, TrainingCyclesItAndResumesBitForBit) {
    auto config = [](const std::string& out, bool cycle) {
        TrainConfig c = tiny(out);
        c.schedule = "onecycle";
        c.cycle_momentum = cycle;
        return c;
    };
    const std::string a = fresh_dir("cycle_a"), b = fresh_dir("cycle_b"), f = fresh_dir("cycle_fixed");
    run_training(config(a, true));
    run_interrupted(config(b, true));
    EXPECT_TRUE(same_weights(a, b));
    run_training(config(f, false));
    EXPECT_FALSE(same_weights(a, f)) << "cycling the momentum changed nothing";
    TrainConfig bad = config(fresh_dir("cycle_bad"), true);
    bad.schedule = "cosine";
    expect_error([&] { bad.validate(); }, {"--cycle-momentum true needs --schedule onecycle"});
}
