// ISNet's C1/C2 calibration (isnet-edda.md A.2; docs/isnet.md): the per-image totals sum |R| of a plain model's
// heatmaps over the training split, and from their mean mu and standard deviation sigma
// C1 = max(mu / 5, mu - 3 sigma), C2 = min(25 C1, mu + 3 sigma), the range ISNet's foreground term keeps F in.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lrp/device.h"

namespace lrp {
class Generator;
namespace nn {
class Module;
}
}  // namespace lrp

namespace lrp::train {

class BatchSource;
class Isnet;
struct DataSplit;
struct TrainConfig;

// One hidden map's calibration with --isnet-lds (the authors calibrate every supervised layer's C1, C2 on its own).
struct IsnetLayerCut {
    std::string layer;  // the supervised point's name (lrp/flex_lds.h: "layer1", "features.3", ...)
    int64_t images = 0, nonfinite = 0;
    double mean = 0, stdev = 0, c1 = 0, c2 = 0;
};

struct IsnetCalibration {
    std::string weights;         // the plain model measured (--isnet-calibrate)
    int64_t images = 0;          // heatmaps measured with a finite total
    int64_t nonfinite = 0;       // heatmaps left out (a NaN or Inf total)
    double mean = 0, stdev = 0;  // of the totals; stdev: the sample standard deviation (the authors' Welford)
    double c1 = 0, c2 = 0;
    std::vector<IsnetLayerCut> hidden;  // with --isnet-lds: each hidden map's, in the order of the model's points
};

// A.2 steps 3 and 4 on the totals (non-finite ones are counted and left out); at least 2 finite totals with a
// positive mean, else an error that says so.
IsnetCalibration isnet_cut_from_totals(const std::vector<double>& totals);

// The per-image heatmap totals of one pass over `loader` (the order and augmentation of its epoch `epoch` with
// `seed`; train mode, no update; Stochastic ISNet's draws from `g`): those of the input maps, then with LDS those of
// each hidden map (Isnet::heatmap_totals' rows).
std::vector<std::vector<double>> isnet_heatmap_totals(nn::Module& model, BatchSource& loader, Isnet& isnet, uint64_t seed,
                                         int64_t epoch, Generator& g);

// --isnet-calibrate <weights>: loads the plain model (built as cfg's --arch and --width for the training split;
// its classes, and its arch where it records one, must match), measures the totals over the training split (the
// order and augmentation of the run's first epoch) and returns C1, C2 (with --isnet-lds also each hidden map's).
// Prints what it did.
IsnetCalibration calibrate_isnet(const TrainConfig& cfg, const DataSplit& train, Device dev);

// One line for logs.
std::string describe(const IsnetCalibration& c);

nlohmann::json isnet_calibration_json(const IsnetCalibration& c);
// From isnet_calibration_json's object; anything else is an error naming `where`.
IsnetCalibration isnet_calibration_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace lrp::train
