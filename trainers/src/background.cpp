// background_relevance: per batch the composite's map and the LRP-Flex maps (epsilon or z^B first layer, and at
// LRP deep supervision's hidden points) of the label, RRR's input gradient and the foreground mask; per image (host,
// double) each map's background share of |relevance| (of the squared gradient) and RRR's penalty; ISNet's heatmap
// loss of the LRP-Flex maps on the device.
#include "lrp/train/background.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "lrp/lrp/attribution.h"
#include "lrp/lrp/flex.h"
#include "lrp/lrp/flex_lds.h"
#include "lrp/lrp/flex_zb.h"
#include "lrp/lrp/target.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/loss.h"
#include "lrp/train/isnet_step.h"

namespace lrp::train {
namespace {

// Background share of sum_c |r[n, c, :]| per image n: NaN for a map that is not finite, -1 for one that is 0.
std::vector<double> background_shares(const std::vector<float>& r, const std::vector<float>& m, int64_t N, int64_t C,
                                      int64_t HW) {
    std::vector<double> out(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
        double bg = 0, all = 0;
        for (int64_t c = 0; c < C; ++c)
            for (int64_t j = 0; j < HW; ++j) {
                const double a = std::fabs(static_cast<double>(r[(n * C + c) * HW + j]));
                all += a;
                if (m[n * HW + j] == 0.f) bg += a;
            }
        out[n] = !std::isfinite(all) ? NAN : (all > 0 ? bg / all : -1.0);
    }
    return out;
}

// JSON number, or null for NaN (a share no image had).
nlohmann::json num_or_null(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

}  // namespace

BackgroundResult background_relevance(nn::Module& model, BatchSource& loader, explain::Composite& composite,
                                      const std::vector<float>& level, const std::vector<float>& input_zero,
                                      const ops::IsnetLossParams& loss, float flex_epsilon,
                                      const std::vector<float>& pixel_scale, const std::vector<float>& input_one,
                                      const std::vector<std::string>& hidden_layers) {
    LRP_CHECK(input_zero.size() == level.size(), "--background: ", input_zero.size(), " input zero(s) for ",
              level.size(), " foreground level(s)");
    const auto t0 = std::chrono::steady_clock::now();
    BackgroundResult res;
    res.composite = composite.name();
    res.flex_epsilon = flex_epsilon;
    model.eval();
    LRP_CHECK(pixel_scale.empty() || pixel_scale.size() == level.size(), "--background: ", pixel_scale.size(),
              " pixel scale(s) for ", level.size(), " channel(s)");
    explain::FlexPass flex(explain::FlexOptions{flex_epsilon}), plain(explain::FlexOptions{0.f, true});
    std::optional<explain::FlexZb> zb;
    if (!input_one.empty()) zb.emplace(input_zero, input_one, flex_epsilon);
    // The named points, or the model's own (none, quietly, for a model without ResNet stages or pooled ReLUs).
    const explain::FlexHidden hidden(model, hidden_layers, hidden_layers.empty() ? "--background's hidden layers"
                                                                                 : "--background-layers", false);
    const size_t L = hidden.points().size();
    for (size_t l = 0; l < L; ++l) res.share_hidden.push_back({hidden.points()[l].name, NAN});
    std::vector<double> sh_sum(L, 0.0);
    std::vector<int64_t> sh_n(L, 0);
    std::vector<float> neg(level.size()), neg_zero(level.size());
    for (size_t c = 0; c < level.size(); ++c) neg[c] = -level[c], neg_zero[c] = -input_zero[c];
    Tensor ones, shift, zero_shift;
    double fg = 0, sc = 0, sf = 0, heat = 0, sg = 0, pen = 0, sz = 0, heat_zb = 0;  // sz, heat_zb: the z^B map's
    int64_t nc = 0, nf = 0, nh = 0, ng = 0, np = 0, nz = 0;
    loader.start_epoch(0, 0);
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
        const BatchSource::Batch batch = loader.batch(b);
        const Tensor& x = batch.x;
        const int64_t N = x.dim(0), C = x.dim(1), HW = x.dim(2) * x.dim(3);
        LRP_CHECK(C == static_cast<int64_t>(level.size()), "--background: images of ", C, " channel(s) for a ",
                  "foreground level of ", level.size());
        if (!ones.defined()) {
            ones = Tensor::from_vector(std::vector<float>(level.size(), 1.f), Shape{C}, x.device());
            shift = Tensor::from_vector(neg, Shape{C}, x.device());
            zero_shift = Tensor::from_vector(neg_zero, Shape{C}, x.device());
        }
        const Tensor mask = foreground_mask(x, ones, shift, batch.allowed);
        const Tensor rc = explain::attribute(model, x, explain::Target::label(batch.y), composite);
        Tensor logits = model.forward(x);
        const Tensor g = flex.gradient(model, explain::initial_relevance(logits, explain::Target::label(batch.y)));
        const Tensor rf = ops::mul(g, heatmap_input(x, ones, zero_shift));
        Tensor per = Tensor::empty(Shape{N}, DType::F32, x.device()), dR = Tensor::empty(x.shape(), DType::F32, x.device());
        Tensor bad = Tensor::empty(Shape{N}, DType::I32, x.device());
        ops::isnet_heat_loss(rf, mask, loss, per, dR, bad);
        const std::vector<float> m = mask.to_vector<float>(), hl = per.to_vector<float>();
        const std::vector<int32_t> bv = bad.to_vector<int32_t>();
        std::vector<double> shz(static_cast<size_t>(N), NAN);
        std::vector<float> hlz(static_cast<size_t>(N), NAN);
        if (zb) {  // the same pass, z^B on the first layer
            const Tensor rz = zb->heatmap(model, flex, x);
            zb->release();  // no adjoint here
            ops::isnet_heat_loss(rz, mask, loss, per, dR, bad);
            shz = background_shares(rz.to_vector<float>(), m, N, C, HW);
            hlz = per.to_vector<float>();
            const std::vector<int32_t> bz = bad.to_vector<int32_t>();
            for (int64_t n = 0; n < N; ++n)
                if (bz[n]) shz[n] = NAN;
        }
        std::vector<std::vector<double>> shh;  // [layer][image]: the hidden maps of the same pass
        for (size_t l = 0; l < L; ++l) {
            const Tensor H = hidden.map(flex, l);
            const std::vector<float> ml = mask_at(mask, H.dim(2), H.dim(3)).to_vector<float>();
            shh.push_back(background_shares(H.to_vector<float>(), ml, N, H.dim(1), H.dim(2) * H.dim(3)));
        }
        const std::vector<double> shc = background_shares(rc.to_vector<float>(), m, N, C, HW);
        const std::vector<double> shf = background_shares(rf.to_vector<float>(), m, N, C, HW);
        // RRR: g = d sum_k log p_k / dx (seed 1 - K softmax, as Rrr::input_gradient); shares of g^2.
        logits = model.forward(x);
        Tensor seed = Tensor::empty(logits.shape(), DType::F32, x.device()), ce = Tensor::empty(Shape{N}, DType::F32, x.device());
        ops::softmax_xent(logits, Tensor::zeros(Shape{N}, DType::I32, x.device()), 1.f,
                          -static_cast<float>(logits.dim(1)), ce, seed);
        const Tensor gr = plain.gradient(model, seed);
        const std::vector<float> gv = ops::mul(gr, gr).to_vector<float>();
        const std::vector<double> shg = background_shares(gv, m, N, C, HW);
        for (int64_t n = 0; n < N; ++n) {
            ++res.samples;
            double f = 0;
            for (int64_t j = 0; j < HW; ++j) f += m[n * HW + j];
            fg += f / HW;
            bool hidden_bad = false;
            for (const auto& v : shh) hidden_bad = hidden_bad || std::isnan(v[n]);
            if (bv[n] || std::isnan(shf[n]) || std::isnan(shc[n]) || (zb && std::isnan(shz[n])) || hidden_bad) {
                ++res.nonfinite_maps;
                continue;
            }
            ++nh, heat += hl[n];
            if (zb) {  // as the epsilon map: an all-zero map counts as empty, not in the share
                heat_zb += hlz[n];
                if (shz[n] < 0) ++res.empty_maps;
                else ++nz, sz += shz[n];
            }
            if (!std::isnan(shg[n])) {
                // a zero gradient has no background share (an empty map, as the others); its penalty is 0
                if (shg[n] < 0) ++res.empty_maps;
                else ++ng, sg += shg[n];
                ++np;
                for (int64_t c = 0; c < C && !pixel_scale.empty(); ++c)
                    for (int64_t j = 0; j < HW; ++j)
                        if (m[n * HW + j] == 0.f) pen += double(gv[(n * C + c) * HW + j]) * pixel_scale[c] * pixel_scale[c];
            }
            for (size_t l = 0; l < L; ++l) {
                if (shh[l][n] < 0) ++res.empty_maps;
                else ++sh_n[l], sh_sum[l] += shh[l][n];
            }
            if (shf[n] < 0) ++res.empty_maps;
            else ++nf, sf += shf[n];
            if (shc[n] < 0) ++res.empty_maps;
            else ++nc, sc += shc[n];
        }
    }
    LRP_CHECK(nh > 0, "--background: no image had finite maps (", res.samples, " images)");
    res.rules = composite.assignment_table();
    res.foreground_fraction = fg / res.samples;
    res.share_flex = nf > 0 ? sf / nf : NAN;
    for (size_t l = 0; l < L; ++l) res.share_hidden[l].share = sh_n[l] > 0 ? sh_sum[l] / sh_n[l] : NAN;
    res.share_flex_zb = nz > 0 ? sz / nz : NAN;
    res.isnet_heat_loss_zb = zb ? heat_zb / nh : NAN;
    res.isnet_heat_loss = heat / nh;
    res.share_composite = nc > 0 ? sc / nc : NAN;
    res.share_gradient = ng > 0 ? sg / ng : NAN;
    res.rrr_penalty = np > 0 && !pixel_scale.empty() ? pen / np : NAN;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

nlohmann::json to_json(const BackgroundResult& r) {
    nlohmann::json hidden = nlohmann::json::array();
    for (const auto& h : r.share_hidden) hidden.push_back({{"layer", h.layer}, {"share", num_or_null(h.share)}});
    return {{"metric", "background share of |relevance| (lrpcu; the foreground mask ISNet trains with)"},
            {"composite", r.composite},
            {"mask", r.mask},
            {"samples", r.samples},
            {"nonfinite_maps", r.nonfinite_maps},
            {"empty_maps", r.empty_maps},
            {"rules", r.rules},
            {"foreground_fraction", r.foreground_fraction},
            {"share_background_composite", num_or_null(r.share_composite)},
            {"share_background_flex", num_or_null(r.share_flex)},
            {"flex_epsilon", r.flex_epsilon},
            {"isnet_heat_loss", r.isnet_heat_loss},
            {"share_background_flex_zb", num_or_null(r.share_flex_zb)},
            {"isnet_heat_loss_zb", num_or_null(r.isnet_heat_loss_zb)},
            {"share_background_gradient", num_or_null(r.share_gradient)},
            {"rrr_penalty", num_or_null(r.rrr_penalty)},
            {"share_background_hidden", hidden},
            {"seconds", r.seconds}};
}

}  // namespace lrp::train
