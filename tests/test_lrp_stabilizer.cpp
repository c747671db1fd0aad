// The stabilizer (zennit's test_stabilize table: default, clip and norm_scale modes; +-0 -> +eps; NaN
// propagation) and the exact helper masks rules are built from (sgn0, indicators, maximum); CPU and CUDA.
#include <cmath>
#include <limits>

#include "lrp/lrp/rule_math.h"
#include "lrp/lrp/stabilizer.h"
#include "lrp/ops/elementwise.h"
#include "lrp_test_util.h"

using namespace lrp;
using namespace lrp::explain;

namespace {
std::vector<float> stab_of(const std::vector<float>& z, const Shape& s, const Stabilizer& st, Device d = Device::cpu()) {
    return stabilize(Tensor::from_vector(z, s, d), st).to_vector<float>();
}
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

void check_table(Device d) {
    const std::vector<float> z{0.f, -0.f, 1.f, -1.f};
    // default: z + eps * sgn0(z), sgn0(+-0) = +1
    for (float eps : {1e-6f, 1e-3f, 1.f}) {
        std::vector<float> got = stab_of(z, {1, 4}, eps, d);
        EXPECT_EQ(got, (std::vector<float>{eps, eps, 1.f + eps, -1.f - eps})) << eps;
    }
    // clip: sgn0(z) * max(|z|, eps)
    EXPECT_EQ(stab_of(z, {1, 4}, Stabilizer::clipped(1e-3f), d), (std::vector<float>{1e-3f, 1e-3f, 1.f, -1.f}));
    EXPECT_EQ(stab_of(z, {1, 4}, Stabilizer::clipped(2.f), d), (std::vector<float>{2.f, 2.f, 2.f, -2.f}));
    // norm_scale: eps * RMS over the non-batch dims ([0, -0, 2, -2]: RMS sqrt(2)); then add or clip
    const std::vector<float> z2{0.f, -0.f, 2.f, -2.f};
    std::vector<float> got = stab_of(z2, {1, 4}, Stabilizer::scaled(1.f), d);
    const float r2 = std::sqrt(2.f);
    EXPECT_TRUE(test::all_close(got, std::vector<float>{r2, r2, 2 + r2, -2 - r2}));
    got = stab_of(z2, {1, 4}, Stabilizer::scaled(1.f, /*clip=*/true), d);
    EXPECT_TRUE(test::all_close(got, std::vector<float>{r2, r2, 2.f, -2.f}));
    // per sample: the second row's RMS is 1 (values +-1), the first's sqrt(2)
    got = stab_of({0.f, -0.f, 2.f, -2.f, 1.f, -1.f, 1.f, -1.f}, {2, 4}, Stabilizer::scaled(0.5f), d);
    EXPECT_TRUE(test::all_close(got, std::vector<float>{r2 / 2, r2 / 2, 2 + r2 / 2, -2 - r2 / 2, 1.5f, -1.5f, 1.5f, -1.5f}));
    // a mean square that underflows (|z| ~ 1e-25) gives eps * 0 = 0, one that overflows (|z| ~ 1e25) eps * inf,
    // as zennit's eps * sqrt(ms) does; never NaN
    got = stab_of({1e-25f, -1e-25f, 1e25f, -1e25f}, {2, 2}, Stabilizer::scaled(0.5f), d);
    EXPECT_EQ(got, (std::vector<float>{1e-25f, -1e-25f, kInf, -kInf}));
    // NaN stays NaN in every mode
    for (const Stabilizer& st : {Stabilizer(1e-6f), Stabilizer::clipped(1e-3f)}) {
        std::vector<float> n = stab_of({kNaN, 1.f}, {1, 2}, st, d);
        EXPECT_TRUE(std::isnan(n[0]));
        EXPECT_EQ(n[1], st.clip ? 1.f : 1.f + 1e-6f);
    }
    // epsilon 0: z itself
    EXPECT_EQ(stab_of({3.f, -2.f}, {1, 2}, 0.f, d), (std::vector<float>{3.f, -2.f}));
    // stab_divide agrees with r / stabilize(z) in every mode
    Tensor r = test::rand_tensor({3, 5}, 1, -1.f, 1.f, d), zt = test::rand_tensor({3, 5}, 2, -1.f, 1.f, d);
    for (const Stabilizer& st : {Stabilizer(0.1f), Stabilizer::clipped(0.3f), Stabilizer::scaled(0.2f)}) {
        std::vector<float> q = stab_divide(r, zt, st).to_vector<float>(), rv = r.to_vector<float>(),
                           sv = stabilize(zt, st).to_vector<float>();
        for (size_t i = 0; i < q.size(); ++i) EXPECT_FLOAT_EQ(q[i], rv[i] / sv[i]) << st.str();
    }
}

void check_masks(Device d) {
    Tensor t = Tensor::from_vector(std::vector<float>{-2.f, -0.f, 0.f, 3.f, -1e-30f, 1e-30f}, {6}, d);
    EXPECT_EQ(math::sgn0(t).to_vector<float>(), (std::vector<float>{-1, 1, 1, 1, -1, 1}));
    EXPECT_EQ(math::is_positive(t).to_vector<float>(), (std::vector<float>{0, 0, 0, 1, 0, 1}));
    EXPECT_EQ(math::is_negative(t).to_vector<float>(), (std::vector<float>{1, 0, 0, 0, 1, 0}));
    EXPECT_EQ(math::pos(t).to_vector<float>()[0], 0.f);
    EXPECT_EQ(math::neg(t).to_vector<float>()[3], 0.f);
    Tensor a = Tensor::from_vector(std::vector<float>{1.f, -2.f, 0.1f, 5.f}, {4}, d);
    Tensor b = Tensor::from_vector(std::vector<float>{0.3f, -1.f, 0.1f, 7.f}, {4}, d);
    EXPECT_EQ(math::maximum(a, b).to_vector<float>(), (std::vector<float>{1.f, -1.f, 0.1f, 7.f}));
}
}  // namespace

TEST(LrpCpuStabilizer, ZennitReferenceValues) { check_table(Device::cpu()); }
TEST(LrpCpuStabilizer, ExactMasks) { check_masks(Device::cpu()); }

TEST(LrpCpuStabilizer, RejectsBadEpsilonAndNames) {
    Tensor z = Tensor::from_vector(std::vector<float>{1.f}, {1, 1});
    EXPECT_THROW(stabilize(z, Stabilizer(-1.f)), Error);
    EXPECT_THROW(stabilize(z, Stabilizer(std::numeric_limits<float>::infinity())), Error);
    EXPECT_EQ(Stabilizer(1e-3f).str(), "0.001");
    EXPECT_EQ(Stabilizer::clipped(1e-3f).str(), "clip(0.001)");
    EXPECT_EQ(Stabilizer::scaled(1.f).str(), "norm_scale(1)");
}

TEST(LrpCudaStabilizer, ZennitReferenceValues) {
    LRP_SKIP_WITHOUT_CUDA();
    check_table(Device::cuda(0));
    check_masks(Device::cuda(0));
}
