// Evaluation: eval-mode forward over a loader, logits gathered on the device, one copy back at the
// end; loss (in double), top-1, top-5 and per-class accuracy computed on the host.
#include <algorithm>
#include <cmath>
#include <limits>

#include "lrp/nvtx.h"
#include "lrp/train/trainer.h"

namespace lrp::train {

EvalResult evaluate(nn::Module& model, BatchSource& loader, int num_classes, const std::function<bool()>& stop) {
    LRP_NVTX_RANGE("evaluate");
    model.eval();
    loader.start_epoch(0, 0);
    const int64_t n = loader.size();
    Tensor logits_all, labels_all;
    int64_t row = 0;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
        if (stop && stop()) {
            model.clear_saved();
            EvalResult r;
            r.stopped = true;
            return r;
        }
        BatchSource::Batch batch = loader.batch(b);
        Tensor logits = model.forward(batch.x);
        LRP_CHECK(logits.ndim() == 2 && logits.dim(1) == num_classes, "evaluate: model output ", logits.shape().str(),
                  " does not match ", num_classes, " classes");
        if (!logits_all.defined()) {
            logits_all = Tensor::empty({n, num_classes}, DType::F32, logits.device());
            labels_all = Tensor::empty({n}, DType::I32, logits.device());
        }
        const int64_t bs = logits.dim(0);
        logits_all.slice(row, row + bs).copy_from(logits);
        labels_all.slice(row, row + bs).copy_from(batch.y);
        row += bs;
    }
    model.clear_saved();
    std::vector<float> lg = logits_all.to_vector<float>();
    std::vector<int32_t> lb = labels_all.to_vector<int32_t>();
    EvalResult r;
    r.samples = n;
    std::vector<int64_t> hits(num_classes, 0), count(num_classes, 0);
    double loss = 0;
    int64_t top1 = 0, top5 = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float* z = lg.data() + i * num_classes;
        const int y = lb[i];
        LRP_CHECK(y >= 0 && y < num_classes, "evaluate: sample ", i, " has label ", y, ", outside the model's ",
                  num_classes, " classes");
        double mx = -std::numeric_limits<double>::infinity();
        for (int k = 0; k < num_classes; ++k) mx = std::max(mx, double(z[k]));
        double se = 0;
        for (int k = 0; k < num_classes; ++k) se += std::exp(double(z[k]) - mx);
        loss += -(double(z[y]) - mx - std::log(se));
        // rank of the true class: number of classes scoring strictly higher (ties favour lower index);
        // logits holding NaN or Inf rank nothing (every comparison with NaN is false): never a hit.
        bool finite = true;
        for (int k = 0; k < num_classes; ++k) finite = finite && std::isfinite(z[k]);
        int rank = 0;
        for (int k = 0; k < num_classes; ++k) rank += z[k] > z[y] || (z[k] == z[y] && k < y);
        if (!finite) {
            rank = std::numeric_limits<int>::max();
            ++r.nonfinite;
        }
        top1 += rank == 0;
        top5 += rank < 5;
        count[y]++;
        hits[y] += rank == 0;
    }
    r.loss = loss / n;
    r.top1 = double(top1) / n;
    r.top5 = double(top5) / n;
    for (int k = 0; k < num_classes; ++k)
        r.per_class.push_back(count[k] ? double(hits[k]) / count[k] : std::numeric_limits<double>::quiet_NaN());
    return r;
}

}  // namespace lrp::train
