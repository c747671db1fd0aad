// evaluate(): metrics of logits that hold NaN or Inf, labels outside the classes, and a pass stopped on request
// (the trainer's Ctrl-C during an evaluation).
#include <cmath>
#include <string>
#include <vector>

#include "lrp/train/loader.h"
#include "lrp/train/trainer.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::train;

namespace {
// A "model" that returns fixed logits, and a source of one fixed batch.
struct FixedLogits : nn::Module {
    Tensor logits;
    const char* type() const override { return "FixedLogits"; }
    Tensor forward(const Tensor&) override { return logits.clone(); }
    Tensor backward(const Tensor&, bool) override { LRP_THROW("not used"); }
};
struct OneBatch : BatchSource {
    Batch b;
    int64_t batches = 1, fetched = 0;  // the same batch `batches` times
    int64_t size() const override { return b.x.dim(0) * batches; }
    int64_t batches_per_epoch() const override { return batches; }
    void start_epoch(uint64_t, int64_t) override {}
    Batch batch(int64_t) override {
        ++fetched;
        return b;
    }
};
}  // namespace

// Logits holding NaN or Inf never count as a hit (every comparison with NaN is false, which would rank
// the true class first), and evaluate() reports how many samples had them.
TEST(TrainerCpu, EvaluateCountsNonFiniteLogitsAsWrong) {
    const float nan = std::nanf(""), inf = INFINITY;
    FixedLogits m;
    m.logits = Tensor::from_vector(std::vector<float>{2, 1, 0, /**/ nan, nan, nan, /**/ 0, inf, 1, /**/ 0, 1, 2},
                                   {4, 3});
    OneBatch src;
    src.b.x = Tensor::zeros({4, 1, 2, 2});
    src.b.y = Tensor::from_vector(std::vector<int32_t>{0, 0, 1, 2}, {4});
    const EvalResult r = evaluate(m, src, 3);
    EXPECT_EQ(r.samples, 4);
    EXPECT_EQ(r.nonfinite, 2);
    EXPECT_DOUBLE_EQ(r.top1, 0.5);  // samples 0 and 3; not the NaN one (label 0) nor the Inf one
    EXPECT_DOUBLE_EQ(r.top5, 0.5);
    EXPECT_TRUE(std::isnan(r.loss));
    ASSERT_EQ(r.per_class.size(), 3u);
    EXPECT_DOUBLE_EQ(r.per_class[0], 0.5);
    EXPECT_DOUBLE_EQ(r.per_class[1], 0.0);
    // A label outside the model's classes is an error, not a read past the sample's logits.
    src.b.y = Tensor::from_vector(std::vector<int32_t>{0, 3, 1, 2}, {4});
    try {
        evaluate(m, src, 3);
        FAIL() << "label 3 of 3 classes accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("sample 1 has label 3, outside the model's 3 classes"), std::string::npos)
            << e.what();
    }
}

// Asked before each batch: true ends the pass there, with no metrics and nothing more fetched; a stop that never
// says so changes nothing.
TEST(TrainerCpu, EvaluateStopsWhenAsked) {
    FixedLogits m;
    m.logits = Tensor::from_vector(std::vector<float>{2, 1, 0, /**/ 0, 3, 1}, {2, 3});
    OneBatch src;
    src.b.x = Tensor::zeros({2, 1, 2, 2});
    src.b.y = Tensor::from_vector(std::vector<int32_t>{0, 2}, {2});
    src.batches = 4;
    int asked = 0;
    EvalResult r = evaluate(m, src, 3, [&] { return ++asked == 3; });
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(asked, 3);
    EXPECT_EQ(src.fetched, 2);
    EXPECT_EQ(r.samples, 0);
    EXPECT_TRUE(r.per_class.empty());
    src.fetched = 0;
    r = evaluate(m, src, 3, [] { return false; });
    EXPECT_FALSE(r.stopped);
    EXPECT_EQ(src.fetched, 4);
    EXPECT_EQ(r.samples, 8);
    EXPECT_DOUBLE_EQ(r.top1, 0.5);
    const EvalResult plain = evaluate(m, src, 3);
    EXPECT_FALSE(plain.stopped);
    EXPECT_DOUBLE_EQ(plain.loss, r.loss);
    EXPECT_DOUBLE_EQ(plain.top1, r.top1);
}
