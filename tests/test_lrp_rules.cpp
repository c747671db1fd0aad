// Every affine rule against its double-precision matrix-form reference (lrp_reference.h) on Linear and
// Conv2d (stride 1/2, padding 0/1, odd and even sizes, dilation 2, groups 2, with and without bias,
// zero_bias), with relevance = the layer output (zennit's fixture) and with random relevance; the
// stabilizer table; Flat counts; identities between rules; and CUDA against the CPU for every rule.
#include <cmath>
#include <memory>

#include "lrp/lrp/rule_math.h"
#include "lrp/lrp/rules.h"
#include "lrp/lrp/stabilizer.h"
#include "lrp/ops/elementwise.h"
#include "lrp_reference.h"
#include "lrp_test_util.h"

using namespace lrp;
using namespace lrp::explain;

namespace {

struct LayerCase {
    const char* label;
    bool conv;
    int N, C, K, H, W, k, stride, pad, dil, groups;
    bool bias;
};

const std::vector<LayerCase>& layer_cases() {
    static const std::vector<LayerCase> c = {
        {"linear 16->15 bias", false, 3, 16, 15, 1, 1, 1, 1, 0, 1, 1, true},
        {"linear 16->15", false, 3, 16, 15, 1, 1, 1, 1, 0, 1, 1, false},
        {"conv 3->4 k3 s1 p0 bias", true, 2, 3, 4, 6, 5, 3, 1, 0, 1, 1, true},
        {"conv 3->4 k3 s1 p1", true, 2, 3, 4, 5, 5, 3, 1, 1, 1, 1, false},
        {"conv 3->5 k3 s2 p1 even bias", true, 2, 3, 5, 8, 6, 3, 2, 1, 1, 1, true},
        {"conv 2->3 k3 s2 p1 odd", true, 2, 2, 3, 7, 7, 3, 2, 1, 1, 1, false},
        {"conv 3->2 k2 s2 p0 bias", true, 2, 3, 2, 6, 6, 2, 2, 0, 1, 1, true},
        {"conv 3->1 k1 s1 p0 bias", true, 2, 3, 1, 4, 4, 1, 1, 0, 1, 1, true},
        {"conv 4->6 k3 s1 p2 dil2 groups2 bias", true, 2, 4, 6, 7, 6, 3, 1, 2, 2, 2, true},
    };
    return c;
}

// Values on a grid (multiples of 1/q in [-hi, hi]): with x on 1/64 and weights on 1/128, every product
// is a multiple of 2^-13 and every layer output (and every modified output: W+, W^2, W + gamma W+,
// box bounds) is exact in fp32. The fp32-vs-double comparison then measures the rule, not the
// amplification of rounding in z where |z| ~ epsilon (the CUTLASS exact-input idea).
Tensor grid_tensor(const Shape& s, uint32_t seed, float hi, float q, Device d = Device::cpu()) {
    std::vector<float> v = test::random_vec(static_cast<size_t>(s.numel()), seed, -hi, hi);
    for (float& x : v) x = std::round(x * q) / q;
    return Tensor::from_vector(v, s, d);
}

std::unique_ptr<nn::AffineLayer> make_layer(const LayerCase& c, uint32_t seed, Device d = Device::cpu()) {
    std::unique_ptr<nn::AffineLayer> l;
    if (c.conv) l = std::make_unique<nn::Conv2d>(c.C, c.K, c.k, c.stride, c.pad, c.bias, c.dil, c.groups);
    else l = std::make_unique<nn::Linear>(c.C, c.K, c.bias);
    l->weight.value.copy_from(grid_tensor(l->weight.value.shape(), seed, 0.5f, 128.f));
    if (c.bias) l->bias.value.copy_from(grid_tensor(l->bias.value.shape(), seed + 1, 0.3f, 128.f));
    l->to(d);
    return l;
}

Shape input_shape(const LayerCase& c) { return c.conv ? Shape{c.N, c.C, c.H, c.W} : Shape{c.N, c.C}; }

struct RuleCase {
    const char* label;
    RulePtr rule;
    test::RefRule ref;
};

std::vector<RuleCase> rule_cases() {
    auto ref = [](const char* kind) {
        test::RefRule r;
        r.kind = kind;
        return r;
    };
    test::RefRule eps_clip = ref("epsilon"), eps_norm = ref("epsilon"), eps_norm_clip = ref("epsilon");
    eps_clip.eps = 0.05, eps_clip.mode.clip = true;
    eps_norm.eps = 0.1, eps_norm.mode.norm_scale = true;
    eps_norm_clip.eps = 0.5, eps_norm_clip.mode.norm_scale = eps_norm_clip.mode.clip = true;
    test::RefRule eps01 = ref("epsilon"), epsz = ref("epsilon"), ab10 = ref("alphabeta"), g5 = ref("gamma"),
                  box = ref("zbox"), boxz = ref("zbox"), wsz = ref("wsquare"), zpz = ref("zplus"), gz = ref("gamma");
    eps01.eps = 0.1;
    epsz.zero_bias = wsz.zero_bias = zpz.zero_bias = gz.zero_bias = true;
    ab10.alpha = 1, ab10.beta = 0;
    g5.gamma = 0.5;
    box.low = boxz.low = -3, box.high = boxz.high = 3;
    boxz.zero_bias = true;  // zennit: zero_params on all three passes (x, low with W+, high with W-)
    return {
        {"Epsilon(1e-6)", std::make_shared<Epsilon>(), ref("epsilon")},
        {"Epsilon(0.1)", std::make_shared<Epsilon>(0.1f), eps01},
        {"Epsilon zero_bias", std::make_shared<Epsilon>(1e-6f, true), epsz},
        // the worked example of docs/adding-a-rule.md: Epsilon with zennit's clip / norm_scale stabilizers
        {"Epsilon clip(0.05)", std::make_shared<Epsilon>(Stabilizer::clipped(0.05f)), eps_clip},
        {"Epsilon norm_scale(0.1)", std::make_shared<Epsilon>(Stabilizer::scaled(0.1f)), eps_norm},
        {"Epsilon norm_scale_clip(0.5)", std::make_shared<Epsilon>(Stabilizer::scaled(0.5f, true)), eps_norm_clip},
        {"ZPlus", std::make_shared<ZPlus>(), ref("zplus")},
        {"ZPlus zero_bias", std::make_shared<ZPlus>(1e-6f, true), zpz},
        {"AlphaBeta(2,1)", std::make_shared<AlphaBeta>(), ref("alphabeta")},
        {"AlphaBeta(1,0)", std::make_shared<AlphaBeta>(1.f, 0.f), ab10},
        {"Gamma(0.25)", std::make_shared<Gamma>(), ref("gamma")},
        {"Gamma(0.5)", std::make_shared<Gamma>(0.5f), g5},
        {"Gamma zero_bias", std::make_shared<Gamma>(0.25f, 1e-6f, true), gz},
        {"ZBox(-3,3)", std::make_shared<ZBox>(-3.f, 3.f), box},
        {"ZBox(-3,3) zero_bias", std::make_shared<ZBox>(-3.f, 3.f, 1e-6f, true), boxz},
        {"WSquare", std::make_shared<WSquare>(), ref("wsquare")},
        {"WSquare zero_bias", std::make_shared<WSquare>(1e-6f, true), wsz},
        {"Flat", std::make_shared<Flat>(), ref("flat")},
    };
}

// The rule's relevance for (layer, x, R) on the layer's device, returned on the host.
std::vector<float> run_rule(const Rule& rule, nn::AffineLayer& layer, const Tensor& x, const Tensor& r) {
    layer.forward(x);
    AffineParams p{layer.weight.value, layer.bias.value};
    return rule.relevance(layer, r, &p).to_vector<float>();
}

// Per-sample reference over the batch.
std::vector<double> run_reference(const test::RefRule& rr, nn::AffineLayer& layer, const Tensor& x, const Tensor& r) {
    test::DenseLayer d = test::dense_of(layer, x.shape());
    std::vector<float> xv = x.to_vector<float>(), rv = r.to_vector<float>();
    std::vector<double> out;
    for (int64_t n = 0; n < x.dim(0); ++n) {
        test::Vec xs(xv.begin() + n * d.in, xv.begin() + (n + 1) * d.in);
        test::Vec rs(rv.begin() + n * d.out, rv.begin() + (n + 1) * d.out);
        for (double v : test::reference(rr, d, xs, rs)) out.push_back(v);
    }
    return out;
}

double max_abs(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}

}  // namespace

TEST(LrpCpuRules, MatchMatrixReferenceWithOutputAsRelevance) {
    uint32_t seed = 100;
    for (const LayerCase& lc : layer_cases()) {
        for (const RuleCase& rc : rule_cases()) {
            SCOPED_TRACE(std::string(lc.label) + " / " + rc.label);
            auto layer = make_layer(lc, seed++);
            Tensor x = grid_tensor(input_shape(lc), seed++, 1.f, 64.f);
            Tensor r = layer->forward(x);  // relevance = output, as zennit's rule tests
            std::vector<float> got = run_rule(*rc.rule, *layer, x, r);
            std::vector<double> ref = run_reference(rc.ref, *layer, x, r);
            EXPECT_LE(test::rel_l2(got, ref), 1e-6);
            test::Tol tol;
            tol.atol = 1e-5 * max_abs(ref);
            tol.rtol = 1e-4;
            tol.nmse = 1e-10;
            EXPECT_TRUE(test::all_close(got, ref, tol));
        }
    }
}

TEST(LrpCpuRules, MatchMatrixReferenceWithRandomRelevance) {
    uint32_t seed = 500;
    for (const LayerCase& lc : layer_cases()) {
        for (const RuleCase& rc : rule_cases()) {
            SCOPED_TRACE(std::string(lc.label) + " / " + rc.label);
            auto layer = make_layer(lc, seed++);
            Tensor x = grid_tensor(input_shape(lc), seed++, 1.f, 64.f);
            Tensor r = test::rand_tensor(layer->forward(x).shape(), seed++);
            std::vector<float> got = run_rule(*rc.rule, *layer, x, r);
            std::vector<double> ref = run_reference(rc.ref, *layer, x, r);
            EXPECT_LE(test::rel_l2(got, ref), 1e-6);
        }
    }
}

// Random relevance at the layer's outputs, but 0 where the output (with or without its bias) is within 5% of
// its RMS of zero: there a rule divides by ~0, and two summation orders' rounding differences (CPU vs CUDA)
// grow without bound, which is the rule's conditioning, not a kernel error; the other outputs compare tightly.
Tensor well_conditioned_relevance(nn::AffineLayer& layer, const Tensor& x, uint32_t seed) {
    const std::vector<float> z = layer.forward(x).to_vector<float>(),
                             zb = layer.forward_with(x, layer.weight.value, Tensor()).to_vector<float>();
    auto rms = [](const std::vector<float>& v) {
        double s = 0;
        for (float e : v) s += double(e) * e;
        return std::sqrt(s / static_cast<double>(v.size()));
    };
    const double t = 0.05 * rms(z), tb = 0.05 * rms(zb);
    const Shape shape = layer.forward(x).shape();
    std::vector<float> r = test::rand_tensor(shape, seed).to_vector<float>();
    for (size_t j = 0; j < r.size(); ++j)
        if (std::fabs(z[j]) < t || std::fabs(zb[j]) < tb) r[j] = 0.f;
    return Tensor::from_vector(r, shape);
}

TEST(LrpCudaRules, MatchCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    uint32_t seed = 900;
    for (const LayerCase& lc : layer_cases()) {
        for (const RuleCase& rc : rule_cases()) {
            SCOPED_TRACE(std::string(lc.label) + " / " + rc.label);
            auto cpu = make_layer(lc, seed), gpu = make_layer(lc, seed, dev);
            ++seed;
            Tensor x = test::rand_tensor(input_shape(lc), seed++);  // continuous data: as in real use
            Tensor r = well_conditioned_relevance(*cpu, x, seed++);
            std::vector<float> a = run_rule(*rc.rule, *cpu, x, r), b = run_rule(*rc.rule, *gpu, x.to(dev), r.to(dev));
            std::vector<double> ad(a.begin(), a.end());
            // Same formula, different summation order in conv/GEMM (the rest of the rounding amplification is
            // kept small by the relevance above).
            EXPECT_LE(test::rel_l2(b, ad), 1e-4);
        }
    }
}

// A host ZBox bound is uploaded once per device and value: changed in place, it is uploaded again
// (an upload cached by tensor identity alone would keep the old values on the device).
TEST(LrpCudaRules, HostBoundChangedInPlaceIsUploadedAgain) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    Tensor host = ops::full({1, 2, 3, 3}, -1.f);
    const Bound b = Bound::tensor(host);  // shares host's storage
    std::vector<float> v = b.expand({2, 2, 3, 3}, dev).to_vector<float>();
    EXPECT_EQ(v, std::vector<float>(36, -1.f));
    host.data<float>()[4] = 7.f;
    v = b.expand({2, 2, 3, 3}, dev).to_vector<float>();
    EXPECT_EQ(v[4], 7.f);
    EXPECT_EQ(v[18 + 4], 7.f);  // the broadcast second sample too
    EXPECT_EQ(v[5], -1.f);
}

// ZBox with tensor bounds (zennit accepts tensors for low/high): a [1, C, H, W] bound broadcasts over the
// batch and equals the scalar rule; a per-sample bound [N, ...] gives each sample the rule with its own
// bounds; a longer batch is cut to the input's; a wrong shape is a clear error, naming both shapes.
TEST(LrpCpuRules, ZBoxTensorBoundsBroadcastPerSampleAndCheckShapes) {
    const LayerCase lc{"conv 3->4 k3 s2 p1", true, 3, 3, 4, 7, 6, 3, 2, 1, 1, 1, true};
    auto layer = make_layer(lc, 900);
    const Shape xs = input_shape(lc);
    Tensor x = grid_tensor(xs, 901, 1.f, 64.f);
    Tensor r = test::rand_tensor(layer->forward(x).shape(), 902);
    const Shape one{1, xs[1], xs[2], xs[3]};
    const std::vector<float> scalar = run_rule(ZBox(-2.f, 1.5f), *layer, x, r);
    EXPECT_EQ(run_rule(ZBox(Bound::tensor(ops::full(one, -2.f)), Bound::tensor(ops::full(one, 1.5f))), *layer, x, r),
              scalar);

    // Per sample n: bounds (-1 - n/2, 1 + n); a batch of 5 bounds is cut to the 3 inputs.
    std::vector<float> lo, hi;
    for (int n = 0; n < 5; ++n)
        for (int64_t i = 0; i < one.numel(); ++i) lo.push_back(-1.f - 0.5f * n), hi.push_back(1.f + n);
    const Shape five{5, xs[1], xs[2], xs[3]};
    const std::vector<float> got = run_rule(
        ZBox(Bound::tensor(Tensor::from_vector(lo, five)), Bound::tensor(Tensor::from_vector(hi, five))), *layer, x, r);
    const int64_t in_per = one.numel();
    for (int64_t n = 0; n < xs[0]; ++n) {
        SCOPED_TRACE(n);
        Tensor xn = x.slice(n, n + 1).clone(), rn = r.slice(n, n + 1).clone();
        const std::vector<float> want =
            run_rule(ZBox(-1.f - 0.5f * static_cast<float>(n), 1.f + static_cast<float>(n)), *layer, xn, rn);
        EXPECT_EQ(std::vector<float>(got.begin() + n * in_per, got.begin() + (n + 1) * in_per), want);
    }
    EXPECT_NE(got, scalar);

    auto expect_error = [&](const Shape& bad, const char* what) {
        try {
            run_rule(ZBox(Bound::tensor(ops::full(bad, -1.f)), 1.f), *layer, x, r);
            ADD_FAILURE() << "no error for a bound of shape " << bad.str();
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    expect_error({2, xs[1], xs[2], xs[3]}, "neither 1 nor >= 3");
    expect_error({1, xs[1], xs[2], xs[3] + 1}, "does not match input");
    expect_error({xs[1], xs[2], xs[3]}, "does not match input");
    EXPECT_EQ(ZBox(Bound::tensor(ops::full(one, -1.f)), 1.f).name(), "ZBox(low=tensor" + one.str() + ", high=1, stabilizer=1e-06)");
}
