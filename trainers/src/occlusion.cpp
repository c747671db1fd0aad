// occlusion_curves: attribution -> patch means -> MoRF and random patch orders -> filled copies of the batch ->
// eval forwards, correct counts accumulated on the device and read back once; option checks and the AUC.
#include "lrp/train/occlusion.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/nvtx.h"
#include "lrp/philox.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/occlusion.h"
#include "lrp/ops/reduce.h"
#include "lrp/ops/reldrop.h"
#include "lrp/train/reldrop_step.h"
#include "lrp/train/step.h"

namespace lrp::train {

namespace {
bool has_stats(const OcclusionOptions& o, int C) {
    return o.mean.size() == static_cast<size_t>(C) && o.stdev.size() == static_cast<size_t>(C);
}

// The fill per channel; without dataset statistics only the policies that need none.
std::vector<float> fill_values(const OcclusionOptions& o, int C) {
    const bool stats_free = o.fill == "mean" || o.fill.rfind("normalized:", 0) == 0;
    const bool known = stats_free || o.fill == "reference" || o.fill.rfind("raw:", 0) == 0;
    LRP_CHECK(known, "occlusion: unknown fill '", o.fill, "' (known: mean, reference, raw:<v>, normalized:<v>)");
    LRP_CHECK(stats_free || has_stats(o, C), "occlusion: fill '", o.fill, "' needs the dataset mean and std (", C,
              " channels each)");
    const std::vector<float> mean = has_stats(o, C) ? o.mean : std::vector<float>(C, 0.f);
    const std::vector<float> stdev = has_stats(o, C) ? o.stdev : std::vector<float>(C, 1.f);
    return ops::reldrop_fill(o.fill, mean, stdev, "--occlusion-fill");
}

explain::Composite composite_for(const OcclusionOptions& o, int C) {
    explain::CompositeOptions opts = o.composite_options.value_or(explain::CompositeOptions{});
    if (has_stats(o, C)) {  // ZBox bounds at the normalised raw 0 and 1, unless given
        const explain::CompositeOptions d = dataset_composite_options(o.mean, o.stdev);
        if (!opts.low) opts.low = d.low;
        if (!opts.high) opts.high = d.high;
    }
    if (o.composite == "epsilon_gamma_box")
        LRP_CHECK(opts.low && opts.high, "occlusion: composite epsilon_gamma_box needs the dataset mean and std (",
                  C, " channels each) or given bounds for its input bounds");
    return explain::make_composite(o.composite, opts);
}

// What the accuracy curves count as correct for a target (explain::Target::parse's spec).
std::string scored_against(const std::string& target) {
    const explain::Target t = explain::Target::parse(target, Tensor::zeros(Shape{1}, DType::I32));
    switch (t.kind) {
        case explain::Target::Kind::Prediction: return "prediction on the unoccluded image";
        case explain::Target::Kind::Class: return "class " + std::to_string(t.cls);
        default: return "label";
    }
}

int user_rules(const OcclusionOptions& o) {
    if (!o.composite_options) return 0;
    const explain::CompositeOptions& c = *o.composite_options;
    return static_cast<int>(c.layer_map.size() + c.first_map.size() + c.name_map.size());
}

// Patches filled at step s of `steps` for P patches: round(s / steps * P), half away from zero.
int step_patches(int s, int steps, int P) {
    return static_cast<int>(std::lround(static_cast<double>(s) * P / steps));
}
}  // namespace

int default_occlusion_patch(int H, int W) {
    const int p = std::max(H, W) <= 64 ? 4 : 16;
    return std::max(1, std::min({p, H, W}));
}

OcclusionOptions resolve_occlusion_options(const OcclusionOptions& in, int C, int H, int W) {
    OcclusionOptions o = in;
    LRP_CHECK(C >= 1 && C <= 4 && H >= 1 && W >= 1, "occlusion: images of ", C, " x ", H, " x ", W,
              " (need 1 to 4 channels)");
    LRP_CHECK(o.steps >= 1 && o.steps <= 4096, "occlusion: steps must be in [1, 4096], got ", o.steps);
    if (o.patch == 0) o.patch = default_occlusion_patch(H, W);
    LRP_CHECK(o.patch >= 1 && o.patch <= std::min(H, W), "occlusion: patch must be in [1, ", std::min(H, W),
              "] (the smaller side of a ", H, " x ", W, " image), got ", o.patch);
    LRP_CHECK(o.mean.size() == o.stdev.size(), "occlusion: ", o.mean.size(), " mean and ", o.stdev.size(),
              " std values");
    LRP_CHECK(o.mean.empty() || has_stats(o, C), "occlusion: ", o.mean.size(), " mean/std values for ", C,
              " channels");
    fill_values(o, C);
    explain::Target::parse(o.target, Tensor::zeros(Shape{1}, DType::I32));  // throws naming the accepted ones
    if (o.composite_options)
        for (const auto* b : {&o.composite_options->low, &o.composite_options->high})
            LRP_CHECK(!*b || (*b)->per_channel.empty() || (*b)->per_channel.size() == static_cast<size_t>(C),
                      "occlusion: ZBox bound ", (*b)->str(), " has ", (*b)->per_channel.size(),
                      " per-channel values, but the images have ", C, " channel(s)");
    composite_for(o, C);
    return o;
}

void check_occlusion_composite(const OcclusionOptions& in, nn::Module& model, int C, int H, int W) {
    explain::Composite comp = composite_for(resolve_occlusion_options(in, C, H, W), C);
    comp.bind(model);  // rules given by layer name must name layers of this model
}

void random_patch_order(uint64_t seed, int64_t row, const Tensor& order) {
    LRP_CHECK(order.dtype() == DType::I32 && order.ndim() == 2, "random_patch_order: need I32 [N, P], got ",
              dtype_name(order.dtype()), " ", order.shape().str());
    const int64_t bs = order.dim(0), P = order.dim(1);
    LRP_CHECK(row >= 0 && P >= 1 && P <= std::numeric_limits<int>::max(), "random_patch_order: row ", row, ", P ", P);
    Tensor u = Tensor::empty(order.shape(), DType::F32, order.device());
    const uint64_t per = philox_uniform_counters(static_cast<uint64_t>(P));
    for (int64_t i = 0; i < bs; ++i) {
        Generator g(seed, static_cast<uint64_t>(row + i) * per);
        ops::uniform(u.slice(i, i + 1), g, 0.f, 1.f);
    }
    ops::topk_rows(u, static_cast<int>(P), order);
}

double trapezoid_auc(const std::vector<double>& x, const std::vector<double>& y) {
    LRP_CHECK(!x.empty() && x.size() == y.size(), "trapezoid_auc: ", x.size(), " x and ", y.size(), " y values");
    double a = 0;
    for (size_t i = 0; i + 1 < x.size(); ++i) a += (x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2;
    return a;
}

OcclusionResult occlusion_curves(nn::Module& model, BatchSource& loader, const OcclusionOptions& opts) {
    LRP_NVTX_RANGE("occlusion_curves");
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t n = loader.size();
    LRP_CHECK(n > 0 && loader.batches_per_epoch() > 0, "occlusion: the loader holds no samples");
    model.eval();
    loader.start_epoch(0, 0);

    OcclusionOptions o;
    ops::PatchGrid grid;
    std::vector<float> fill;
    explain::Composite comp;
    std::vector<int> ms;              // patches filled per step
    std::vector<int> src[2];          // [order][step] -> the step whose forward gives this point
    Tensor counts, nonfinite;         // F32 [2 * (steps + 1)] and F32 [n] (0 or NaN per sample), on the device
    Tensor bad_outputs;               // F32 [n]: 0, or NaN once a forward gave the sample a NaN or Inf output
    Tensor spread;                    // F32 [n]: max - min of the patch means per sample (0: a constant map)
    int64_t C = 0, H = 0, W = 0, row = 0;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
        const BatchSource::Batch batch = loader.batch(b);
        const Tensor& x = batch.x;
        LRP_CHECK(x.ndim() == 4, "occlusion: batch of shape ", x.shape().str(), ", expected [N, C, H, W]");
        if (b == 0) {
            C = x.dim(1), H = x.dim(2), W = x.dim(3);
            o = resolve_occlusion_options(opts, static_cast<int>(C), static_cast<int>(H), static_cast<int>(W));
            grid = ops::patch_grid(H, W, o.patch);
            fill = fill_values(o, static_cast<int>(C));
            comp = composite_for(o, static_cast<int>(C));
            for (int s = 0; s <= o.steps; ++s) ms.push_back(step_patches(s, o.steps, grid.P()));
            for (int k = 0; k < 2; ++k)
                for (int s = 0; s <= o.steps; ++s) {
                    int from = s;
                    if (s > 0 && ms[s] == ms[s - 1]) from = src[k][s - 1];
                    src[k].push_back(from);
                }
            counts = Tensor::zeros(Shape{2 * (o.steps + 1)}, DType::F32, x.device());
            bad_outputs = Tensor::zeros(Shape{n}, DType::F32, x.device());
            nonfinite = Tensor::empty(Shape{n}, DType::F32, x.device());
            spread = Tensor::empty(Shape{n}, DType::F32, x.device());
        }
        LRP_CHECK(x.dim(1) == C && x.dim(2) == H && x.dim(3) == W, "occlusion: batch ", b, " has shape ",
                  x.shape().str(), ", the first had [*, ", C, ", ", H, ", ", W, "]");
        const int64_t bs = x.dim(0);
        LRP_CHECK(row + bs <= n, "occlusion: the loader gave more than its ", n, " samples");

        const explain::Target target = explain::Target::parse(o.target, batch.y);
        const Tensor map = ops::channel_sum(explain::attribute(model, x, target, comp));
        model.clear_saved();
        // per sample: sum of 0 * map, which is NaN iff the map holds a NaN or an Inf
        ops::reduce_rows(ops::ReduceOp::Sum, ops::scale(map, 0.f), nonfinite.slice(row, row + bs));
        Tensor orders[2];
        for (Tensor& t : orders) t = Tensor::empty(Shape{bs, grid.P()}, DType::I32, x.device());
        const Tensor rel = ops::patch_relevance(map, o.patch);
        ops::topk_rows(rel, grid.P(), orders[0]);
        ops::range_rows(rel, spread.slice(row, row + bs));
        random_patch_order(o.seed, row, orders[1]);
        // Scored against: the label (targets label and output), the clean image's prediction (pred), the class.
        Tensor scored = batch.y;
        if (target.kind == explain::Target::Kind::Class)
            scored = Tensor::from_vector(std::vector<int32_t>(static_cast<size_t>(bs), target.cls), Shape{bs})
                         .to(x.device());

        for (int s = 0; s <= o.steps; ++s) {
            for (int k = 0; k < 2; ++k) {
                const int m = ms[s];
                if (src[k][s] != s || (k == 1 && (m == 0 || m == grid.P()))) continue;  // same as another point
                Tensor xin = x;
                if (m > 0) {
                    xin = x.clone();
                    ops::occlude_patches(xin, orders[k], m, o.patch, fill);
                }
                const Tensor logits = model.forward(xin);
                if (m == 0 && target.kind == explain::Target::Kind::Prediction) {  // the first forward (s = 0)
                    scored = Tensor::empty(Shape{bs}, DType::I32, x.device());
                    ops::argmax_rows(logits, scored);
                }
                const Tensor correct = count_correct(logits, scored);
                ops::axpy(1.f, correct, counts.slice(k * (o.steps + 1) + s, k * (o.steps + 1) + s + 1));
                // per sample: NaN once an output is NaN or Inf (an arg-max of those is no prediction)
                Tensor bad = Tensor::empty(Shape{bs}, DType::F32, x.device());
                ops::reduce_rows(ops::ReduceOp::Sum, ops::scale(logits, 0.f), bad);
                ops::axpy(1.f, bad, bad_outputs.slice(row, row + bs));
            }
        }
        row += bs;
    }
    model.clear_saved();
    LRP_CHECK(row == n, "occlusion: the loader gave ", row, " of its ", n, " samples");

    const std::vector<float> cv = counts.to_vector<float>();
    const std::vector<float> nf = nonfinite.to_vector<float>(), sp = spread.to_vector<float>();
    // An image whose map is finite but whose outputs are not (clean or occluded) would be scored by an arg-max of
    // NaN or Inf. (An image with a non-finite map, e.g. NaN pixels, is counted as before and reported.)
    const std::vector<float> bo = bad_outputs.to_vector<float>();
    for (int64_t i = 0; i < n; ++i)
        LRP_CHECK(!std::isfinite(nf[i]) || std::isfinite(bo[i]), "occlusion: the model's outputs hold NaN or Inf for ",
                  "image ", i, ", clean or occluded, while its relevance map is finite (--occlusion-fill ", o.fill,
                  " may fill values the model overflows on); no accuracy is reported");
    OcclusionResult r;
    r.composite = o.composite;
    r.user_rules = user_rules(o);
    r.rules = comp.assignment_table();
    r.target = o.target;
    r.scored_against = scored_against(o.target);
    r.fill = o.fill;
    r.patch = o.patch;
    r.grid_h = grid.ph;
    r.grid_w = grid.pw;
    r.patches = grid.P();
    r.steps = o.steps;
    r.seed = o.seed;
    r.samples = n;
    r.nonfinite_maps = std::count_if(nf.begin(), nf.end(), [](float v) { return !std::isfinite(v); });
    for (int64_t i = 0; i < n; ++i) r.constant_maps += std::isfinite(nf[i]) && sp[i] == 0.f;
    // With every map NaN or Inf the MoRF order is arbitrary: no curve to report (a few such maps are counted).
    LRP_CHECK(r.nonfinite_maps < n, "occlusion: none of the ", n, " images has a finite relevance map (the weights, ",
              "the inputs or the rules' stabilizers give NaN or Inf); no MoRF curve can be measured");
    r.occluded = ms;
    for (int s = 0; s <= o.steps; ++s) {
        const int m = ms[s];
        r.fractions.push_back(static_cast<double>(m) / grid.P());
        r.accuracy_morf.push_back(cv[src[0][s]] / static_cast<double>(n));
        const int k = (m == 0 || m == grid.P()) ? 0 : 1;  // no order matters at m = 0 or P
        r.accuracy_random.push_back(cv[k * (o.steps + 1) + src[k][s]] / static_cast<double>(n));
    }
    r.auc_morf = trapezoid_auc(r.fractions, r.accuracy_morf);
    r.auc_random = trapezoid_auc(r.fractions, r.accuracy_random);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

nlohmann::json to_json(const OcclusionResult& r) {
    nlohmann::json j = {{"composite", r.composite},
            {"target", r.target},
            {"scored_against", r.scored_against},
            {"fill", r.fill},
            {"patch", r.patch},
            {"grid", {r.grid_h, r.grid_w}},
            {"P", r.patches},
            {"steps", r.steps},
            {"seed", r.seed},
            {"samples", r.samples},
            {"nonfinite_maps", r.nonfinite_maps},
            {"constant_maps", r.constant_maps},
            {"occluded_patches", r.occluded},
            {"fractions", r.fractions},
            {"accuracy_morf", r.accuracy_morf},
            {"accuracy_random", r.accuracy_random},
            {"auc_morf", r.auc_morf},
            {"auc_random", r.auc_random},
            {"rules", r.rules},
            {"seconds", r.seconds}};
    if (r.user_rules) j["user_rules"] = r.user_rules;
    return j;
}

}  // namespace lrp::train
