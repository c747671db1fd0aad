// EDDA's faithfulness proxy over a split: the windows of Edda::augment and a random control window, one eval
// forward per batch, the label's probability on each version read back per batch, and the means of the drops.
#include "lrp/train/faithfulness.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lrp/nvtx.h"
#include "lrp/philox.h"
#include "lrp/ops/edda.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/loss.h"
#include "lrp/ops/reldrop.h"
#include "lrp/ops/reduce.h"

namespace lrp::train {

std::vector<char> constant_reduced_maps(const Tensor& relevance, ops::EddaReduce reduce) {
    const std::vector<float> r = relevance.to_vector<float>();
    const int64_t n = relevance.dim(0), C = relevance.dim(1);
    std::vector<char> constant(static_cast<size_t>(n), 1);
    if (n == 0 || C == 0) return constant;
    const int64_t HW = relevance.numel() / (n * C);
    for (int64_t i = 0; i < n; ++i) {
        double first = 0;
        for (int64_t p = 0; p < HW && constant[i]; ++p) {
            double v = 0;
            for (int64_t c = 0; c < C; ++c) {
                const double x = r[(i * C + c) * HW + p];
                v += reduce == ops::EddaReduce::Abs    ? std::fabs(x)
                     : reduce == ops::EddaReduce::Relu ? std::max(x, 0.0)
                                                       : x;
            }
            if (p == 0) first = v;
            else if (v != first) constant[i] = 0;
        }
    }
    return constant;
}

FaithfulnessResult faithfulness(nn::Module& model, BatchSource& loader, const EddaSettings& s, uint64_t seed) {
    LRP_NVTX_RANGE("faithfulness");
    const auto t0 = std::chrono::steady_clock::now();
    Edda edda(s);
    const bool was_training = model.training();
    model.eval();
    FaithfulnessResult r;
    r.composite = s.composite;
    r.reduce = ops::edda_reduce_name(s.reduce);
    r.patch = s.patch;
    r.seed = seed;
    double p_clean = 0, drop_sal = 0, drop_non = 0, drop_rand = 0, beats = 0, beats_rand = 0, acc[3] = {0, 0, 0};
    int64_t used = 0;
    try {
        loader.start_epoch(0, 0);
        for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
            const BatchSource::Batch batch = loader.batch(b);
            const int64_t n = batch.x.dim(0);
            Tensor valid, relevance;
            const Tensor X3 = edda.augment(model, batch.x, batch.y, nullptr, &valid, &relevance);
            // the control: a window drawn uniformly per image (the arg-max of Philox uniforms over the positions)
            std::vector<int64_t> d = X3.shape().dims();
            const int64_t windows = (d[2] - s.patch + 1) * (d[3] - s.patch + 1);
            d[0] = 4 * n;
            const Tensor X = Tensor::empty(Shape(d), DType::F32, X3.device());
            X.slice(0, 3 * n).copy_from(X3);
            X.slice(3 * n, 4 * n).copy_from(batch.x);
            // each image's uniforms from its own Philox counters: the same window for any batch size
            Tensor u = Tensor::empty(Shape{n, windows}, DType::F32, X.device());
            const uint64_t per = philox_uniform_counters(static_cast<uint64_t>(windows));
            for (int64_t i = 0; i < n; ++i) {
                Generator g(seed, static_cast<uint64_t>(r.samples + i) * per);
                ops::uniform(u.slice(i, i + 1), g, 0.f, 1.f);
            }
            Tensor pick = Tensor::empty(Shape{n, 1}, DType::I32, X.device());
            ops::topk_rows(u, 1, pick);
            ops::fill_windows(X.slice(3 * n, 4 * n), pick.reshape(Shape{n}), s.patch, s.fill);
            const Tensor logits = model.forward(X);
            model.clear_saved();
            Tensor loss = Tensor::empty(Shape{4 * n}, DType::F32, logits.device());
            Tensor pred = Tensor::empty(Shape{4 * n}, DType::I32, logits.device());
            for (int part = 0; part < 4; ++part)
                ops::softmax_xent(logits.slice(part * n, (part + 1) * n), batch.y, 0.f, 1.f,
                                  loss.slice(part * n, (part + 1) * n), Tensor());
            ops::argmax_rows(logits, pred);
            const std::vector<float> l = loss.to_vector<float>(), ok = valid.to_vector<float>();
            const std::vector<int32_t> pr = pred.to_vector<int32_t>(), y = batch.y.to_vector<int32_t>();
            const std::vector<char> constant = constant_reduced_maps(relevance, s.reduce);
            for (int64_t i = 0; i < n; ++i) {
                ++r.samples;
                if (ok[i] == 0.f) {
                    ++r.nonfinite_maps;
                    continue;
                }
                if (constant[i]) {  // a constant map (e.g. all zero): no window is more relevant than another
                    ++r.constant_maps;
                    continue;
                }
                for (int part = 0; part < 4; ++part)  // (a map's NaN or Inf shows first, as above)
                    LRP_CHECK(std::isfinite(l[part * n + i]), "faithfulness: the model's outputs hold NaN or Inf for ",
                              "image ", r.samples - 1, part == 0 ? "" : " with a filled window", ", whose relevance map ",
                              "is finite (--faithfulness-fill may fill values the model overflows on); no drop is ",
                              "reported");
                // p_y = exp(-CE): exact up to the float rounding of the loss
                const double pc = std::exp(-double(l[i])), ps = std::exp(-double(l[n + i])),
                             pn = std::exp(-double(l[2 * n + i])), prand = std::exp(-double(l[3 * n + i]));
                p_clean += pc;
                drop_sal += pc - ps;
                drop_non += std::fabs(pc - pn);
                drop_rand += pc - prand;
                beats += (pc - ps) > std::fabs(pc - pn);
                beats_rand += (pc - ps) > (pc - prand);
                for (int part = 0; part < 3; ++part) acc[part] += pr[part * n + i] == y[i];
                ++used;
            }
        }
    } catch (...) {
        model.clear_saved();
        model.train(was_training);
        throw;
    }
    model.train(was_training);
    LRP_CHECK(r.nonfinite_maps < r.samples, "faithfulness: none of the ", r.samples, " images has a finite relevance ",
              "map (the weights or inputs hold NaN or Inf)");
    LRP_CHECK(used > 0, "faithfulness: every finite relevance map of the ", r.samples, " images is constant (e.g. all ",
              "zero: the model explains nothing), so no window is more relevant than another");
    r.rules = edda.composite().assignment_table();
    r.mean_p_clean = p_clean / used;
    r.mean_drop_salient = drop_sal / used;
    r.mean_abs_drop_nonsalient = drop_non / used;
    r.share_salient_beats_nonsalient = beats / used;
    r.mean_drop_random = drop_rand / used;
    r.share_salient_beats_random = beats_rand / used;
    r.acc_clean = acc[0] / used;
    r.acc_salient = acc[1] / used;
    r.acc_nonsalient = acc[2] / used;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

nlohmann::json to_json(const FaithfulnessResult& r) {
    return {{"proxy", "lrpcu's EDDA proxy (isnet-edda.md B.4), not the paper's metric"},
            {"composite", r.composite},
            {"reduce", r.reduce},
            {"fill", r.fill},
            {"patch", r.patch},
            {"samples", r.samples},
            {"nonfinite_maps", r.nonfinite_maps},
            {"constant_maps", r.constant_maps},
            {"mean_p_clean", r.mean_p_clean},
            {"mean_drop_salient", r.mean_drop_salient},
            {"mean_abs_drop_nonsalient", r.mean_abs_drop_nonsalient},
            {"share_salient_beats_nonsalient", r.share_salient_beats_nonsalient},
            {"mean_drop_random", r.mean_drop_random},
            {"share_salient_beats_random", r.share_salient_beats_random},
            {"seed", r.seed},
            {"acc_clean", r.acc_clean},
            {"acc_salient", r.acc_salient},
            {"acc_nonsalient", r.acc_nonsalient},
            {"rules", r.rules},
            {"seconds", r.seconds}};
}

}  // namespace lrp::train
