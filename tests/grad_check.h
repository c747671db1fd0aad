// Finite-difference gradient checking for nn::Module: L(x, params) = <forward(x), r> with a fixed
// random r, accumulated in double; central differences on sampled coordinates of the input and of
// every parameter, compared with backward(r) as a relative L2 error over the sample. A coordinate
// whose difference quotients at h and h/2 disagree straddles a kink (ReLU at 0, a max-pool switch)
// and is skipped; more than a quarter skipped fails the check.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "lrp/nn/module.h"
#include "test_util.h"

namespace lrp::test {

struct GradCheckOptions {
    double h = 1e-2;          // step (on O(1) inputs)
    double rel_tol = 2e-3;    // relative L2 error of the sampled gradient
    int coords = 24;          // coordinates sampled per tensor
    uint32_t seed = 1234;
    bool check_input = true;
};

inline double dot_with(const Tensor& y, const std::vector<float>& r) {
    std::vector<float> v = y.to_vector<float>();
    double s = 0;
    for (size_t i = 0; i < v.size(); ++i) s += double(v[i]) * r[i];
    return s;
}

// Returns an assertion over the input gradient and every parameter gradient of m.
inline ::testing::AssertionResult grad_check(nn::Module& m, const Tensor& x, const GradCheckOptions& o = {}) {
    Tensor y = m.forward(x);
    std::vector<float> r = random_vec(static_cast<size_t>(y.numel()), o.seed);
    Tensor rt = Tensor::from_vector(r, y.shape(), y.device());
    m.zero_grad();
    Tensor dx = m.backward(rt, true);
    std::string report;
    bool ok = true;
    auto check_tensor = [&](const std::string& what, const Tensor& value, const Tensor& analytic) {
        if (!analytic.defined()) {
            ok = false;
            report += "\n  " + what + ": no gradient computed";
            return;
        }
        std::vector<float> g = analytic.to_vector<float>();
        std::vector<int32_t> idx = random_ints(o.coords, o.seed + 7, 0, static_cast<int32_t>(value.numel() - 1));
        double err2 = 0, ref2 = 0;
        int skipped = 0;
        auto quotient = [&](int32_t i, double h) {
            std::vector<float> v = value.to_vector<float>();
            const float orig = v[i];
            v[i] = static_cast<float>(orig + h);
            Tensor(value).copy_from(Tensor::from_vector(v, value.shape(), value.device()));
            const double lp = dot_with(m.forward(x), r);
            v[i] = static_cast<float>(orig - h);
            Tensor(value).copy_from(Tensor::from_vector(v, value.shape(), value.device()));
            const double lm = dot_with(m.forward(x), r);
            v[i] = orig;
            Tensor(value).copy_from(Tensor::from_vector(v, value.shape(), value.device()));
            return (lp - lm) / (2 * h);
        };
        for (int32_t i : idx) {
            const double fd = quotient(i, o.h), fd2 = quotient(i, o.h / 2);
            if (std::fabs(fd - fd2) > 0.05 * std::max(std::fabs(fd), std::fabs(fd2)) + 1e-4) {
                ++skipped;
                continue;
            }
            err2 += (fd - g[i]) * (fd - g[i]);
            ref2 += fd * fd;
        }
        if (skipped * 4 > static_cast<int>(idx.size())) {
            ok = false;
            report += "\n  " + what + ": " + std::to_string(skipped) + " of " + std::to_string(idx.size()) +
                      " coordinates straddle a kink";
            return;
        }
        const double rel = ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2);
        if (!(rel <= o.rel_tol) || ref2 == 0) {
            ok = false;
            report += "\n  " + what + ": relative error " + std::to_string(rel) + (ref2 == 0 ? " (zero gradient)" : "");
        }
    };
    if (o.check_input) check_tensor("input", x, dx);
    for (auto& [name, p] : m.named_params()) check_tensor(name, p->value, p->grad);
    m.forward(x);  // restore stored activations for the caller
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "gradient check of " << m.type() << " failed:" << report;
}

// Directional check of any scalar loss (for whole blocks and networks, where per-coordinate float
// differences drown in rounding): for each (name, value, gradient) in turn, a random direction v over that
// tensor (scaled to the tensor's RMS, so the step is relative), comparing (L(p + h v) - L(p - h v)) / 2h
// with <grad, v>. `loss` recomputes L from the current values. A direction whose quotients at h and h/2
// disagree crossed a ReLU kink; up to `tries` directions per tensor are drawn, and at most a quarter of the
// tensors may find no kink-free one, none of them named in `must_decide`. `what` names the model in the report.
using GradVar = std::tuple<std::string, Tensor, Tensor>;
inline ::testing::AssertionResult directional_check(const std::vector<GradVar>& vars, const std::function<double()>& loss,
                                                    const std::string& what, double h = 1e-3, double rel_tol = 1e-2,
                                                    uint32_t seed = 99, int tries = 8, double abs_tol = 1e-3,
                                                    const std::vector<std::string>& must_decide = {}) {
    std::string report;
    int undecided = 0;
    for (size_t k = 0; k < vars.size(); ++k) {
        const auto& [name, value, grad] = vars[k];
        if (!grad.defined()) {
            report += "\n  " + name + ": no gradient computed";
            continue;
        }
        const std::vector<float> base = value.to_vector<float>(), g = grad.to_vector<float>();
        double rms = 0;
        for (float v : base) rms += double(v) * v;
        rms = std::max(std::sqrt(rms / base.size()), 0.1);
        bool decided = false;
        for (int t = 0; t < tries && !decided; ++t) {
            std::vector<float> d = random_vec(base.size(), seed + 1000 * (t + 1) + static_cast<uint32_t>(k));
            double analytic = 0;
            for (size_t i = 0; i < d.size(); ++i) analytic += double(g[i]) * d[i];
            auto loss_at = [&](double step) {
                std::vector<float> v = base;
                for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(v[i] + step * rms * d[i]);
                Tensor(value).copy_from(Tensor::from_vector(v, value.shape(), value.device()));
                return loss();
            };
            const double fd = (loss_at(h) - loss_at(-h)) / (2 * h * rms);
            const double fd2 = (loss_at(h / 2) - loss_at(-h / 2)) / (h * rms);
            loss_at(0);  // restore
            // Both quotients under the absolute tolerance: settled at zero within it (a gradient that is
            // exactly 0, e.g. a conv bias before a train-mode BN, against quotients of rounding noise that
            // differ between h and h/2 on every direction). Otherwise they must agree, or a kink was crossed.
            const bool at_noise = std::max(std::fabs(fd), std::fabs(fd2)) < abs_tol;
            if (!at_noise && std::fabs(fd - fd2) > 0.3 * rel_tol * std::fabs(fd) + 1e-6) continue;
            decided = true;
            const double err = std::fabs(fd2 - analytic), rel = err / std::max(std::fabs(fd2), 1e-12);
            if (err > rel_tol * std::max(std::fabs(fd2), std::fabs(analytic)) + abs_tol)
                report += "\n  " + name + ": <grad, v> = " + std::to_string(analytic) + ", finite difference " +
                          std::to_string(fd2) + " (relative error " + std::to_string(rel) + ")";
        }
        if (!decided) ++undecided;
        if (!decided && std::find(must_decide.begin(), must_decide.end(), name) != must_decide.end())
            report += "\n  " + name + ": no kink-free direction in " + std::to_string(tries) + " tries (it must be checked)";
    }
    for (const std::string& n : must_decide)
        if (std::none_of(vars.begin(), vars.end(), [&](const GradVar& v) { return std::get<0>(v) == n; }))
            report += "\n  " + n + ": not among the checked tensors";
    if (undecided * 4 > static_cast<int>(vars.size()))
        report += "\n  " + std::to_string(undecided) + " of " + std::to_string(vars.size()) +
                  " tensors found no kink-free direction";
    if (report.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "directional gradient check of " << what << " failed:" << report;
}

// The parameter values of m, in named_params() order.
inline std::vector<std::vector<float>> param_values(nn::Module& m) {
    std::vector<std::vector<float>> v;
    for (auto& [n, p] : m.named_params()) v.push_back(p->value.to_vector<float>());
    return v;
}

// After one SGD step with learning rate 1 (no momentum or decay) from `before` (param_values() taken before it):
// the update as (name, value, gradient = before - after) for directional_check, the weights put back to `before`.
inline std::vector<GradVar> update_as_gradient(nn::Module& m, const std::vector<std::vector<float>>& before) {
    std::vector<GradVar> vars;
    size_t i = 0;
    for (auto& [n, p] : m.named_params()) {
        std::vector<float> after = p->value.to_vector<float>(), g(after.size());
        for (size_t j = 0; j < g.size(); ++j) g[j] = before[i][j] - after[j];
        p->value.copy_from(Tensor::from_vector(before[i++], p->value.shape()));
        vars.emplace_back(n, p->value, Tensor::from_vector(g, p->value.shape()));
    }
    return vars;
}

// directional_check of L(x, params) = <forward(x), r> with a fixed random r against backward(r).
inline ::testing::AssertionResult directional_grad_check(nn::Module& m, const Tensor& x, double h = 1e-3,
                                                         double rel_tol = 1e-2, uint32_t seed = 99, int tries = 8) {
    Tensor y = m.forward(x);
    std::vector<float> r = random_vec(static_cast<size_t>(y.numel()), seed);
    Tensor rt = Tensor::from_vector(r, y.shape(), y.device());
    m.zero_grad();
    Tensor dx = m.backward(rt, true);
    std::vector<GradVar> vars{{"input", x, dx}};
    for (auto& [n, p] : m.named_params()) vars.emplace_back(n, p->value, p->grad);
    auto result = directional_check(vars, [&] { return dot_with(m.forward(x), r); }, m.type(), h, rel_tol, seed, tries);
    m.forward(x);
    return result;
}

}  // namespace lrp::test
