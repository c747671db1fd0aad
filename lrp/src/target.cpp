// Initial relevance: one-hot rows built on the logits' device. The one-hot scatter and the per-row
// arg-max are the max-pool op-table entries over each row viewed as a 1 x K window (first maximum wins,
// as torch.argmax), so no new kernel and no host synchronisation is needed.
#include "lrp/lrp/target.h"

#include <vector>

#include "lrp/ops/elementwise.h"
#include "lrp/ops/pool.h"

namespace lrp::explain {

Target Target::label(Tensor labels) {
    Target t;
    t.kind = Kind::Label;
    t.labels = std::move(labels);
    return t;
}
Target Target::prediction() { return Target{}; }
Target Target::class_index(int c) {
    Target t;
    t.kind = Kind::Class;
    t.cls = c;
    return t;
}
Target Target::output() {
    Target t;
    t.kind = Kind::Output;
    return t;
}
Target Target::scaled_by_logit() const {
    Target t = *this;
    t.times_logit = true;
    return t;
}

Target Target::parse(const std::string& spec, Tensor labels) {
    std::string s = spec;
    bool logit = false;
    const std::string suffix = "*logit";
    if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
        logit = true;
        s.resize(s.size() - suffix.size());
    }
    Target t;
    if (s == "label") {
        LRP_CHECK(labels.defined(), "target 'label' needs labels");
        t = label(std::move(labels));
    } else if (s == "pred" || s == "prediction") {
        t = prediction();
    } else if (s == "output") {
        LRP_CHECK(!logit, "target 'output*logit': output already starts from the logits (use 'output')");
        t = output();
    } else {
        size_t used = 0;
        int c = -1;
        const bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
        try {
            if (digits) c = std::stoi(s, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        LRP_CHECK(!digits || used == s.size(), "target class ", s, " is too large for a class index");
        LRP_CHECK(digits && used == s.size() && c >= 0, "unknown target '", spec,
                  "'; expected label, pred, a class index >= 0 (each optionally with suffix *logit), or output");
        t = class_index(c);
    }
    t.times_logit = logit;
    return t;
}

std::string Target::str() const {
    std::string s = kind == Kind::Label ? "label" : kind == Kind::Prediction ? "pred"
                  : kind == Kind::Output ? "output" : std::to_string(cls);
    return times_logit ? s + "*logit" : s;
}

Tensor Target::class_indices(int64_t n, Device d) const {
    std::lock_guard<std::mutex> lock(cache_->m);
    IndexCache& c = *cache_;
    if (!c.idx.defined() || c.cls != cls || c.n != n || c.device != d) {
        c.idx = Tensor::from_vector(std::vector<int32_t>(static_cast<size_t>(n), cls), {n, 1, 1, 1}, d);
        c.cls = cls;
        c.n = n;
        c.device = d;
    }
    return c.idx;
}

Tensor initial_relevance(const Tensor& logits, const Target& t) {
    check_dtype("initial_relevance", "logits", logits, DType::F32);
    LRP_CHECK(logits.ndim() == 2 && logits.dim(0) > 0 && logits.dim(1) > 0,
              "initial_relevance: logits have shape ", logits.shape().str(), ", expected [N, K]");
    const int64_t n = logits.dim(0), k = logits.dim(1);
    const Device dev = logits.device();
    if (t.kind == Target::Kind::Output) {
        LRP_CHECK(!t.times_logit, "target 'output' cannot be scaled by the logit");
        return logits.clone();
    }
    ops::Pool2dParams p;  // one 1 x K window per sample
    p.kh = p.sh = 1;
    p.kw = p.sw = static_cast<int>(k);
    const ops::Pool2dDesc d = ops::pool2d_desc(Shape{n, 1, 1, k}, p, true);
    const Tensor rows = logits.reshape({n, 1, 1, k});
    Tensor idx, top;
    switch (t.kind) {
        case Target::Kind::Prediction:
            top = Tensor::empty({n, 1, 1, 1}, DType::F32, dev);
            idx = Tensor::empty({n, 1, 1, 1}, DType::I32, dev);
            ops::maxpool_fwd(d, rows, top, idx);
            break;
        case Target::Kind::Label: {
            LRP_CHECK(t.labels.defined() && t.labels.numel() == n, "target label: need ", n, " labels, got ",
                      t.labels.defined() ? t.labels.numel() : 0);
            Tensor lab = t.labels;
            if (lab.device().is_cpu() && lab.dtype() == DType::I64) {  // host labels: convert
                std::vector<int32_t> v;
                for (int64_t x : lab.to_vector<int64_t>()) {
                    LRP_CHECK(x >= 0 && x < k, "target label ", x, " is outside [0, ", k, ")");  // before narrowing
                    v.push_back(static_cast<int32_t>(x));
                }
                lab = Tensor::from_vector(v, {n});
            }
            check_dtype("initial_relevance", "labels", lab, DType::I32);
            if (lab.device().is_cpu()) {  // device labels are taken as they are (an out-of-range one gives a zero row)
                for (int32_t c : lab.to_vector<int32_t>())
                    LRP_CHECK(c >= 0 && c < k, "target label ", c, " is outside [0, ", k, ")");
            }
            idx = lab.to(dev).reshape({n, 1, 1, 1});
            break;
        }
        case Target::Kind::Class:
            LRP_CHECK(t.cls >= 0 && t.cls < k, "target class ", t.cls, " is outside [0, ", k, ")");
            idx = t.class_indices(n, dev);
            break;
        case Target::Kind::Output: break;
    }
    Tensor r = Tensor::empty({n, 1, 1, k}, DType::F32, dev);
    const bool use_top = t.times_logit && top.defined();
    ops::maxpool_bwd(d, use_top ? top : ops::full({n, 1, 1, 1}, 1.f, dev), idx, r);
    if (t.times_logit && !use_top) ops::mul(r, rows, r);
    return r.reshape({n, k});
}

}  // namespace lrp::explain
