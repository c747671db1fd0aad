// `lrpcu train`: warnings for given settings that change nothing in the run (see cli_train_warnings.cpp).
#pragma once
#include <set>
#include <string>

#include "lrp/train/config.h"

namespace lrp::cli {

// Warns once for each key in `given` (less file_defaults: a --config file's recorded defaults) whose setting
// the run's schedule, optimizer or method does not use; the setting is still kept and recorded.
void warn_unused_settings(const train::TrainConfig& cfg, const std::set<std::string>& given,
                          const std::set<std::string>& file_defaults);

}  // namespace lrp::cli
