// ISNet's C1/C2 calibration (isnet-edda.md A.2): a plain model's per-image heatmap totals over the training split,
// their mean and sample standard deviation (Welford, in double), and the foreground range C1, C2 they give.
#include "lrp/train/isnet_calibration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "lrp/generator.h"
#include "lrp/lrp/flex_lds.h"
#include "lrp/nn/activation.h"
#include "lrp/nn/models.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/data_source.h"
#include "lrp/train/isnet_step.h"
#include "lrp/train/loader.h"
#include "lrp/log.h"

namespace lrp::train {

IsnetCalibration isnet_cut_from_totals(const std::vector<double>& totals) {
    IsnetCalibration c;
    double mean = 0, m2 = 0;
    for (double t : totals) {
        if (!std::isfinite(t)) {
            ++c.nonfinite;
            continue;
        }
        ++c.images;
        const double d = t - mean;
        mean += d / static_cast<double>(c.images);
        m2 += d * (t - mean);
    }
    LRP_CHECK(c.images >= 2, "ISNet calibration: ", c.images, " heatmap(s) with a finite total (", c.nonfinite,
              " held NaN or Inf); a mean and a standard deviation need at least 2");
    LRP_CHECK(mean > 0, "ISNet calibration: the plain model's heatmaps are all zero (mean total ", mean, " over ",
              c.images, " images); C1 would be 0 (is the model trained? give --isnet-c1/--isnet-c2 instead)");
    c.mean = mean;
    c.stdev = std::sqrt(m2 / static_cast<double>(c.images - 1));
    c.c1 = std::max(mean / 5, mean - 3 * c.stdev);
    c.c2 = std::min(25 * c.c1, mean + 3 * c.stdev);
    return c;
}

std::vector<std::vector<double>> isnet_heatmap_totals(nn::Module& model, BatchSource& loader, Isnet& isnet,
                                                      uint64_t seed, int64_t epoch, Generator& g) {
    loader.start_epoch(seed, epoch);
    std::vector<std::vector<double>> totals;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
        const BatchSource::Batch batch = loader.batch(b);
        const Tensor t = isnet.heatmap_totals(model, batch.x, batch.y, g);
        const std::vector<float> v = t.to_vector<float>();
        const size_t rows = static_cast<size_t>(t.dim(0)), cols = static_cast<size_t>(t.dim(1));
        totals.resize(rows);
        for (size_t r = 0; r < rows; ++r) totals[r].insert(totals[r].end(), v.begin() + r * cols, v.begin() + (r + 1) * cols);
    }
    return totals;
}

IsnetCalibration calibrate_isnet(const TrainConfig& cfg, const DataSplit& train, Device dev) {
    const std::string& path = cfg.isnet_calibrate;
    const std::string flag = "--isnet-calibrate " + path;
    auto model = nn::make_model(model_spec(cfg.arch, cfg.width, train));
    try {
        const CheckpointState rec = recorded_state(path);
        check_arch(cfg.arch, rec.config, path);
        check_class_names(rec.class_names, train.class_names, path, "the training split");
        load_model_weights(path, *model);
        if (!rec.mean.empty() && (rec.mean != train.mean || rec.stdev != train.stdev))
            log_warn(flag, ": the model was trained on inputs normalised otherwise than this run's (its heatmaps are ",
                     "measured on this run's inputs)");
    } catch (const Error& e) {
        LRP_THROW(flag, ": ", e.what(), " (the plain model must be this run's --arch and --width for its data)");
    }
    model->to(dev);
    Isnet isnet(isnet_settings(cfg, train.mean, train.stdev));
    Generator pick(epoch_seed(cfg.seed, 1, 7));  // Stochastic ISNet's draws of the measured heatmaps
    Generator dropout(epoch_seed(cfg.seed, 1, 8));
    nn::set_dropout_generator(*model, &dropout);
    std::printf("ISNet calibration (isnet-edda.md A.2): heatmap totals of %s over one epoch of the training batches "
                "(%lld batches)...\n", path.c_str(), (long long)train.loader->batches_per_epoch());
    std::fflush(stdout);
    const std::vector<std::vector<double>> totals = isnet_heatmap_totals(*model, *train.loader, isnet, cfg.seed, 1, pick);
    nn::set_dropout_generator(*model, nullptr);
    IsnetCalibration c = isnet_cut_from_totals(totals.empty() ? std::vector<double>{} : totals[0]);
    c.weights = path;
    if (c.nonfinite > 0)
        log_warn("ISNet calibration: ", c.nonfinite, " images' heatmaps held NaN or Inf and were left out");
    if (cfg.isnet_lds) {
        const std::vector<explain::FlexHidden::Point> points = explain::FlexHidden::find(*model, cfg.isnet_lds_layers);
        LRP_CHECK(totals.size() == 1 + points.size(), "ISNet calibration: ", totals.size() - 1, " hidden map(s) measured ",
                  "for ", points.size(), " supervised point(s)");
        for (size_t l = 0; l < points.size(); ++l) {
            IsnetCalibration h;
            try {
                h = isnet_cut_from_totals(totals[1 + l]);
            } catch (const Error& e) {
                LRP_THROW("the hidden map at '", points[l].name, "' (--isnet-lds): ", e.what(), "; per-layer cuts ",
                          "cannot be given by flag: leave that layer out (--isnet-lds-layers), or run without ",
                          "--isnet-calibrate (every hidden map then takes --isnet-c1/--isnet-c2)");
            }
            if (h.nonfinite > 0)
                log_warn("ISNet calibration: ", h.nonfinite, " images' hidden maps at '", points[l].name,
                         "' held NaN or Inf and were left out");
            c.hidden.push_back(IsnetLayerCut{points[l].name, h.images, h.nonfinite, h.mean, h.stdev, h.c1, h.c2});
        }
    }
    std::printf("%s\n", describe(c).c_str());
    return c;
}

std::string describe(const IsnetCalibration& c) {
    std::ostringstream o;
    o << "ISNet calibration: heatmap totals of " << c.images << " images: mean " << c.mean << ", stdev " << c.stdev
      << " -> C1 " << c.c1 << " (max(mean/5, mean - 3 stdev)), C2 " << c.c2 << " (min(25 C1, mean + 3 stdev))";
    for (const IsnetLayerCut& h : c.hidden)
        o << "\n  hidden map at " << h.layer << ": mean " << h.mean << ", stdev " << h.stdev << " -> C1 " << h.c1
          << ", C2 " << h.c2;
    return o.str();
}

nlohmann::json isnet_calibration_json(const IsnetCalibration& c) {
    nlohmann::json j = {{"weights", c.weights}, {"images", c.images}, {"nonfinite", c.nonfinite}, {"mean", c.mean},
                        {"stdev", c.stdev},     {"c1", c.c1},         {"c2", c.c2}};
    if (!c.hidden.empty()) {
        j["hidden"] = nlohmann::json::array();
        for (const IsnetLayerCut& h : c.hidden)
            j["hidden"].push_back({{"layer", h.layer}, {"images", h.images}, {"nonfinite", h.nonfinite},
                                   {"mean", h.mean}, {"stdev", h.stdev}, {"c1", h.c1}, {"c2", h.c2}});
    }
    return j;
}

IsnetCalibration isnet_calibration_from_json(const nlohmann::json& j, const std::string& where) {
    IsnetCalibration c;
    try {
        c.weights = j.at("weights").get<std::string>();
        c.images = j.at("images").get<int64_t>();
        c.nonfinite = j.at("nonfinite").get<int64_t>();
        c.mean = j.at("mean").get<double>();
        c.stdev = j.at("stdev").get<double>();
        c.c1 = j.at("c1").get<double>();
        c.c2 = j.at("c2").get<double>();
        if (j.contains("hidden"))  // --isnet-lds runs
            for (const nlohmann::json& h : j.at("hidden"))
                c.hidden.push_back(IsnetLayerCut{h.at("layer").get<std::string>(), h.at("images").get<int64_t>(),
                                                 h.at("nonfinite").get<int64_t>(), h.at("mean").get<double>(),
                                                 h.at("stdev").get<double>(), h.at("c1").get<double>(),
                                                 h.at("c2").get<double>()});
    } catch (const nlohmann::json::exception& e) {
        LRP_THROW(where, ": corrupt ISNet calibration record: ", e.what());
    }
    LRP_CHECK(std::isfinite(c.c1) && std::isfinite(c.c2) && c.c1 > 0 && c.c1 <= c.c2, where,
              ": corrupt ISNet calibration record: C1 ", c.c1, ", C2 ", c.c2, " (need 0 < C1 <= C2)");
    for (const IsnetLayerCut& h : c.hidden)
        LRP_CHECK(std::isfinite(h.c1) && std::isfinite(h.c2) && h.c1 > 0 && h.c1 <= h.c2, where,
                  ": corrupt ISNet calibration record: hidden map '", h.layer, "' has C1 ", h.c1, ", C2 ", h.c2,
                  " (need 0 < C1 <= C2)");
    return c;
}

}  // namespace lrp::train
