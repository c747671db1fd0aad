// Optimisers: SGD (momentum, dampening, nesterov, weight decay) and AdamW over several steps against
// a hand-written float64 reference of PyTorch's formulas, hyper-parameter and tensor error paths,
// and the CUDA entries against the CPU.
#include <functional>

#include "lrp/kernels/ops.h"
#include "lrp/ops/optim.h"
#include "test_util.h"

using namespace lrp;
using lrp::kernels::AdamWParams;
using lrp::kernels::cpu_ops;
using lrp::kernels::cuda_ops;
using lrp::kernels::SgdParams;
using lrp::test::all_close;
using lrp::test::Guarded;
using lrp::test::random_vec;
using lrp::test::Tol;

namespace {

const std::vector<int64_t> kSizes = {1, 7, 1000, 65537, (1 << 20) + 3};

using lrp::test::expect_error;

Tensor t1(const std::vector<float>& v) { return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())}); }

// PyTorch SGD, one step, in double.
void sgd_ref(const SgdParams& p, std::vector<double>& w, const std::vector<float>& g, std::vector<double>& buf,
             bool first) {
    for (size_t i = 0; i < w.size(); ++i) {
        double d = g[i] + double(p.weight_decay) * w[i];
        if (p.momentum != 0) {
            buf[i] = first ? d : double(p.momentum) * buf[i] + (1.0 - p.dampening) * d;
            d = p.nesterov ? d + double(p.momentum) * buf[i] : buf[i];
        }
        w[i] -= double(p.lr) * d;
    }
}

// PyTorch AdamW, one step, in double.
void adamw_ref(const AdamWParams& p, std::vector<double>& w, const std::vector<float>& g, std::vector<double>& m,
               std::vector<double>& v) {
    const double lr = p.lr, b1 = p.beta1, b2 = p.beta2, t = double(p.step);
    for (size_t i = 0; i < w.size(); ++i) {
        w[i] *= 1.0 - lr * p.weight_decay;
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * double(g[i]) * g[i];
        w[i] -= lr / (1 - std::pow(b1, t)) * m[i] / (std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + p.eps);
    }
}

SgdParams sgd(float lr, float mom, float damp, float wd, bool nesterov) {
    SgdParams p;
    p.lr = lr, p.momentum = mom, p.dampening = damp, p.weight_decay = wd, p.nesterov = nesterov;
    return p;
}

const std::vector<SgdParams> kSgdConfigs = {sgd(0.1f, 0.f, 0.f, 0.f, false), sgd(0.05f, 0.9f, 0.f, 0.f, false),
                                            sgd(0.1f, 0.9f, 0.1f, 1e-2f, false),
                                            sgd(0.02f, 0.9f, 0.f, 5e-4f, true)};

AdamWParams adamw(float lr, float b1, float b2, float eps, float wd) {
    AdamWParams p;
    p.lr = lr, p.beta1 = b1, p.beta2 = b2, p.eps = eps, p.weight_decay = wd;
    return p;
}

const std::vector<AdamWParams> kAdamWConfigs = {adamw(1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f),
                                                adamw(0.05f, 0.8f, 0.99f, 1e-6f, 0.f),
                                                adamw(0.01f, 0.f, 0.5f, 1e-3f, 0.1f)};

}  // namespace

TEST(OptimCpu, SgdMomentumHandComputed) {
    Tensor w = t1({1.f}), g = t1({0.5f}), buf = t1({-99.f});
    const SgdParams p = sgd(0.1f, 0.9f, 0.f, 0.f, false);
    ops::sgd_update(p, w, g, buf, true);  // buf = 0.5, w = 1 - 0.05
    EXPECT_FLOAT_EQ(buf.to_vector<float>()[0], 0.5f);
    EXPECT_FLOAT_EQ(w.to_vector<float>()[0], 0.95f);
    ops::sgd_update(p, w, g, buf, false);  // buf = 0.45 + 0.5, w = 0.95 - 0.095
    EXPECT_FLOAT_EQ(buf.to_vector<float>()[0], 0.95f);
    EXPECT_FLOAT_EQ(w.to_vector<float>()[0], 0.855f);
}

TEST(OptimCpu, SgdMatchesPyTorchFormulas) {
    const int64_t n = 257;
    for (const SgdParams& p : kSgdConfigs) {
        SCOPED_TRACE(testing::Message() << "lr=" << p.lr << " momentum=" << p.momentum << " dampening="
                                        << p.dampening << " wd=" << p.weight_decay << " nesterov=" << p.nesterov);
        auto w0 = random_vec(n, 1), b0 = random_vec(n, 2);
        Tensor w = t1(w0), buf = t1(b0);
        std::vector<double> rw(w0.begin(), w0.end()), rb(b0.begin(), b0.end());
        for (int step = 0; step < 4; ++step) {
            auto g = random_vec(n, 10 + step);
            ops::sgd_update(p, w, t1(g), p.momentum != 0 ? buf : Tensor(), step == 0);
            sgd_ref(p, rw, g, rb, step == 0);
            EXPECT_TRUE(all_close(w.to_vector<float>(), rw, Tol{1e-6, 1e-6})) << "step " << step;
            if (p.momentum != 0) {
                EXPECT_TRUE(all_close(buf.to_vector<float>(), rb, Tol{1e-6, 1e-6})) << "step " << step;
            }
        }
    }
}

TEST(OptimCpu, AdamWFirstStepHandComputed) {
    // Step 1 from zero moments: m_hat = g, v_hat = g^2, so w' = w (1 - lr wd) - lr g / (|g| + eps).
    Tensor w = t1({2.f, -1.f}), g = t1({0.5f, -4.f}), m = t1({0.f, 0.f}), v = t1({0.f, 0.f});
    AdamWParams p = adamw(0.1f, 0.9f, 0.999f, 1e-8f, 0.5f);
    ops::adamw_update(p, w, g, m, v);
    auto wv = w.to_vector<float>();
    EXPECT_NEAR(wv[0], 2.0 * 0.95 - 0.1, 1e-6);
    EXPECT_NEAR(wv[1], -1.0 * 0.95 + 0.1, 1e-6);
    EXPECT_NEAR(m.to_vector<float>()[1], (1.0 - double(0.9f)) * -4.0, 1e-8);  // betas are fp32 values
    EXPECT_NEAR(v.to_vector<float>()[1], (1.0 - double(0.999f)) * 16.0, 1e-9);
}

TEST(OptimCpu, AdamWMatchesPyTorchFormulas) {
    const int64_t n = 513;
    for (AdamWParams p : kAdamWConfigs) {
        SCOPED_TRACE(testing::Message() << "lr=" << p.lr << " betas=" << p.beta1 << "," << p.beta2
                                        << " eps=" << p.eps << " wd=" << p.weight_decay);
        auto w0 = random_vec(n, 3);
        Tensor w = t1(w0), m = Tensor::zeros(Shape{n}), v = Tensor::zeros(Shape{n});
        std::vector<double> rw(w0.begin(), w0.end()), rm(n, 0.0), rv(n, 0.0);
        for (int step = 1; step <= 5; ++step) {
            auto g = random_vec(n, 20 + step, -2.f, 2.f);
            p.step = step;
            ops::adamw_update(p, w, t1(g), m, v);
            adamw_ref(p, rw, g, rm, rv);
            EXPECT_TRUE(all_close(w.to_vector<float>(), rw, Tol{1e-6, 1e-6})) << "step " << step;
            EXPECT_TRUE(all_close(m.to_vector<float>(), rm, Tol{1e-7, 1e-6})) << "step " << step;
            EXPECT_TRUE(all_close(v.to_vector<float>(), rv, Tol{1e-9, 1e-6})) << "step " << step;
        }
    }
}

TEST(OptimCpu, FrontEndErrors) {
    Tensor w = t1({1.f, 2.f}), g = t1({0.1f, 0.2f}), b = t1({0.f, 0.f}), g3 = t1({1.f, 2.f, 3.f});
    Tensor i32 = Tensor::empty(Shape{2}, DType::I32);
    expect_error([&] { ops::sgd_update(sgd(0.1f, 0.9f, 0.1f, 0.f, true), w, g, b, true); },
                 {"sgd_update", "nesterov"});
    expect_error([&] { ops::sgd_update(sgd(0.1f, 0.f, 0.f, 0.f, true), w, g, b, true); },
                 {"sgd_update", "nesterov"});
    expect_error([&] { ops::sgd_update(sgd(-0.1f, 0.f, 0.f, 0.f, false), w, g, b, true); },
                 {"sgd_update", "learning rate"});
    expect_error([&] { ops::sgd_update(sgd(0.1f, -0.5f, 0.f, 0.f, false), w, g, b, true); },
                 {"sgd_update", "momentum"});
    expect_error([&] { ops::sgd_update(sgd(0.1f, 0.f, 0.f, -1.f, false), w, g, b, true); },
                 {"sgd_update", "weight_decay"});
    expect_error([&] { ops::sgd_update(sgd(0.1f, 0.9f, 0.f, 0.f, false), w, g, Tensor(), true); },
                 {"sgd_update", "'buf'"});
    expect_error([&] { ops::sgd_update(sgd(0.1f, 0.f, 0.f, 0.f, false), w, g3, b, true); },
                 {"sgd_update", "'g'", "shape"});
    expect_error([&] { ops::sgd_update(sgd(0.1f, 0.f, 0.f, 0.f, false), i32, g, b, true); },
                 {"sgd_update", "'w'", "dtype"});
    AdamWParams p;
    auto bad = [&](auto mutate, const char* what) {
        AdamWParams q = p;
        mutate(q);
        expect_error([&] { ops::adamw_update(q, w, g, b, t1({0.f, 0.f})); }, {"adamw_update", what});
    };
    bad([](AdamWParams& q) { q.beta1 = 1.f; }, "beta1");
    bad([](AdamWParams& q) { q.beta2 = -0.1f; }, "beta2");
    bad([](AdamWParams& q) { q.eps = 0.f; }, "epsilon");
    bad([](AdamWParams& q) { q.lr = -1.f; }, "learning rate");
    bad([](AdamWParams& q) { q.step = 0; }, "step");
    bad([](AdamWParams& q) { q.weight_decay = -0.1f; }, "weight_decay");
    expect_error([&] { ops::adamw_update(p, w, g, g3, b); }, {"adamw_update", "'m'", "shape"});
    expect_error([&] { ops::adamw_update(p, w, g, b, i32); }, {"adamw_update", "'v'", "dtype"});
}

TEST(OptimCuda, DeviceMismatchIsAnError) {
    LRP_SKIP_WITHOUT_CUDA();
    Tensor w = Tensor::from_vector(random_vec(4, 1), Shape{4}, Device::cuda(0)), g = t1(random_vec(4, 2));
    expect_error([&] { ops::sgd_update(sgd(0.1f, 0.f, 0.f, 0.f, false), w, g, Tensor(), true); },
                 {"sgd_update", "'g'", "cpu"});
    expect_error([&] { ops::adamw_update(AdamWParams{}, w, g, g, g); }, {"adamw_update", "'g'", "cpu"});
}

TEST(OptimCuda, SgdMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    for (const SgdParams& p : kSgdConfigs) {
        for (int64_t n : kSizes) {
            SCOPED_TRACE(testing::Message()
                         << "n=" << n << " momentum=" << p.momentum << " nesterov=" << p.nesterov);
            std::vector<float> w = random_vec(n, 1), buf = random_vec(n, 2);
            Guarded<float> dw(Device::cuda(0), w), dbuf(Device::cuda(0), buf);
            for (int step = 0; step < 3; ++step) {
                auto g = random_vec(n, 30 + step);
                float* b = p.momentum != 0 ? buf.data() : nullptr;
                cpu_ops().sgd_update(kernel_ctx(Device::cpu()), p, w.data(), g.data(), b, n, step == 0);
                Tensor dg = Tensor::from_vector(g, Shape{n}, Device::cuda(0));
                cuda_ops().sgd_update(kernel_ctx(Device::cuda(0)), p, dw.ptr(), dg.data<float>(),
                                      p.momentum != 0 ? dbuf.ptr() : nullptr, n, step == 0);
            }
            EXPECT_TRUE(all_close(dw.read(), w, Tol{1e-6, 1e-6}));
            EXPECT_TRUE(all_close(dbuf.read(), buf, Tol{1e-6, 1e-6}));
            EXPECT_TRUE(dw.guards_intact());
            EXPECT_TRUE(dbuf.guards_intact());
        }
    }
}

TEST(OptimCuda, AdamWMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    for (AdamWParams p : kAdamWConfigs) {
        for (int64_t n : kSizes) {
            SCOPED_TRACE(testing::Message() << "n=" << n << " lr=" << p.lr << " wd=" << p.weight_decay);
            std::vector<float> w = random_vec(n, 4), m = random_vec(n, 5, -0.1f, 0.1f),
                               v = random_vec(n, 6, 0.f, 0.1f);
            Guarded<float> dw(Device::cuda(0), w), dm(Device::cuda(0), m), dv(Device::cuda(0), v);
            for (int step = 1; step <= 3; ++step) {
                p.step = step;
                auto g = random_vec(n, 40 + step, -2.f, 2.f);
                cpu_ops().adamw_update(kernel_ctx(Device::cpu()), p, w.data(), g.data(), m.data(), v.data(), n);
                Tensor dg = Tensor::from_vector(g, Shape{n}, Device::cuda(0));
                cuda_ops().adamw_update(kernel_ctx(Device::cuda(0)), p, dw.ptr(), dg.data<float>(), dm.ptr(),
                                        dv.ptr(), n);
            }
            EXPECT_TRUE(all_close(dw.read(), w, Tol{1e-6, 1e-6}));
            EXPECT_TRUE(all_close(dm.read(), m, Tol{1e-7, 1e-5}));
            EXPECT_TRUE(all_close(dv.read(), v, Tol{1e-9, 1e-5}));
            EXPECT_TRUE(dw.guards_intact() && dm.guards_intact() && dv.guards_intact());
        }
    }
}
