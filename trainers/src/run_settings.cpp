// The settings a run records and checks: config JSON, effective settings, the --resume agreement check and
// the test split's agreement with the training split.
#include "run_settings.h"

#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <utility>

#include "lrp/device.h"
#include "lrp/log.h"
#include "lrp/lrp/composites.h"
#include "lrp/ops/gemm.h"
#include "lrp/timer.h"
#include "lrp/train/checkpoint.h"
#include "lrp/train/edda_step.h"

namespace lrp::train {

// Other classes would let the test labels index other (or missing) outputs.
void check_splits_agree(const DataSplit& tr, const DataSplit& te) {
    LRP_CHECK(te.num_classes == tr.num_classes && (te.class_names.empty() || tr.class_names.empty() ||
                                                   te.class_names == tr.class_names),
              "the test split's ", te.num_classes, " classes ", bracket_list(te.class_names), " differ from the ",
              "training split's ", tr.num_classes, " classes ", bracket_list(tr.class_names), " (", tr.name, ")");
    LRP_CHECK(te.channels == tr.channels && te.height == tr.height && te.width == tr.width, "the test split's images are ",
              te.channels, "x", te.height, "x", te.width, ", the training split's ", tr.channels, "x", tr.height, "x",
              tr.width, " (", tr.name, "; for image folders, --resize/--crop make them agree)");
}

nlohmann::json config_json(const TrainConfig& cfg) {
    nlohmann::json j = cfg;
    j.erase("resume");
    return j;
}

// An empty --reldrop-residual and a zero --reldrop-epsilon (or --edda-epsilon) stand for the composite's defaults (copy and 1e-3
// for reldrop), so naming a default on --resume agrees with leaving it out. A setting recorded before it
// existed ran as it does with the value below (drop-last: those builds dropped the last partial batch). Rule specs
// are compared as tidy_recorded_rule leaves them.
nlohmann::json effective_settings(nlohmann::json j) {
    static const std::pair<const char*, nlohmann::json> before_it_existed[] = {
        {"drop-last", true}, {"val-split", 0}, {"reldrop-pixel-norm", "signed_minmax"},
        {"reldrop-box-clip", "truncate"}, {"reldrop-with-erasing", false},
        {"reldrop-patch-count", "1"}, {"init-weights", ""}, {"init-head", "keep"},
        {"log-clean-accuracy", false}, {"reldrop-bn-fold", "zennit_0_5_1"},
        {"reldrop-lrp-samples", "all"}, {"edda-patch", 0}, {"edda-reduce", "sum"}, {"edda-composite", "reldrop"},
        {"edda-epsilon", 0}, {"edda-target", "label"}, {"edda-salient-target", "uniform"}, {"edda-w-clean", 1},
        {"edda-w-salient", 1}, {"edda-w-nonsalient", 1}, {"edda-fill", "mean"}, {"isnet-p", 0.7f},
        {"isnet-epsilon", 0.01f}, {"isnet-explain", "stochastic"}, {"isnet-decay", 0.9f}, {"isnet-e", 1}, {"isnet-a", 1},
        {"isnet-b", 3}, {"isnet-c1", 1}, {"isnet-c2", 25}, {"isnet-mask", "threshold:0.02"}, {"isnet-calibrate", ""},
        {"isnet-selective-eps", 0.01f}, {"isnet-first-rule", "epsilon"}, {"isnet-lds", false}, {"isnet-lds-decay", 0.8f},
        {"isnet-lds-layers", nlohmann::json::array()}, {"isnet-foreground", "l2"},
        {"decoy", "none"}, {"decoy-test", "random"}, {"decoy-size", 4}, {"decoy-seed", 0},
        {"cycle-momentum", false}, {"base-momentum", 0.85f}, {"max-momentum", 0.95f}, {"normalize", "data"},
        {"adam-beta1", 0.9f}, {"adam-beta2", 0.999f}, {"adam-eps", 1e-8f}, {"min-lr", 0.f},
        {"random-resized-crop", false}, {"rrc-scale-min", 0.08f}, {"rrc-scale-max", 1.f}, {"rrc-ratio-min", 0.75f},
        {"rrc-ratio-max", 4.f / 3.f}};  // floats: as recorded
    for (const auto& [key, value] : before_it_existed)
        if (j.is_object() && !j.contains(key)) j[key] = value;
    for (const char* key : {"reldrop-rule", "reldrop-first-rule", "reldrop-layer-rule"})
        if (j.is_object() && j.contains(key) && j[key].is_array())
            for (auto& r : j[key])
                if (r.is_string()) r = tidy_recorded_rule(r.get<std::string>());
    try {
        const std::string comp = j.value("reldrop-composite", "");
        if (j.contains("reldrop-residual") && j["reldrop-residual"] == "")
            j["reldrop-residual"] = explain::residual_mode_name(explain::default_residual(comp));
        if (j.contains("reldrop-epsilon") && j["reldrop-epsilon"] == 0) j["reldrop-epsilon"] = explain::default_epsilon(comp);
        if (j.contains("edda-epsilon") && j["edda-epsilon"] == 0)
            j["edda-epsilon"] = explain::default_epsilon(j.value("edda-composite", "reldrop"));
    } catch (const Error&) {  // an unknown composite: compared as given (validation names it)
    }
    return j;
}

namespace {
// Settings a resumed run may give anew (where and how it runs, its length, where its data lie).
const std::set<std::string> may_change{"epochs",           "device",          "log-every",
                                       "data-dir",         "out",             "stop-after-epoch",
                                       "stop-after-step",  "checkpoint-every", "stream",
                                       "resident-limit-mb", "init-weights",    "masks"};
}  // namespace

bool config_edited(const std::filesystem::path& file, const nlohmann::json& recorded) {
    std::ifstream in(file, std::ios::binary);
    if (!in.is_open()) return false;
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return true;
    nlohmann::json a = effective_settings(j), b = effective_settings(recorded);
    for (const std::string& k : may_change) a.erase(k), b.erase(k);
    return a != b;
}

nlohmann::json check_resume_settings(const std::filesystem::path& ckpt, const nlohmann::json& given) {
    const nlohmann::json saved_as_recorded = read_checkpoint_state(ckpt.string()).config;
    const nlohmann::json saved = effective_settings(saved_as_recorded), now = effective_settings(given);
    std::string diffs;
    for (auto it = now.begin(); it != now.end(); ++it)
        if (!may_change.count(it.key()) && saved.contains(it.key()) && saved[it.key()] != it.value() &&
            !(it.key() == "edda-patch" && (saved[it.key()] == 0 || it.value() == 0)))  // the image side decides
            diffs += "\n  " + it.key() + ": checkpoint has " + saved[it.key()].dump() + ", now " + it.value().dump();
    // The mask folder may move (a path, like data-dir), but a run that trained with masks goes on with them and
    // one without them goes on without: either would change ISNet's foreground mid-run.
    const bool had_masks = !saved.value("masks", std::string()).empty(), has_masks = !now.value("masks", std::string()).empty();
    if (had_masks != has_masks)
        diffs += std::string("\n  masks: the run trained ") + (had_masks ? "with masks (" + saved["masks"].get<std::string>() + ")" : "without masks") +
                 ", now " + (has_masks ? "with " + now["masks"].get<std::string>() : std::string("without"));
    LRP_CHECK(diffs.empty(), "--resume: settings differ from the checkpoint's run (start a new --out instead):", diffs);
    return saved_as_recorded;
}

void check_resume_edda_patch(const nlohmann::json& saved, int given, int H, int W) {
    const int was = saved.value("edda-patch", 0);
    LRP_CHECK(edda_patch_side(was, H, W) == edda_patch_side(given, H, W), "--resume: settings differ from the ",
              "checkpoint's run (start a new --out instead):\n  edda-patch: checkpoint has ", was, ", now ", given,
              " (0: a quarter of the smaller image side, here ", edda_patch_side(0, H, W), ")");
}

std::string numerics_of(Device dev) {
    // cuBLAS and cuDNN pick their kernels by version as much as by GPU, so both are part of the record.
    return dev.is_cuda() ? "cuda: " + device_name(dev) + ", " + cuda_math_library_versions()
                         : "cpu: " + ops::cpu_gemm_description();
}

namespace {
// A CPU record without and with its last part, ", split vN": the revision of lrpcu's own split of the CPU work.
std::pair<std::string, std::string> without_split(const std::string& record) {
    const size_t at = record.rfind(", split v");
    if (at == std::string::npos) return {record, ""};
    return {record.substr(0, at), record.substr(at + 2)};
}
}  // namespace

void warn_if_numerics_changed(const std::string& recorded, const std::string& now) {
    if (recorded.empty() || recorded == now) return;
    // A GPU run recorded before the cuBLAS/cuDNN versions were (2026-12-06): only its GPU can be compared.
    if (recorded.rfind("cuda: ", 0) == 0 && now.rfind(recorded + ", cuBLAS ", 0) == 0) {
        log_info("--resume: the run so far recorded its GPU (", recorded.substr(6), ") but not its library versions; ",
                 "it continues bit for bit if they were the same as now (", now.substr(recorded.size() + 2), ")");
        return;
    }
    const auto [recorded_base, recorded_split] = without_split(recorded);
    const auto [now_base, now_split] = without_split(now);
    std::string hint;
    if (recorded.substr(0, 4) != now.substr(0, 4))
        hint = " (--device as the run had keeps its backend)";
    else if (recorded_base == now_base)
        hint = " (lrpcu's own split of the CPU work changed: the run's record has " +
               (recorded_split.empty() ? std::string("no split revision") : recorded_split) + ", this lrpcu " +
               now_split + ")";
    else if (recorded.rfind("cpu: OpenBLAS", 0) == 0 && now.rfind("cpu: OpenBLAS", 0) == 0)
        hint = " (another OpenBLAS version, or a CPU of another kind, whose kernels OpenBLAS picks at run time)";
    else if (now.rfind("cuda: ", 0) == 0)
        hint = " (another GPU model, or other cuBLAS/cuDNN versions)";
    log_warn("--resume: the run so far was computed with ", recorded, ", this one with ", now, "; the rest of the run ",
             "rounds otherwise, so it will not equal an uninterrupted run bit for bit", hint);
}

}  // namespace lrp::train
