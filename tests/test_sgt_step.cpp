// The SGT step (lrp/train/sgt_step.h) on the CPU: mask() is the saliency ops composed by hand and leaves the model
// as it was; one SGD step moves the parameters by minus the gradient of CE + lambda KL (directional finite
// differences, BN in train mode, clean target attached or detached); BN running statistics count the clean and the
// masked forward once each; lambda 0 is the plain step; settings are validated by name; a run logs SGT's metrics
// and resumes mid-epoch bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "grad_check.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/target.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/affine.h"
#include "lrp/nn/batchnorm.h"
#include "lrp/nn/pooling.h"
#include "lrp/nn/sequential.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/reduce.h"
#include "lrp/ops/sgt.h"
#include "lrp/train/sgt_step.h"
#include "graph_test_util.h"
#include "reldrop_step_test_util.h"
#include "trainer_test_util.h"

using namespace lrp;
using namespace lrp::test;
using lrp::train::Sgt;
using lrp::train::SgtSettings;

namespace {

// conv-BN-ReLU-maxpool-conv-BN-ReLU-flatten-linear on 2 x 8 x 8, 4 classes.
std::unique_ptr<nn::Sequential> bn_net(uint32_t seed) {
    auto m = std::make_unique<nn::Sequential>();
    m->emplace<nn::Conv2d>("0", 2, 4, 3, 1, 1, false);
    m->emplace<nn::BatchNorm2d>("1", 4);
    m->emplace<nn::ReLU>("2");
    m->emplace<nn::MaxPool2d>("3", 2);
    m->emplace<nn::Conv2d>("4", 4, 4, 3, 1, 1, false);
    m->emplace<nn::BatchNorm2d>("5", 4);
    m->emplace<nn::ReLU>("6");
    m->emplace<nn::Flatten>("7");
    m->emplace<nn::Linear>("8", 4 * 4 * 4, 4, true);
    for (auto& [n, p] : m->named_params()) {
        const Shape& s = p->value.shape();
        const float a = s.ndim() >= 2 ? 1.5f / std::sqrt(static_cast<float>(s.numel() / s[0])) : 0.2f;
        p->value.copy_from(rand_tensor(s, seed++, s.ndim() >= 2 ? -a : 0.5f, s.ndim() >= 2 ? a : 1.5f));
    }
    return m;
}

SgtSettings sgt(float lambda = 1.f, float frac = 0.25f) {
    SgtSettings s;
    s.frac = frac;
    s.lambda = lambda;
    return s;
}

}  // namespace

TEST(SgtStepCpu, MaskIsTheGradientSaliencyBottomKThenTheFill) {
    StepFixture f(Device::cpu());
    f.model->train(true);
    const auto before = snapshot(*f.model);
    Sgt sgt_(sgt(1.f, 0.1f));
    EXPECT_EQ(sgt_.pixels(16, 16), 25);
    Generator g(4, 2);
    Tensor valid;
    const Tensor xm = sgt_.mask(*f.model, f.x, f.y, g, &valid);
    EXPECT_TRUE(f.model->training());
    EXPECT_EQ(snapshot(*f.model), before) << "the saliency pass changed weights or running statistics";
    EXPECT_EQ(valid.to_vector<float>(), std::vector<float>(6, 1.f));
    // By hand: the input gradient of the label's logit in eval mode, its 25 smallest channel sums, random fill in
    // each image channel's [min, max].
    f.model->eval();
    const Tensor z = f.model->forward(f.x);
    const Tensor grad = f.model->backward(explain::initial_relevance(z, explain::Target::label(f.y)), false);
    f.model->train(true);
    Tensor idx = Tensor::empty(Shape{6, 25}, DType::I32), v2 = Tensor::empty(Shape{6});
    ops::sgt_bottom_k(grad, 25, false, idx, v2);
    Tensor lo = Tensor::empty(Shape{6, 3}), hi = Tensor::empty(Shape{6, 3});
    ops::reduce_rows(ops::ReduceOp::Min, f.x, lo);
    ops::reduce_rows(ops::ReduceOp::Max, f.x, hi);
    Tensor want = f.x.clone();
    Generator g2(4, 2);
    ops::sgt_fill(want, idx, v2, lo, hi, g2);
    EXPECT_EQ(xm.to_vector<float>(), want.to_vector<float>());
    EXPECT_EQ(g.offset(), g2.offset());
    // 25 pixels x 3 channels per image changed, nothing else.
    const std::vector<float> a = xm.to_vector<float>(), b = f.x.to_vector<float>();
    int changed = 0;
    for (size_t i = 0; i < a.size(); ++i) changed += a[i] != b[i];
    EXPECT_EQ(changed, 6 * 25 * 3);
    // A constant fill writes its value.
    SgtSettings s = sgt(1.f, 0.1f);
    s.fill = train::SgtFill::Constant;
    s.constant = {0.5f, -0.25f, 2.f};
    Sgt c(s);
    Generator g3(4, 2);
    const std::vector<float> xc = c.mask(*f.model, f.x, f.y, g3).to_vector<float>();
    const std::vector<int32_t> id = idx.to_vector<int32_t>();
    for (int n = 0; n < 6; ++n)
        for (int j = 0; j < 25; ++j)
            for (int ch = 0; ch < 3; ++ch) EXPECT_EQ(xc[(n * 3 + ch) * 256 + id[n * 25 + j]], s.constant[ch]);
}

TEST(SgtStepCpu, PixelCountImageMeanFillAndLogProbSaliency) {
    EXPECT_EQ(Sgt(sgt(1.f, 0.7f)).pixels(10, 10), 70);  // not 69 (0.7f is 0.69999999)
    EXPECT_EQ(Sgt(sgt(1.f, 0.1f)).pixels(28, 28), 78);  // the authors' int(0.1 * 784)
    EXPECT_EQ(Sgt(sgt(1.f, 1.f)).pixels(5, 7), 35);
    EXPECT_EQ(Sgt(sgt(1.f, 1e-4f)).pixels(5, 7), 1);
    StepFixture f(Device::cpu());
    // image-mean: every channel of a masked pixel holds that image channel's mean.
    SgtSettings s = sgt(1.f, 0.1f);
    s.fill = train::SgtFill::ImageMean;
    Generator g(1);
    const std::vector<float> xm = Sgt(s).mask(*f.model, f.x, f.y, g).to_vector<float>(), x = f.x.to_vector<float>();
    int changed = 0;
    for (int n = 0; n < 6; ++n)
        for (int c = 0; c < 3; ++c) {
            double mean = 0;
            for (int i = 0; i < 256; ++i) mean += x[(n * 3 + c) * 256 + i];
            mean /= 256;
            for (int i = 0; i < 256; ++i)
                if (xm[(n * 3 + c) * 256 + i] != x[(n * 3 + c) * 256 + i]) {
                    EXPECT_FLOAT_EQ(xm[(n * 3 + c) * 256 + i], static_cast<float>(mean)) << n << ", " << c << ", " << i;
                    ++changed;
                }
        }
    EXPECT_GT(changed, 6 * 3 * 20);  // 25 pixels per image, unless a pixel already held the mean
    // logprob-gradient ranks by d log p_y / dx: the backward of onehot(y) - softmax(z), by hand.
    SgtSettings lp = sgt(1.f, 0.1f);
    lp.saliency = "logprob-gradient";
    lp.fill = train::SgtFill::Constant;
    lp.constant = {7.f};
    Generator g2(1);
    const std::vector<float> got = Sgt(lp).mask(*f.model, f.x, f.y, g2).to_vector<float>();
    f.model->eval();
    const Tensor z = f.model->forward(f.x);
    std::vector<float> zv = z.to_vector<float>(), seed(zv.size());
    const std::vector<int32_t> y = f.y.to_vector<int32_t>();
    for (int n = 0; n < 6; ++n) {
        double mx = zv[n * 5], sum = 0;
        for (int k = 1; k < 5; ++k) mx = std::max<double>(mx, zv[n * 5 + k]);
        for (int k = 0; k < 5; ++k) sum += std::exp(zv[n * 5 + k] - mx);
        for (int k = 0; k < 5; ++k)
            seed[n * 5 + k] = static_cast<float>((k == y[n] ? 1.0 : 0.0) - std::exp(zv[n * 5 + k] - mx) / sum);
    }
    const Tensor grad = f.model->backward(Tensor::from_vector(seed, z.shape()), false);
    f.model->train(true);
    Tensor idx = Tensor::empty(Shape{6, 25}, DType::I32), valid = Tensor::empty(Shape{6});
    ops::sgt_bottom_k(grad, 25, false, idx, valid);
    const std::vector<int32_t> id = idx.to_vector<int32_t>();
    for (int n = 0; n < 6; ++n)
        for (int j = 0; j < 25; ++j) EXPECT_EQ(got[(n * 3) * 256 + id[n * 25 + j]], 7.f) << n << ", " << j;
    int sevens = 0;
    for (float v : got) sevens += v == 7.f;
    EXPECT_EQ(sevens, 6 * 25 * 3);
    // ... which is not the logit gradient's choice.
    SgtSettings lg = lp;
    lg.saliency = "gradient";
    Generator g3(1);
    EXPECT_NE(Sgt(lg).mask(*f.model, f.x, f.y, g3).to_vector<float>(), got);
}

namespace {
// SGD with lr 1, no momentum or decay: the update is minus the gradient of CE(f(x)) + lambda KL(f(x) || f(xm)),
// both forwards in train mode (batch statistics), xm fixed (the step's own masked batch).
void check_update_is_the_gradient(bool detach) {
    auto m = bn_net(3);
    const Tensor x = rand_tensor({6, 2, 8, 8}, 41, -2.f, 2.f);
    const Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3, 1, 2}, {6});
    SgtSettings s = sgt(2.f, 0.25f);
    s.detach_clean = detach;
    Sgt step_sgt(s);
    const auto before = param_values(*m);
    train::SGD opt = plain_sgd(*m, 1.f);
    Generator g(1);
    Tensor xm;
    const train::SgtStepResult r = step_sgt.step(*m, opt, x, y, g, {}, &xm);
    EXPECT_GT(r.kl.to_vector<float>()[0], 0.f);
    EXPECT_EQ(r.nonfinite.to_vector<float>()[0], 0.f);
    const std::vector<test::GradVar> vars = test::update_as_gradient(*m, before);
    m->train(true);
    // The clean logits of the unperturbed weights: the constant KL target when detached.
    const Tensor z0 = m->forward(x).clone();
    auto loss = [&] {
        const Tensor zc = m->forward(x), zm = m->forward(xm);
        const double ce = train::cross_entropy(zc, y, 0.f, Tensor()).to_vector<float>()[0];
        Tensor d = Tensor::empty(zc.shape());
        const Tensor kl = ops::sgt_kl(detach ? z0 : zc, zm, ops::full(Shape{6}, 1.f), 1.f, Tensor(), d);
        double sum = 0;
        for (float v : kl.to_vector<float>()) sum += v;
        return ce + 2.0 * sum / 6;
    };
    EXPECT_TRUE(test::directional_check(vars, loss, detach ? "SGT step (detached)" : "SGT step", 1e-3, 2e-2, 5, 8, 1e-4));
}
}  // namespace

TEST(SgtStepCpu, UpdateIsTheGradientOfCePlusLambdaKl) { check_update_is_the_gradient(false); }
TEST(SgtStepCpu, DetachedUpdateIsTheGradientWithAConstantTarget) { check_update_is_the_gradient(true); }

TEST(SgtStepCpu, RunningStatisticsCountTheCleanAndTheMaskedForwardOnce) {
    auto a = bn_net(5), b = bn_net(5);
    const Tensor x = rand_tensor({6, 2, 8, 8}, 42, -1.f, 3.f);
    const Tensor y = Tensor::from_vector(std::vector<int32_t>{3, 1, 2, 0, 1, 2}, {6});
    Sgt s(sgt());
    train::SGD opt = plain_sgd(*a, 0.1f);
    Generator g(2);
    Tensor xm;
    s.step(*a, opt, x, y, g, {}, &xm);
    b->train(true);
    b->forward(x);
    b->forward(xm);
    const nn::StateDict sa = a->state_dict(), sb = b->state_dict();
    for (const char* k : {"1.running_mean", "1.running_var", "5.running_mean", "5.running_var"})
        EXPECT_EQ(sa.at(k).to_vector<float>(), sb.at(k).to_vector<float>()) << k;
    EXPECT_EQ(sa.at("1.num_batches_tracked").to_vector<int64_t>(), std::vector<int64_t>{2});
}

// lambda 0: the KL path runs (its value is reported) but the parameters move as the plain step's, bit for bit.
TEST(SgtStepCpu, ZeroLambdaIsThePlainStep) {
    StepFixture fa(Device::cpu()), fb(Device::cpu());
    Sgt s(sgt(0.f));
    Generator g(3);
    const train::SgtStepResult r = s.step(*fa.model, *fa.opt, fa.x, fa.y, g);
    const train::StepResult p = train::train_step(*fb.model, *fb.opt, fb.x, fb.y);
    EXPECT_EQ(r.step.loss.to_vector<float>(), p.loss.to_vector<float>());
    EXPECT_GT(r.kl.to_vector<float>()[0], 0.f);
    auto pa = fa.model->named_params(), pb = fb.model->named_params();
    for (size_t i = 0; i < pa.size(); ++i)
        EXPECT_EQ(pa[i].second->value.to_vector<float>(), pb[i].second->value.to_vector<float>()) << pa[i].first;
    // With lambda > 0 the KL moves them.
    StepFixture fc(Device::cpu());
    Sgt s1(sgt(1.f));
    Generator g1(3);
    s1.step(*fc.model, *fc.opt, fc.x, fc.y, g1);
    EXPECT_NE(param_values(*fc.model), param_values(*fb.model));
}

// With dropout: the recomputed clean forward draws the first forward's masks (lambda 0: the update is the plain
// step's, bit for bit, which it is not when the recomputation draws new masks).
TEST(SgtStepCpu, RecomputedForwardReplaysTheDropoutMasks) {
    auto make = [] {
        auto m = std::make_unique<nn::Sequential>();
        m->emplace<nn::Conv2d>("0", 2, 4, 3, 1, 1, true);
        m->emplace<nn::ReLU>("1");
        m->emplace<nn::Flatten>("2");
        m->emplace<nn::Dropout>("3", 0.5f);
        m->emplace<nn::Linear>("4", 4 * 8 * 8, 4, true);
        uint32_t seed = 11;
        for (auto& [n, p] : m->named_params()) p->value.copy_from(rand_tensor(p->value.shape(), seed++, -0.3f, 0.3f));
        return m;
    };
    auto a = make(), b = make();
    Generator da(5, 7), db(5, 7);
    nn::set_dropout_generator(*a, &da);
    nn::set_dropout_generator(*b, &db);
    const Tensor x = rand_tensor({6, 2, 8, 8}, 43, -2.f, 2.f);
    const Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3, 1, 2}, {6});
    train::SGD oa = plain_sgd(*a, 0.5f), ob = plain_sgd(*b, 0.5f);
    Sgt s(sgt(0.f));
    Generator g(1);
    s.step(*a, oa, x, y, g);
    train::train_step(*b, ob, x, y);
    EXPECT_EQ(param_values(*a), param_values(*b));
    EXPECT_EQ(da.offset(), 7u + 2 * (db.offset() - 7u)) << "the clean and the masked forward draw once each";
}

TEST(SgtStepCpu, SettingsAreValidatedByName) {
    auto bad = [](const std::function<void(SgtSettings&)>& edit, const std::vector<std::string>& parts) {
        SgtSettings s = sgt();
        edit(s);
        expect_error([&] { Sgt e(s); }, parts);
    };
    bad([](SgtSettings& s) { s.frac = 0.f; }, {"masked fraction must be in (0, 1]"});
    bad([](SgtSettings& s) { s.lambda = -1.f; }, {"lambda must be finite and >= 0", "-1"});
    bad([](SgtSettings& s) { s.saliency = "grad"; }, {"unknown composite 'grad'"});
    bad([](SgtSettings& s) { s.fill = train::SgtFill::Constant; }, {"constant fill without a value"});
    train::TrainConfig c;
    c.augment = "sgt";
    const std::vector<float> mean{0.5f}, sd{0.25f};
    const SgtSettings d = train::sgt_settings(c, mean, sd);
    EXPECT_EQ(d.fill, train::SgtFill::Random);
    EXPECT_EQ(d.frac, 0.1f);
    c.sgt_fill = "raw:1";
    EXPECT_EQ(train::sgt_settings(c, mean, sd).constant, std::vector<float>{2.f});
    c.sgt_fill = "image-mean";
    EXPECT_EQ(train::sgt_settings(c, mean, sd).fill, train::SgtFill::ImageMean);
    c.sgt_fill = "noise";
    expect_error([&] { train::sgt_settings(c, mean, sd); }, {"--sgt-fill", "'noise'"});
    expect_error([&] { c.validate(); }, {"--sgt-fill must be random, image-mean", "'noise'"});
    c.sgt_fill = "random";
    c.sgt_saliency = "epsilon";
    expect_error([&] { train::sgt_settings(c, mean, sd); }, {"--sgt-saliency epsilon", "unknown composite"});
    expect_error([&] { c.validate(); }, {"--sgt-saliency must be gradient, logprob-gradient or a composite",
                                         "epsilon_plus_flat", "'epsilon'"});
    c.sgt_saliency = "logprob-gradient";
    c.sgt_epsilon = 0.1f;
    expect_error([&] { c.validate(); }, {"--sgt-saliency logprob-gradient has no epsilon"});
    c.sgt_saliency = "epsilon_plus";
    EXPECT_NO_THROW(c.validate());
    c.sgt_saliency = "guided_backprop";  // a composite without Epsilon rules: warned about (a recorded run resumes)
    EXPECT_NO_THROW(c.validate());
    c.sgt_saliency = "gradient";
    c.sgt_epsilon = 0.1f;
    expect_error([&] { c.validate(); }, {"--sgt-epsilon applies to a saliency composite"});
    c.sgt_epsilon = 0.f;
    c.sgt_frac = 1.5f;
    expect_error([&] { c.validate(); }, {"--sgt-frac must be in (0, 1]", "1.5"});
    c.sgt_frac = 0.5f;
    c.sgt_lambda = NAN;
    expect_error([&] { c.validate(); }, {"--sgt-lambda must be a finite number >= 0"});
    c.sgt_lambda = 1.f;
    EXPECT_NO_THROW(c.validate());
}

TEST(SgtStepCpu, LrpSaliencyRanksByTheCompositesRelevance) {
    StepFixture f(Device::cpu());
    SgtSettings s = sgt(1.f, 0.1f);
    s.saliency = "epsilon_plus_flat";
    s.fill = train::SgtFill::Constant;
    s.constant = {9.f};
    Sgt lrp_sgt(s);
    Generator g(1);
    const Tensor xm = lrp_sgt.mask(*f.model, f.x, f.y, g);
    explain::Composite c = explain::make_composite("epsilon_plus_flat");
    const Tensor rel = explain::attribute(*f.model, f.x, explain::Target::label(f.y), c);
    Tensor idx = Tensor::empty(Shape{6, 25}, DType::I32), valid = Tensor::empty(Shape{6});
    ops::sgt_bottom_k(rel, 25, false, idx, valid);
    const std::vector<float> got = xm.to_vector<float>();
    const std::vector<int32_t> id = idx.to_vector<int32_t>();
    int nines = 0;
    for (float v : got) nines += v == 9.f;
    EXPECT_EQ(nines, 6 * 25 * 3);
    for (int n = 0; n < 6; ++n)
        for (int j = 0; j < 25; ++j) EXPECT_EQ(got[(n * 3) * 256 + id[n * 25 + j]], 9.f) << n << ", " << j;
}

TEST(TrainerCpu, SgtRunLogsItsMetricsAndResumesMidEpochBitForBit) {
    const std::string a = fresh_dir("sgt_full"), b = fresh_dir("sgt_resumed");
    train::TrainConfig ca = tiny(a);
    ca.epochs = 2;
    ca.augment = "sgt";
    train::run_training(ca);
    const auto r = rows(a);
    ASSERT_EQ(r.size(), 2u);
    for (const auto& row : r) {
        ASSERT_TRUE(row.contains("sgt_masked_acc")) << row.dump();
        const double v = row["sgt_masked_acc"].get<double>();
        EXPECT_NEAR(v * 64, std::round(v * 64), 1e-6) << "a count over the epoch's 64 images";
        EXPECT_GT(row["sgt_kl"].get<double>(), 0.0);
        EXPECT_EQ(row["sgt_nonfinite_maps"].get<double>(), 0.0);
    }
    EXPECT_TRUE(std::filesystem::exists(a + "/first_batch.png"));
    train::TrainConfig cb = ca;
    cb.out_dir = b;
    cb.stop_after_step = 2;  // inside epoch 1 (4 steps)
    train::run_training(cb);
    cb.stop_after_step = 0;
    cb.resume = true;
    train::run_training(cb);
    EXPECT_TRUE(same_weights(a, b));
    const std::vector<nlohmann::json> q = rows(b);
    ASSERT_EQ(q.size(), 2u);
    for (int e = 0; e < 2; ++e)
        for (const char* k : {"train_loss", "sgt_masked_acc", "sgt_kl", "test_acc"}) EXPECT_EQ(q[e][k], r[e][k]) << k;
}

// The whole step on CUDA against the CPU: the same masked batch (up to pixels whose saliencies differ by rounding),
// loss, KL and parameters within float tolerance.
TEST(SgtStepCuda, MatchesTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    StepFixture fc(Device::cpu()), fg(Device::cuda(0));
    Sgt sc(sgt(1.f, 0.1f)), sg(sgt(1.f, 0.1f));
    Generator gc(3), gg(3);
    Tensor xc, xg;
    const auto before = snapshot(*fc.model);
    const train::SgtStepResult rc = sc.step(*fc.model, *fc.opt, fc.x, fc.y, gc, {}, &xc);
    const train::SgtStepResult rg = sg.step(*fg.model, *fg.opt, fg.x, fg.y, gg, {}, &xg);
    EXPECT_EQ(gg.offset(), gc.offset());
    const std::vector<float> a = xg.to_vector<float>(), b = xc.to_vector<float>();
    size_t differ = 0;
    for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i];
    EXPECT_LE(differ, a.size() / 100) << "masked batches differ in " << differ << " of " << a.size() << " values";
    const test::Tol tol{1e-4, 1e-3};
    EXPECT_TRUE(test::all_close(rg.step.loss.to_vector<float>(), rc.step.loss.to_vector<float>(), tol));
    EXPECT_TRUE(test::all_close(rg.kl.to_vector<float>(), rc.kl.to_vector<float>(), tol));
    EXPECT_EQ(rg.masked_correct.to_vector<float>(), rc.masked_correct.to_vector<float>());
    // The updates, not the values (a parameter's tolerance would hide its whole update): equal to float rounding
    // where the masked batches agree; a pixel masked on one backend only (a saliency tie broken by rounding) moves
    // them by far less than a wrong or missing term would.
    EXPECT_LT(update_distance(before, snapshot(*fc.model), snapshot(*fg.model)), differ == 0 ? 1e-3 : 5e-2)
        << differ << " values of the masked batches differ";
}

// The whole step (saliency, bottom-k, fill, three forwards, BN statistics kept and restored, two backwards, update)
// captures into a CUDA graph and replays to the eager result.
TEST(SgtStepCuda, WholeStepCapturesIntoAGraphAndReplaysToTheEagerResult) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    prepare_capture(dev);
    StepFixture f(dev, 8);
    Sgt s(sgt(1.f, 0.1f));
    Generator g(9);
    for (int i = 0; i < 3; ++i) s.step(*f.model, *f.opt, f.x, f.y, g);  // warm-up: blocks, plans
    const uint64_t offset0 = g.offset();
    auto [eager, replayed] = eager_and_replayed(dev, *f.model, *f.opt, [&] { g.set_state(g.seed(), offset0); }, [&] {
        Tensor masked;
        const train::SgtStepResult r = s.step(*f.model, *f.opt, f.x, f.y, g, {}, &masked);
        return std::vector<Tensor>{masked, r.step.loss, r.kl};
    }, "SGT step");
    EXPECT_EQ(replayed.results[0].to_vector<float>(), eager.results[0].to_vector<float>());
    for (int i : {1, 2}) {
        const float v = eager.results[i].to_vector<float>()[0];
        ASSERT_TRUE(std::isfinite(v)) << "the eager steps diverged";
        EXPECT_NEAR(replayed.results[i].to_vector<float>()[0], v, 1e-4 * std::fabs(v) + 1e-6) << i;
    }
    for (auto& [k, v] : eager.params) EXPECT_LT(rel_l2(replayed.params.at(k), v), 1e-4) << k;
}
