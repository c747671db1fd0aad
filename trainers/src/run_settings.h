// The settings a run records and checks (internal to lrp_trainers): the config a checkpoint stores, the
// settings as they run (defaults filled in), the --resume agreement check, the test split's agreement
// with the training split, and what computes the run (its rounding).
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "lrp/device.h"
#include "lrp/train/config.h"
#include "lrp/train/data_source.h"

namespace lrp::train {

// The test split must hold the training split's classes (same names, same order) and images of its shape.
void check_splits_agree(const DataSplit& tr, const DataSplit& te);
// The settings a checkpoint records (all but "resume").
nlohmann::json config_json(const TrainConfig& cfg);
// The settings as they run, for comparison: defaults that are stored as placeholders resolved, and the
// values of settings a checkpoint recorded before they existed.
nlohmann::json effective_settings(nlohmann::json j);
// Whether a run's config.json (`file`) holds other settings than the checkpoint records (`recorded`), leaving out
// those a resumed run may give anew: edited by hand (a missing or unreadable file: not edited; no JSON: edited).
bool config_edited(const std::filesystem::path& file, const nlohmann::json& recorded);
// A resumed run must continue with the settings it started with (only the per-invocation ones may change);
// returns the checkpoint's settings as recorded.
nlohmann::json check_resume_settings(const std::filesystem::path& ckpt, const nlohmann::json& given);
// The part of that check that needs the images: --edda-patch 0 stands for a quarter of the smaller side of the H x W
// images, so an explicit side agrees with a recorded 0 (and the other way round) where it is that side.
void check_resume_edda_patch(const nlohmann::json& saved, int given, int H, int W);
// What computes a run on `dev`, as far as its last bits go: "cpu: <the CPU GEMM>, split vN" or "cuda: <the GPU's
// model>, cuBLAS <version>, cuDNN <version>".
std::string numerics_of(Device dev);
// --resume: a warning when the checkpoint's run was computed otherwise (recorded; empty in older checkpoints), as
// the rest of the run then rounds otherwise than an uninterrupted run would, with the likely cause; a note for a GPU
// run recorded before the library versions were.
void warn_if_numerics_changed(const std::string& recorded, const std::string& now);

}  // namespace lrp::train
