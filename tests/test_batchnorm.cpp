// Batch-norm tests: CPU train/eval forward against a double reference (incl. running statistics over
// two steps), finite-difference checks of the backward (dx, dgamma, dbeta), front-end errors, and
// CUDA-vs-CPU comparisons of every entry (guarded outputs, run-to-run determinism).
#include <algorithm>
#include <cmath>

#include "lrp/kernels/ops.h"
#include "lrp/ops/batchnorm.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::kernels;
using lrp::test::all_close;
using lrp::test::Tol;

namespace {

// Textbook batch norm in double over N x C x HW.
struct BnRef {
    std::vector<double> y, mean, invstd, rm, rv;
};
BnRef bn_ref(int N, int C, int64_t HW, const std::vector<double>& x, const std::vector<double>& gamma,
             const std::vector<double>& beta, double eps, double mom, std::vector<double> rm, std::vector<double> rv) {
    BnRef r;
    r.y.resize(x.size());
    const double M = static_cast<double>(N * HW);
    for (int c = 0; c < C; ++c) {
        double s = 0, ss = 0;
        for (int n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) s += x[(n * C + c) * HW + i];
        const double mean = s / M;
        for (int n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) ss += std::pow(x[(n * C + c) * HW + i] - mean, 2);
        const double var = ss / M;
        for (int n = 0; n < N; ++n)
            for (int64_t i = 0; i < HW; ++i) {
                const int64_t k = (n * C + c) * HW + i;
                r.y[k] = gamma[c] * (x[k] - mean) / std::sqrt(var + eps) + beta[c];
            }
        r.mean.push_back(mean);
        r.invstd.push_back(1 / std::sqrt(var + eps));
        rm[c] = (1 - mom) * rm[c] + mom * mean;
        rv[c] = (1 - mom) * rv[c] + mom * ss / (M - 1);
    }
    r.rm = rm, r.rv = rv;
    return r;
}

std::vector<double> dbl(const std::vector<float>& v) { return {v.begin(), v.end()}; }
Tensor cpu_t(const std::vector<float>& v, const Shape& s) { return Tensor::from_vector(v, s); }

// x with a different non-zero mean per channel.
std::vector<float> bn_input(int N, int C, int64_t HW, uint32_t seed) {
    std::vector<float> x = lrp::test::random_vec(static_cast<size_t>(N * C * HW), seed, -1.5f, 1.5f);
    for (size_t k = 0; k < x.size(); ++k) x[k] += 0.75f + 0.5f * static_cast<float>((k / HW) % C);
    return x;
}

// Statistics: rtol grows with the reduction length M = N*HW.
Tol stat_tol(int64_t M) { return Tol{1e-6, std::max(1e-6, 1e-7 * std::sqrt(static_cast<double>(M)))}; }

}  // namespace

TEST(BatchNormCpu, TrainForwardTwoStepsMatchesReference) {
    for (const Shape& s : {Shape{4, 3, 5, 3}, Shape{6, 4}}) {
        const int N = static_cast<int>(s[0]), C = static_cast<int>(s[1]);
        const int64_t HW = s.numel() / (N * C);
        std::vector<float> gamma = lrp::test::random_vec(C, 1, 0.5f, 1.5f), beta = lrp::test::random_vec(C, 2);
        std::vector<float> rm = lrp::test::random_vec(C, 3), rv = lrp::test::random_vec(C, 4, 0.5f, 2.f);
        Tensor rmt = cpu_t(rm, Shape{C}), rvt = cpu_t(rv, Shape{C});
        std::vector<double> rm_ref = dbl(rm), rv_ref = dbl(rv);
        for (int step = 0; step < 2; ++step) {
            const float eps = 1e-5f, mom = step == 0 ? 0.1f : 0.7f;
            std::vector<float> x = bn_input(N, C, HW, 10 + step);
            Tensor y = lrp::test::poisoned(s), sm = lrp::test::poisoned(Shape{C}), si = lrp::test::poisoned(Shape{C});
            ops::batchnorm_fwd_train(cpu_t(x, s), cpu_t(gamma, Shape{C}), cpu_t(beta, Shape{C}), eps, mom, y, sm, si,
                                     rmt, rvt);
            BnRef r = bn_ref(N, C, HW, dbl(x), dbl(gamma), dbl(beta), eps, mom, rm_ref, rv_ref);
            rm_ref = r.rm, rv_ref = r.rv;
            EXPECT_TRUE(all_close(y.to_vector<float>(), r.y)) << s.str() << " step " << step;
            EXPECT_TRUE(all_close(sm.to_vector<float>(), r.mean)) << s.str() << " step " << step;
            EXPECT_TRUE(all_close(si.to_vector<float>(), r.invstd)) << s.str() << " step " << step;
            EXPECT_TRUE(all_close(rmt.to_vector<float>(), r.rm)) << s.str() << " step " << step;
            EXPECT_TRUE(all_close(rvt.to_vector<float>(), r.rv)) << s.str() << " step " << step;
        }
    }
}

TEST(BatchNormCpu, EvalForwardUsesRunningStatistics) {
    const int N = 3, C = 4;
    const Shape s{N, C, 2, 5};
    std::vector<float> x = bn_input(N, C, 10, 5), gamma = lrp::test::random_vec(C, 6, 0.5f, 1.5f);
    std::vector<float> beta = lrp::test::random_vec(C, 7), rm = lrp::test::random_vec(C, 8);
    std::vector<float> rv = lrp::test::random_vec(C, 9, 0.25f, 3.f);
    Tensor y = lrp::test::poisoned(s);
    ops::batchnorm_fwd_eval(cpu_t(x, s), cpu_t(gamma, Shape{C}), cpu_t(beta, Shape{C}), cpu_t(rm, Shape{C}),
                            cpu_t(rv, Shape{C}), 1e-3f, y);
    std::vector<double> want(x.size());
    for (size_t k = 0; k < x.size(); ++k) {
        const size_t c = (k / 10) % C;
        want[k] =
            gamma[c] * (x[k] - static_cast<double>(rm[c])) / std::sqrt(rv[c] + static_cast<double>(1e-3f)) + beta[c];
    }
    EXPECT_TRUE(all_close(y.to_vector<float>(), want));
}

TEST(BatchNormCpu, BackwardFiniteDifferences) {
    for (const Shape& s : {Shape{3, 2, 3, 2}, Shape{5, 3}}) {
        const int N = static_cast<int>(s[0]), C = static_cast<int>(s[1]);
        const int64_t HW = s.numel() / (N * C);
        const double eps = 1e-5;
        std::vector<float> x = bn_input(N, C, HW, 21), r = lrp::test::random_vec(x.size(), 22);
        std::vector<float> gamma = lrp::test::random_vec(C, 23, 0.5f, 1.5f), beta = lrp::test::random_vec(C, 24);
        Tensor sm = lrp::test::poisoned(Shape{C}), si = lrp::test::poisoned(Shape{C}), y = lrp::test::poisoned(s);
        Tensor rm = Tensor::zeros(Shape{C}), rv = Tensor::zeros(Shape{C});
        Tensor xt = cpu_t(x, s), gt = cpu_t(gamma, Shape{C});
        ops::batchnorm_fwd_train(xt, gt, cpu_t(beta, Shape{C}), static_cast<float>(eps), 0.1f, y, sm, si, rm, rv);
        Tensor dx = lrp::test::poisoned(s), dg = lrp::test::poisoned(Shape{C}), db = lrp::test::poisoned(Shape{C});
        ops::batchnorm_bwd(xt, cpu_t(r, s), gt, sm, si, dx, dg, db);

        // L(x, gamma, beta) = <bn(x), r>, central differences in double
        std::vector<double> xd = dbl(x), gd = dbl(gamma), bd = dbl(beta), zero(C, 0.0);
        auto loss = [&] {
            std::vector<double> yy = bn_ref(N, C, HW, xd, gd, bd, eps, 0.1, zero, zero).y;
            double l = 0;
            for (size_t k = 0; k < yy.size(); ++k) l += yy[k] * r[k];
            return l;
        };
        auto fd = [&](std::vector<double>& v) {
            const double h = 1e-4;
            std::vector<double> g(v.size());
            for (size_t k = 0; k < v.size(); ++k) {
                const double keep = v[k];
                v[k] = keep + h;
                const double lp = loss();
                v[k] = keep - h;
                const double lm = loss();
                v[k] = keep;
                g[k] = (lp - lm) / (2 * h);
            }
            return g;
        };
        const Tol tol{1e-5, 1e-4, 1e-8};
        EXPECT_TRUE(all_close(dx.to_vector<float>(), fd(xd), tol)) << "dx " << s.str();
        EXPECT_TRUE(all_close(dg.to_vector<float>(), fd(gd), tol)) << "dgamma " << s.str();
        EXPECT_TRUE(all_close(db.to_vector<float>(), fd(bd), tol)) << "dbeta " << s.str();
    }
}

TEST(BatchNormCpu, FrontEndErrors) {
    auto throws_with = [](auto f, const std::string& text) {
        try {
            f();
            ADD_FAILURE() << "no error, expected: " << text;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
        }
    };
    auto vec = [](int64_t n) {
        return Tensor::from_vector(lrp::test::random_vec(static_cast<size_t>(n), 1), Shape{n});
    };
    auto train = [&](const Shape& s, int64_t cg, float eps, float mom) {
        Tensor x = Tensor::from_vector(lrp::test::random_vec(static_cast<size_t>(s.numel()), 2), s);
        const int64_t C = s[1];
        ops::batchnorm_fwd_train(x, vec(cg), vec(C), eps, mom, Tensor::empty(s), vec(C), vec(C), vec(C), vec(C));
    };
    throws_with([&] { train(Shape{1, 4}, 4, 1e-5f, 0.1f); }, "more than 1 value per channel");
    throws_with([&] { train(Shape{1, 3, 1, 1}, 3, 1e-5f, 0.1f); }, "more than 1 value per channel");
    throws_with([&] { train(Shape{2, 3, 2, 2}, 4, 1e-5f, 0.1f); }, "'gamma' has shape");
    throws_with([&] { train(Shape{2, 3, 2, 2}, 3, 0.f, 0.1f); }, "eps");
    throws_with([&] { train(Shape{2, 3, 2, 2}, 3, 1e-5f, 1.5f); }, "momentum");
    throws_with([&] { train(Shape{2, 3, 4}, 3, 1e-5f, 0.1f); }, "N x C x H x W or N x C");
    Tensor x = Tensor::from_vector(lrp::test::random_vec(8, 3), Shape{2, 4});
    throws_with(
        [&] {
            ops::batchnorm_fwd_eval(x, vec(4), vec(4), vec(4), vec(4), 1e-5f, Tensor::empty(Shape{4, 2}));
        },
        "'y' has shape");
    throws_with(
        [&] {
            ops::batchnorm_fwd_eval(Tensor::empty(Shape{2, 4}, DType::I32), vec(4), vec(4), vec(4), vec(4), 1e-5f,
                                    Tensor::empty(Shape{2, 4}));
        },
        "'x' has dtype");
    throws_with(
        [&] {
            ops::batchnorm_bwd(x, Tensor::empty(Shape{2, 3}), vec(4), vec(4), vec(4), Tensor::empty(Shape{2, 4}),
                               vec(4), vec(4));
        },
        "'dy' has shape");
    // Eval mode accepts a single value per channel (PyTorch does too).
    Tensor one = Tensor::from_vector(lrp::test::random_vec(4, 4), Shape{1, 4}), y1 = lrp::test::poisoned(Shape{1, 4});
    Tensor rv = Tensor::from_vector(lrp::test::random_vec(4, 5, 0.5f, 1.f), Shape{4});
    EXPECT_NO_THROW(ops::batchnorm_fwd_eval(one, vec(4), vec(4), vec(4), rv, 1e-5f, y1));
}

// ---- CUDA vs CPU ---------------------------------------------------------------------------------

TEST(BatchNormCuda, EveryEntryMatchesCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const OpTable &cpu = cpu_ops(), &gpu = cuda_ops();
    struct Case {
        int N, C;
        int64_t HW;
    };
    for (const Case& cs : {Case{3, 5, 49}, Case{3, 5, 169}, Case{3, 5, 1024}, Case{128, 4, 1024}, Case{4, 520, 16},
                           Case{64, 700, 1}, Case{2, 3, 1}}) {
        BatchNormDesc d;
        d.N = cs.N, d.C = cs.C, d.HW = cs.HW, d.eps = 1e-5f, d.momentum = 0.1f;
        const int C = cs.C;
        const int64_t n = static_cast<int64_t>(cs.N) * C * cs.HW, M = cs.N * cs.HW;
        const std::string what =
            "N " + std::to_string(cs.N) + " C " + std::to_string(C) + " HW " + std::to_string(cs.HW);
        std::vector<float> x = bn_input(cs.N, C, cs.HW, 31), dy = lrp::test::random_vec(n, 32);
        std::vector<float> gamma = lrp::test::random_vec(C, 33, 0.5f, 1.5f), beta = lrp::test::random_vec(C, 34);
        std::vector<float> rm0 = lrp::test::random_vec(C, 35), rv0 = lrp::test::random_vec(C, 36, 0.5f, 2.f);

        // CPU reference results
        std::vector<float> y(n), sm(C), si(C), rm = rm0, rv = rv0, ye(n), dx(n), dg(C), db(C);
        const Ctx cc = kernel_ctx(Device::cpu());
        cpu.bn_fwd_train(cc, d, x.data(), gamma.data(), beta.data(), y.data(), sm.data(), si.data(), rm.data(),
                         rv.data());
        cpu.bn_fwd_eval(cc, d, x.data(), gamma.data(), beta.data(), rm.data(), rv.data(), ye.data());
        cpu.bn_bwd(cc, d, x.data(), dy.data(), gamma.data(), sm.data(), si.data(), dx.data(), dg.data(), db.data());

        const Ctx gc = kernel_ctx(dev);
        auto on = [&](const std::vector<float>& v) {
            return Tensor::from_vector(v, Shape{static_cast<int64_t>(v.size())}, dev);
        };
        Tensor xd = on(x), dyd = on(dy), gd = on(gamma), bd = on(beta), rmd = on(rm), rvd = on(rv), smd = on(sm),
               sid = on(si);
        std::vector<float> first_y;
        for (int rep = 0; rep < 2; ++rep) {  // the second run must repeat the first bit for bit
            lrp::test::Guarded<float> gy(dev, n), gsm(dev, C), gsi(dev, C), grm(dev, rm0), grv(dev, rv0);
            gpu.bn_fwd_train(gc, d, xd.data<float>(), gd.data<float>(), bd.data<float>(), gy.ptr(), gsm.ptr(),
                             gsi.ptr(), grm.ptr(), grv.ptr());
            EXPECT_TRUE(all_close(gy.read(), y)) << what;
            EXPECT_TRUE(all_close(gsm.read(), sm, stat_tol(M))) << what;
            EXPECT_TRUE(all_close(gsi.read(), si, stat_tol(M))) << what;
            EXPECT_TRUE(all_close(grm.read(), rm, stat_tol(M))) << what;
            EXPECT_TRUE(all_close(grv.read(), rv, stat_tol(M))) << what;
            EXPECT_TRUE(gy.guards_intact() && gsm.guards_intact() && gsi.guards_intact() && grm.guards_intact() &&
                        grv.guards_intact())
                << what;
            if (rep == 0)
                first_y = gy.read();
            else
                EXPECT_EQ(std::memcmp(first_y.data(), gy.read().data(), n * sizeof(float)), 0)
                    << "not deterministic, " << what;
        }

        lrp::test::Guarded<float> gye(dev, n);
        gpu.bn_fwd_eval(gc, d, xd.data<float>(), gd.data<float>(), bd.data<float>(), rmd.data<float>(),
                        rvd.data<float>(), gye.ptr());
        EXPECT_TRUE(all_close(gye.read(), ye)) << what;
        EXPECT_TRUE(gye.guards_intact()) << what;

        // backward from the CPU's saved statistics, so only the backward itself is compared
        lrp::test::Guarded<float> gdx(dev, n), gdg(dev, C), gdb(dev, C);
        gpu.bn_bwd(gc, d, xd.data<float>(), dyd.data<float>(), gd.data<float>(), smd.data<float>(), sid.data<float>(),
                   gdx.ptr(), gdg.ptr(), gdb.ptr());
        EXPECT_TRUE(all_close(gdx.read(), dx)) << what;
        EXPECT_TRUE(all_close(gdg.read(), dg, stat_tol(M))) << what;
        EXPECT_TRUE(all_close(gdb.read(), db, stat_tol(M))) << what;
        EXPECT_TRUE(gdx.guards_intact() && gdg.guards_intact() && gdb.guards_intact()) << what;
    }
}

TEST(BatchNormCuda, FrontEndsRunOnTheDevice) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    const Shape s{3, 5, 7, 7};
    std::vector<float> x = bn_input(3, 5, 49, 41), g = lrp::test::random_vec(5, 42, 0.5f, 1.5f);
    std::vector<float> b = lrp::test::random_vec(5, 43);
    auto run = [&](Device d) {
        Tensor y = Tensor::empty(s, DType::F32, d), sm = Tensor::empty(Shape{5}, DType::F32, d);
        Tensor si = Tensor::empty(Shape{5}, DType::F32, d), rm = Tensor::zeros(Shape{5}, DType::F32, d);
        Tensor rv = Tensor::from_vector(std::vector<float>(5, 1.f), Shape{5}, d);
        ops::batchnorm_fwd_train(Tensor::from_vector(x, s, d), Tensor::from_vector(g, Shape{5}, d),
                                 Tensor::from_vector(b, Shape{5}, d), 1e-5f, 0.1f, y, sm, si, rm, rv);
        return y.to_vector<float>();
    };
    EXPECT_TRUE(all_close(run(dev), run(Device::cpu())));
    // mixing devices is a clear error
    EXPECT_THROW(ops::batchnorm_fwd_eval(Tensor::from_vector(x, s, dev), Tensor::from_vector(g, Shape{5}),
                                         Tensor::from_vector(b, Shape{5}), Tensor::zeros(Shape{5}),
                                         Tensor::zeros(Shape{5}), 1e-5f, Tensor::empty(s, DType::F32, dev)),
                 Error);
}
