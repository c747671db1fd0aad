// Right for the Right Reasons (lrp/train/rrr_step.h) on the CPU: the input gradient it penalises is that of
// sum_k log p_k (against the model's own backward and finite differences, in 0-255 pixel units); one SGD step moves
// the parameters by minus the gradient of CE + lambda * penalty (directional finite differences, through the
// softmax seed); repeated steps lower the penalty; lambda = 0 is the plain step; settings are validated.
#include <cmath>

#include "grad_check.h"
#include "isnet_test_util.h"
#include "lrp/ops/elementwise.h"
#include "lrp/train/rrr_step.h"
#include "reldrop_step_test_util.h"

using namespace lrp;
using lrp::test::plain_sgd;
using lrp::test::tiny_batch;
using lrp::test::tiny_net;
using lrp::test::TinyBatch;

namespace {

// tiny_batch's images are normalised with mean 0.2 and std 0.4; foreground: the object (raw >= 0.6), not the marker.
train::RrrSettings settings(float lambda) {
    train::TrainConfig c;
    c.augment = "rrr";
    c.rrr_lambda = lambda;
    c.rrr_mask = "threshold:0.55";
    return train::rrr_settings(c, {0.2f}, {0.4f});
}

// sum_n sum_k log softmax(logits)_nk, in double.
double sum_log_p(const Tensor& logits) {
    const std::vector<float> z = logits.to_vector<float>();
    const int64_t N = logits.dim(0), K = logits.dim(1);
    double s = 0;
    for (int64_t n = 0; n < N; ++n) {
        double mx = z[n * K];
        for (int64_t k = 1; k < K; ++k) mx = std::max(mx, double(z[n * K + k]));
        double e = 0;
        for (int64_t k = 0; k < K; ++k) e += std::exp(z[n * K + k] - mx);
        for (int64_t k = 0; k < K; ++k) s += z[n * K + k] - mx - std::log(e);
    }
    return s;
}

}  // namespace

TEST(RrrStepCpu, PenalisesTheInputGradientOfTheSummedLogProbabilities) {
    auto m = tiny_net(3);
    // Random images (tiny_batch's flat background would put max-pool ties, where the function has a kink, under
    // the finite differences).
    const Tensor x = test::rand_tensor(Shape{4, 1, 8, 8}, 17, -1.f, 2.f);
    train::Rrr rrr(settings(1000.f));
    EXPECT_FLOAT_EQ(rrr.settings().pixel_scale[0], 1.f / (255.f * 0.4f));
    const Tensor g = rrr.input_gradient(*m, m->forward(x));
    // Central differences of sum log p in the raw 0-255 pixel units of a few pixels (x_normalised = (v / 255 - 0.2)
    // / 0.4): the net is piecewise linear, so a small step stays on one piece.
    const std::vector<float> gv = g.to_vector<float>(), x0 = x.to_vector<float>();
    double worst = 0, scale = 0;
    for (int64_t i : {0, 9, 19, 27, 36, 70, 101, 130, 200, 255}) {
        const double h = 0.2;  // pixel units (float logits: a much smaller step drowns in rounding)
        std::vector<float> xp = x0, xm = x0;
        xp[i] += static_cast<float>(h / (255 * 0.4));
        xm[i] -= static_cast<float>(h / (255 * 0.4));
        const double fd = (sum_log_p(m->forward(Tensor::from_vector(xp, x.shape()))) -
                           sum_log_p(m->forward(Tensor::from_vector(xm, x.shape())))) / (2 * h);
        worst = std::max(worst, std::abs(fd - gv[i]));
        scale = std::max(scale, std::abs(fd));
    }
    EXPECT_GT(scale, 1e-5) << "the gradient is not trivially zero";
    EXPECT_LT(worst, 2e-2 * scale) << "worst " << worst << " of " << scale;
}

TEST(RrrStepCpu, UpdateIsTheGradientOfTheCombinedLoss) {
    auto m = tiny_net(5);
    TinyBatch b = tiny_batch(6);
    const float lambda = 3e5f;  // the penalty a sizeable part of the loss for this tiny net
    train::Rrr rrr(settings(lambda));
    const std::vector<std::vector<float>> before = test::param_values(*m);
    train::SGD opt = plain_sgd(*m, 1.f);
    const train::RrrStepResult r = rrr.step(*m, opt, b.x, b.y);
    const float pen = r.penalty.to_vector<float>()[0], loss = r.step.loss.to_vector<float>()[0];
    EXPECT_GT(lambda * pen, 0.1f * loss) << "penalty " << pen << ", loss " << loss;
    const std::vector<test::GradVar> vars = test::update_as_gradient(*m, before);
    train::Rrr ref(settings(lambda));
    auto objective = [&] {
        Tensor logits = m->forward(b.x);
        const Tensor g = ref.input_gradient(*m, logits);
        const Tensor bg = ops::add(ops::full(Shape{6, 8, 8}, 1.f), ops::scale(ref.mask(b.x), -1.f));
        const std::vector<float> gv = g.to_vector<float>(), bv = bg.to_vector<float>();
        double p = 0;
        for (size_t i = 0; i < gv.size(); ++i) p += bv[i] * double(gv[i]) * gv[i];
        const double ce = train::cross_entropy(logits, b.y, 0.f, Tensor()).to_vector<float>()[0];
        return ce + lambda * p / 6;
    };
    std::vector<std::string> every;  // each tensor must find a kink-free direction (an undecided one is unchecked)
    for (const test::GradVar& v : vars) every.push_back(std::get<0>(v));
    EXPECT_TRUE(test::directional_check(vars, objective, "RRR step", 1e-3, 2e-2, 5, 8, 1e-4, every));
}

TEST(RrrStepCpu, RepeatedStepsLowerThePenaltyBelowPlainTraining) {
    // The same start trained with lambda 0 (the plain step; its penalty is still measured) and with the penalty.
    float last[2] = {0, 0}, first = 0;
    for (int with : {0, 1}) {
        auto m = tiny_net(7);
        TinyBatch b = tiny_batch(9);
        train::Rrr rrr(settings(with ? 3e4f : 0.f));
        train::SGD opt = plain_sgd(*m, 0.02f);
        for (int s = 0; s < 40; ++s) {
            const float p = rrr.step(*m, opt, b.x, b.y).penalty.to_vector<float>()[0];
            ASSERT_TRUE(std::isfinite(p));
            if (s == 0) first = p;
            last[with] = p;
        }
    }
    EXPECT_LT(last[1], 0.5f * first) << "first " << first << ", last " << last[1];
    EXPECT_LT(last[1], 0.5f * last[0]) << "with the penalty " << last[1] << ", without " << last[0];
}

TEST(RrrStepCpu, DatasetMasksLimitTheForeground) {
    auto m = tiny_net(4);
    TinyBatch b = tiny_batch(3);
    train::TrainConfig c;
    c.augment = "rrr";
    c.rrr_mask = "data";
    c.masks = "given";  // (only validated)
    train::Rrr rrr(train::rrr_settings(c, {0.2f}, {0.4f}));
    EXPECT_TRUE(rrr.settings().data_mask);
    test::expect_error([&] { rrr.mask(b.x); }, {"--rrr-mask data, but the batch carries no dataset masks"});
    std::vector<float> allowed(3 * 64, 1.f);
    for (int p = 0; p < 16; ++p) allowed[p] = 0.f;  // image 0: the top two rows are annotated as irrelevant
    const Tensor a = Tensor::from_vector(allowed, Shape{3, 8, 8});
    const std::vector<float> fg = rrr.mask(b.x, a).to_vector<float>();
    EXPECT_EQ(fg, allowed) << "data: the masks alone";
    train::SGD opt = plain_sgd(*m, 0.1f);
    const train::RrrStepResult r = rrr.step(*m, opt, b.x, b.y, {}, a);
    EXPECT_NEAR(r.foreground.to_vector<float>()[0], 1.f - 16.f / 192.f, 1e-6f);
    EXPECT_GT(r.penalty.to_vector<float>()[0], 0.f) << "the annotated rows of image 0";
}

TEST(RrrStepCpu, ZeroLambdaIsThePlainStep) {
    auto a = tiny_net(9), c = tiny_net(9);
    TinyBatch b = tiny_batch(6);
    train::Rrr rrr(settings(0.f));
    train::SGD oa = plain_sgd(*a, 0.1f), oc = plain_sgd(*c, 0.1f);
    const train::RrrStepResult r = rrr.step(*a, oa, b.x, b.y);
    const train::StepResult p = train::train_step(*c, oc, b.x, b.y);
    EXPECT_EQ(r.step.loss.to_vector<float>(), p.loss.to_vector<float>());
    EXPECT_GT(r.penalty.to_vector<float>()[0], 0.f);
    EXPECT_NEAR(r.foreground.to_vector<float>()[0], 9.f / 64.f, 1e-6f) << "the 3 x 3 objects";
    auto pa = a->named_params(), pc = c->named_params();
    for (size_t i = 0; i < pa.size(); ++i)
        EXPECT_EQ(pa[i].second->value.to_vector<float>(), pc[i].second->value.to_vector<float>()) << pa[i].first;
}

TEST(RrrStepCpu, SettingsAreValidated) {
    train::TrainConfig c;
    c.augment = "rrr";
    c.rrr_lambda = -1.f;
    test::expect_error([&] { c.validate(); }, {"--rrr-lambda must be a finite number >= 0 (got -1)"});
    c.rrr_lambda = 10.f;
    c.rrr_mask = "otsu";
    test::expect_error([&] { c.validate(); }, {"--rrr-mask must be auto, threshold:<v>", "'otsu'"});
    c.rrr_mask = "data";
    test::expect_error([&] { c.validate(); }, {"--rrr-mask data", "--masks <dir>"});
    c.rrr_mask = "auto";
    EXPECT_NO_THROW(c.validate());
    EXPECT_EQ(c.rrr_mask_spec(), "threshold:0.02");
    test::expect_error([&] { train::Rrr(train::RrrSettings{}); }, {"RRR: 0 foreground level(s)"});
}
