// Checkpoint save/load on top of safetensors (model + optimiser tensors, JSON run state in metadata).
#include "lrp/train/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <tuple>

#include "lrp/nn/json_parse.h"
#include "lrp/nn/safetensors.h"
#include "lrp/train/config.h"

namespace lrp::train {

namespace {
constexpr const char* kFormat = "lrpcu-checkpoint-1";

nn::StateDict with_prefix(const nn::StateDict& sd, const std::string& prefix) {
    nn::StateDict out;
    for (auto& [k, v] : sd) out[prefix + k] = v;
    return out;
}

nn::StateDict strip_prefix(const nn::StateDict& sd, const std::string& prefix) {
    nn::StateDict out;
    for (auto& [k, v] : sd)
        if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
    return out;
}

// The prefix every name of a plain state_dict shares when it was saved from a wrapped model: DataParallel or
// DistributedDataParallel ("module."), torch.compile ("_orig_mod.") or a Lightning module ("model."), nested
// wrappers in turn; "" when there is none. torch's consume_prefix_in_state_dict_if_present does this by hand.
template <class Map>
std::string wrapper_prefix(const Map& names) {
    std::string prefix;
    for (bool again = !names.empty(); again;) {
        again = false;
        for (const char* w : {"module.", "_orig_mod.", "model."}) {
            const std::string p = prefix + w;
            bool all = true;
            for (const auto& kv : names) all = all && kv.first.rfind(p, 0) == 0 && kv.first.size() > p.size();
            if (all) {
                prefix = p;
                again = true;
                break;
            }
        }
    }
    return prefix;
}

// {"mean": [...], "std": [...]}: as many finite values each, std > 0.
std::pair<std::vector<float>, std::vector<float>> parse_normalization(const std::string& path, const nlohmann::json& j) {
    std::vector<float> m = j.at("mean").get<std::vector<float>>(), s = j.at("std").get<std::vector<float>>();
    bool ok = m.size() == s.size();
    for (size_t i = 0; ok && i < m.size(); ++i) ok = std::isfinite(m[i]) && std::isfinite(s[i]) && s[i] > 0;
    LRP_CHECK(ok, path, ": corrupt metadata: the recorded normalisation (", j.dump(), ") needs as many finite mean ",
              "and std values, std > 0");
    return {m, s};
}

// A number of the checkpoint metadata, of the kind it must be: nlohmann's get<> would convert a float
// where an integer belongs (1e300) or a negative counter with undefined behaviour.
int64_t int_at(const nlohmann::json& j, const char* key, const std::string& path) {
    const nlohmann::json& v = j.at(key);
    LRP_CHECK(v.is_number_integer(), path, ": corrupt checkpoint metadata: '", key, "' is ", nn::json_brief(v),
              ", not an integer");
    return v.get<int64_t>();
}
uint64_t uint_at(const nlohmann::json& j, const char* key, const std::string& path) {
    const nlohmann::json& v = j.at(key);
    LRP_CHECK(v.is_number_unsigned(), path, ": corrupt checkpoint metadata: '", key, "' is ", nn::json_brief(v),
              ", not a non-negative integer");
    return v.get<uint64_t>();
}
double number_at(const nlohmann::json& j, const char* key, const std::string& path) {
    const nlohmann::json& v = j.at(key);
    LRP_CHECK(v.is_number(), path, ": corrupt checkpoint metadata: '", key, "' is ", nn::json_brief(v),
              ", not a number");
    return v.get<double>();
}

CheckpointState parse_state(const std::string& path, const std::map<std::string, std::string>& meta) {
    auto it = meta.find("lrpcu");
    LRP_CHECK(it != meta.end(), path, ": not an lrpcu checkpoint (no 'lrpcu' metadata)");
    CheckpointState st;
    try {
        auto j = nn::parse_json_limited(it->second, path + ": corrupt checkpoint metadata");
        LRP_CHECK(j.value("format", "") == kFormat, path, ": unsupported checkpoint format '", j.value("format", ""),
                  "' (expected ", kFormat, ")");
        st.config = j.at("config");
        try {  // the recorded settings have the types they must have (an error names the key)
            TrainConfig check;
            inherit_settings(check, st.config, {});
        } catch (const Error& e) {
            LRP_THROW(path, ": corrupt checkpoint metadata: ", e.what());
        }
        st.epoch = int_at(j, "epoch", path);
        st.global_step = int_at(j, "global_step", path);
        st.last_test_acc = number_at(j, "last_test_acc", path);
        st.best_test_acc = number_at(j, "best_test_acc", path);
        st.best_epoch = int_at(j, "best_epoch", path);
        if (j.contains("val_source_images")) st.val_source_images = int_at(j, "val_source_images", path);
        if (j.contains("validation")) {
            const auto& v = j.at("validation");
            st.best_val_acc = number_at(v, "best_acc", path);
            st.best_val_epoch = int_at(v, "best_epoch", path);
            st.test_acc_at_best_val = number_at(v, "test_acc_at_best", path);
        }
        if (j.contains("class_names")) st.class_names = j.at("class_names").get<std::vector<std::string>>();
        if (j.contains("normalize")) std::tie(st.mean, st.stdev) = parse_normalization(path, j.at("normalize"));
        st.train_images = j.contains("train_images") ? int_at(j, "train_images", path) : -1;
        if (j.contains("numerics")) {
            LRP_CHECK(j.at("numerics").is_string(), path, ": corrupt checkpoint metadata: numerics is ",
                      nn::json_brief(j.at("numerics")), ", not a string");
            st.numerics = j.at("numerics").get<std::string>();
        }
        if (j.contains("isnet_calibration"))
            st.isnet_calibration = isnet_calibration_from_json(j.at("isnet_calibration"), path);
        if (j.contains("preview_pending")) {
            LRP_CHECK(j.at("preview_pending").is_boolean(), path, ": corrupt checkpoint metadata: preview_pending is ",
                      nn::json_brief(j.at("preview_pending")), ", not true or false");
            st.preview_pending = j.at("preview_pending").get<bool>();
        }
        if (j.contains("partial_epoch")) {
            const auto& p = j.at("partial_epoch");
            PartialEpoch& q = st.partial;
            q.batches = int_at(p, "batches", path);
            q.loss_sum = static_cast<float>(number_at(p, "loss_sum", path));
            q.correct_sum = static_cast<float>(number_at(p, "correct_sum", path));
            q.occluded_sum = static_cast<float>(number_at(p, "occluded_sum", path));
            q.nonfinite_sum = static_cast<float>(number_at(p, "nonfinite_sum", path));
            q.attributed = p.contains("attributed") ? int_at(p, "attributed", path) : -1;
            if (p.contains("clean_correct_sum"))
                q.clean_correct_sum = static_cast<float>(number_at(p, "clean_correct_sum", path));
            if (p.contains("salient_correct_sum"))
                q.salient_correct_sum = static_cast<float>(number_at(p, "salient_correct_sum", path));
            if (p.contains("nonsalient_correct_sum"))
                q.nonsalient_correct_sum = static_cast<float>(number_at(p, "nonsalient_correct_sum", path));
            if (p.contains("coincident_sum")) q.coincident_sum = static_cast<float>(number_at(p, "coincident_sum", path));
            if (p.contains("flat_sum")) q.flat_sum = static_cast<float>(number_at(p, "flat_sum", path));
            if (p.contains("heat_loss_sum")) q.heat_loss_sum = static_cast<float>(number_at(p, "heat_loss_sum", path));
            if (p.contains("foreground_sum")) q.foreground_sum = static_cast<float>(number_at(p, "foreground_sum", path));
            // absent (a checkpoint from before the count): -1, unknown
            q.empty_mask_sum = p.contains("empty_mask_sum") ? static_cast<float>(number_at(p, "empty_mask_sum", path))
                               : q.batches > 0                 ? -1.f
                                                               : 0.f;
            if (p.contains("masked_correct_sum"))
                q.masked_correct_sum = static_cast<float>(number_at(p, "masked_correct_sum", path));
            if (p.contains("kl_sum")) q.kl_sum = static_cast<float>(number_at(p, "kl_sum", path));
            if (p.contains("layer_loss_sums")) {
                LRP_CHECK(p.at("layer_loss_sums").is_array(), path, ": corrupt checkpoint record: layer_loss_sums is not ",
                          "an array");
                for (const auto& v : p.at("layer_loss_sums")) {  // null: a NaN sum, as JSON writes it
                    LRP_CHECK(v.is_number() || v.is_null(), path, ": corrupt checkpoint record: layer_loss_sums holds ",
                              v.dump());
                    q.layer_loss_sums.push_back(v.is_null() ? std::nanf("") : v.get<float>());
                }
            }
            q.images = int_at(p, "images", path);
            q.seconds = number_at(p, "seconds", path);
            q.loader_rng = uint_at(p, "loader_rng", path);
            q.reldrop_rng = uint_at(p, "reldrop_rng", path);
            q.dropout_rng = uint_at(p, "dropout_rng", path);
            q.preview_pending = p.at("preview_pending").get<bool>();
            LRP_CHECK(q.batches > 0 && q.images > 0, path, ": corrupt checkpoint metadata: partial epoch of ",
                      q.batches, " batches, ", q.images, " images");
        }
    } catch (const nlohmann::json::exception& e) {
        LRP_THROW(path, ": corrupt checkpoint metadata: ", e.what());
    }
    return st;
}
}  // namespace

void check_class_names(const std::vector<std::string>& trained, const std::vector<std::string>& data,
                       const std::string& weights, const std::string& what) {
    if (trained.empty() || data.empty() || trained == data) return;
    LRP_THROW(weights, " was trained on the classes ", bracket_list(trained), ", but ", what, " has ",
              bracket_list(data), ": its labels would name other outputs");
}

std::string bracket_list(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return "[" + s + "]";
}

void check_arch(const std::string& given, const nlohmann::json& cfg, const std::string& weights) {
    if (given.empty() || !cfg.is_object() || !cfg.contains("arch") || !cfg["arch"].is_string()) return;
    const std::string trained = cfg["arch"].get<std::string>();
    LRP_CHECK(given == trained, "--arch ", given, ", but ", weights, " was trained as ", trained,
              " (leave --arch out to use the recorded one)");
}

void save_checkpoint(const std::string& path, nn::Module& model, const Optimizer& opt, const CheckpointState& st) {
    nn::StateDict sd = with_prefix(model.state_dict(), "model.");
    for (auto& [k, v] : opt.state_dict()) sd["optim." + k] = v;
    nlohmann::json j = {{"format", kFormat},      {"config", st.config},
                        {"epoch", st.epoch},      {"global_step", st.global_step},
                        {"last_test_acc", st.last_test_acc}, {"best_test_acc", st.best_test_acc}, {"best_epoch", st.best_epoch},
                        {"optimizer", opt.kind()},   {"class_names", st.class_names}};
    if (!st.mean.empty()) j["normalize"] = {{"mean", st.mean}, {"std", st.stdev}};
    if (st.train_images >= 0) j["train_images"] = st.train_images;
    if (!st.numerics.empty()) j["numerics"] = st.numerics;
    if (st.val_source_images >= 0) j["val_source_images"] = st.val_source_images;
    if (st.isnet_calibration) j["isnet_calibration"] = isnet_calibration_json(*st.isnet_calibration);
    if (st.preview_pending) j["preview_pending"] = true;
    if (st.best_val_epoch >= 0)
        j["validation"] = {{"best_acc", st.best_val_acc}, {"best_epoch", st.best_val_epoch},
                           {"test_acc_at_best", st.test_acc_at_best_val}};
    if (st.partial.batches > 0) {
        const PartialEpoch& q = st.partial;
        j["partial_epoch"] = {{"batches", q.batches},         {"loss_sum", q.loss_sum},
                              {"correct_sum", q.correct_sum}, {"occluded_sum", q.occluded_sum},
                              {"nonfinite_sum", q.nonfinite_sum}, {"images", q.images},
                              {"seconds", q.seconds},         {"loader_rng", q.loader_rng},
                              {"reldrop_rng", q.reldrop_rng}, {"dropout_rng", q.dropout_rng},
                              {"preview_pending", q.preview_pending}, {"clean_correct_sum", q.clean_correct_sum},
                              {"attributed", q.attributed}, {"salient_correct_sum", q.salient_correct_sum},
                              {"nonsalient_correct_sum", q.nonsalient_correct_sum},
                              {"coincident_sum", q.coincident_sum}, {"flat_sum", q.flat_sum},
                              {"heat_loss_sum", q.heat_loss_sum}, {"foreground_sum", q.foreground_sum},
                              {"masked_correct_sum", q.masked_correct_sum}, {"kl_sum", q.kl_sum},
                              {"empty_mask_sum", q.empty_mask_sum}};
        if (!q.layer_loss_sums.empty()) j["partial_epoch"]["layer_loss_sums"] = q.layer_loss_sums;
    }
    nn::save_safetensors(path, sd, {{"lrpcu", j.dump()}});
}

CheckpointState read_checkpoint_state(const std::string& path) {
    return parse_state(path, nn::read_safetensors_header(path).metadata);  // no tensor data read
}

namespace {
// The settings that describe the model and its data (what eval and explain need to rebuild and feed it); not
// the data dir, a path of the machine that trained it (a model file travels; eval takes --data-dir). val-split
// and seed say which training images a validation split held out (eval --split val); the decoy settings say
// which swatches the model was trained with (eval --decoy takes its size and seed).
const char* const kModelKeys[] = {"arch",      "width",      "dataset",    "resize",    "crop", "val-split",
                                  "seed",      "decoy",      "decoy-test", "decoy-size", "decoy-seed"};
CheckpointState recorded_model_state(const std::string& path, const std::map<std::string, std::string>& meta);
}  // namespace

void export_model(const std::string& path, nn::Module& model, const CheckpointState& st) {
    nlohmann::json settings = nlohmann::json::object();
    for (const char* k : kModelKeys)
        if (st.config.is_object() && st.config.contains(k)) settings[k] = st.config[k];
    std::map<std::string, std::string> meta = {{"lrpcu.model", settings.dump()},
                                               {"lrpcu.class_names", nlohmann::json(st.class_names).dump()}};
    if (settings.contains("arch")) meta["arch"] = settings["arch"].get<std::string>();
    if (!st.mean.empty()) meta["lrpcu.normalize"] = nlohmann::json{{"mean", st.mean}, {"std", st.stdev}}.dump();
    if (st.val_source_images >= 0) meta["lrpcu.val_source_images"] = std::to_string(st.val_source_images);
    meta["lrpcu.step"] = std::to_string(st.global_step);  // which weights of the run these are
    nn::save_safetensors(path, model.state_dict(), meta);
}

CheckpointState recorded_state(const std::string& path) {
    LRP_CHECK(std::filesystem::is_regular_file(path), "weights file '", path, "' ",
              std::filesystem::exists(path) ? "is not a regular file" : "does not exist");
    const std::map<std::string, std::string> meta = nn::read_safetensors_header(path).metadata;
    CheckpointState st = meta.count("lrpcu") ? parse_state(path, meta) : recorded_model_state(path, meta);
    const int outputs = infer_num_classes(path);
    LRP_CHECK(st.class_names.empty() || outputs < 0 || st.class_names.size() == static_cast<size_t>(outputs), path,
              ": corrupt metadata: ", st.class_names.size(), " class names recorded for a model of ", outputs,
              " outputs");
    return st;
}

namespace {
// recorded_state() of a weights file that is not a checkpoint.
CheckpointState recorded_model_state(const std::string& path, const std::map<std::string, std::string>& meta) {
    CheckpointState st;
    st.config = nlohmann::json::object();
    std::string key;  // the metadata entry being read, for the error
    try {
        if (auto it = meta.find(key = "lrpcu.model"); it != meta.end()) {
            const nlohmann::json all = nn::parse_json_limited(it->second, path + ": corrupt metadata 'lrpcu.model'");
            LRP_CHECK(all.is_object(), "not a JSON object");
            for (const char* k : kModelKeys)  // others (a newer lrpcu's, or an older one's data-dir) are skipped
                if (all.contains(k)) st.config[k] = all[k];
            TrainConfig check;  // the settings have the types they must have (an error names the key)
            inherit_settings(check, st.config, {});
        } else if (auto a = meta.find("arch"); a != meta.end() && meta.count("lrpcu.normalize")) {
            st.config["arch"] = a->second;  // a model.safetensors of lrpcu before 2026-12-04: only the arch
        }
        if (auto it = meta.find(key = "lrpcu.class_names"); it != meta.end())
            st.class_names = nn::parse_json_limited(it->second, path + ": corrupt metadata 'lrpcu.class_names'")
                                 .get<std::vector<std::string>>();
        if (auto it = meta.find(key = "lrpcu.normalize"); it != meta.end())
            std::tie(st.mean, st.stdev) =
                parse_normalization(path, nn::parse_json_limited(it->second, path + ": corrupt metadata 'lrpcu.normalize'"));
        if (auto it = meta.find(key = "lrpcu.val_source_images"); it != meta.end()) {
            const nlohmann::json v = nn::parse_json_limited(it->second, path + ": corrupt metadata '" + key + "'");
            LRP_CHECK(v.is_number_unsigned(), "not a non-negative integer");
            st.val_source_images = v.get<int64_t>();
        }
        st.global_step = -1;  // not recorded (an export from before 2026-12-06)
        if (auto it = meta.find(key = "lrpcu.step"); it != meta.end()) {
            const nlohmann::json v = nn::parse_json_limited(it->second, path + ": corrupt metadata '" + key + "'");
            LRP_CHECK(v.is_number_unsigned(), "not a non-negative integer");
            st.global_step = v.get<int64_t>();
        }
    } catch (const nlohmann::json::exception& e) {
        LRP_THROW(path, ": corrupt metadata '", key, "': ", e.what());
    } catch (const Error& e) {
        if (std::string(e.what()).find(path) != std::string::npos) throw;  // parse_normalization's, naming the file
        LRP_THROW(path, ": corrupt metadata '", key, "': ", e.what());
    }
    return st;
}
}  // namespace

std::optional<CheckpointState> read_checkpoint_state_if_any(const std::string& path) {
    LRP_CHECK(std::filesystem::is_regular_file(path), "weights file '", path, "' ",
              std::filesystem::exists(path) ? "is not a regular file" : "does not exist");
    const std::map<std::string, std::string> meta = nn::read_safetensors_header(path).metadata;
    if (!meta.count("lrpcu")) return std::nullopt;
    return parse_state(path, meta);
}

CheckpointState load_checkpoint(const std::string& path, nn::Module& model, Optimizer* opt) {
    std::map<std::string, std::string> meta;
    nn::StateDict sd = nn::load_safetensors(path, &meta);
    CheckpointState st = parse_state(path, meta);
    model.load_state_dict(strip_prefix(sd, "model."));
    if (opt) opt->load_state_dict(strip_prefix(sd, "optim."));
    return st;
}

int checked_width(int given, const nlohmann::json& cfg, const std::string& weights) {
    LRP_CHECK(given >= 0, "--width must be >= 1 (got ", given, "; default: the checkpoint's)");
    const InferredWidth iw = inferred_width(weights);
    const int inferred = iw.width;  // -1: none
    if (!cfg.is_object() || !cfg.contains("width")) {
        LRP_CHECK(given == 0 || inferred < 0 || given == inferred, "--width ", given, ", but ", weights,
                  " has first-stage width ", inferred, " (", iw.source, ") (omit --width to use it)");
        return given > 0 ? given : inferred > 0 ? inferred : 64;
    }
    const nlohmann::json& w = cfg["width"];
    LRP_CHECK(w.is_number_integer() && w.get<int64_t>() >= 1 && w.get<int64_t>() <= 65536, weights,
              ": the recorded width is ", nn::json_brief(w), ", not an integer in [1, 65536] (corrupt metadata)");
    const int trained = w.get<int>();
    LRP_CHECK(inferred < 0 || inferred == trained, weights, ": the recorded width is ", trained,
              ", but its weights have first-stage width ", inferred, " (", iw.source, ") (corrupt metadata)");
    LRP_CHECK(given == 0 || given == trained, "--width ", given, ": ", weights, " was trained with width ", trained,
              " (omit --width to use it)");
    return trained;
}

std::pair<int, int> checked_geometry(std::optional<int> resize, std::optional<int> crop, const nlohmann::json& cfg,
                                     const std::string& weights) {
    auto pick = [&](std::optional<int> given, const char* key) {
        if (given) {
            LRP_CHECK(*given >= 0, "--", key, " must be >= 0 (0: off), got ", *given);
            return *given;
        }
        if (!cfg.is_object() || !cfg.contains(key)) return 0;
        const nlohmann::json& v = cfg[key];
        LRP_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 65536, weights,
                  ": the recorded ", key, " is ", nn::json_brief(v), ", not an integer in [0, 65536] (corrupt metadata; "
                  "pass --", key, " to override it)");
        return v.get<int>();
    };
    return {pick(resize, "resize"), pick(crop, "crop")};
}

nn::StateDict read_model_weights(const std::string& path) {
    LRP_CHECK(std::filesystem::exists(path), "weights file '", path, "' does not exist");
    std::map<std::string, std::string> meta;
    nn::StateDict sd = nn::load_safetensors(path, &meta);
    return strip_prefix(sd, meta.count("lrpcu") ? std::string("model.") : wrapper_prefix(sd));
}

namespace {
bool finite_floats(const Tensor& t) {
    if (t.dtype() != DType::F32) return true;
    for (float v : t.to_vector<float>())
        if (!std::isfinite(v)) return false;
    return true;
}
}  // namespace

std::string weight_problem(const std::string& name, const Tensor& t) {
    if (!finite_floats(t)) return "holds NaN or Inf (the weights of a run that diverged?)";
    const std::string var = "running_var";
    if (t.dtype() == DType::F32 && name.size() >= var.size() &&
        name.compare(name.size() - var.size(), var.size(), var) == 0)
        for (float v : t.to_vector<float>())
            if (v < 0.f) return str("holds a negative variance (", v, "), which no BatchNorm statistics can be");
    return {};
}

void load_model_weights(const std::string& path, nn::Module& model) {
    const nn::StateDict sd = read_model_weights(path);
    // Names and shapes first: weights of another model are that, whatever values they hold. On an error the model
    // holds what it loaded; the caller stops.
    model.load_state_dict(sd);
    for (const auto& [name, t] : sd) {
        const std::string why = weight_problem(name, t);
        LRP_CHECK(why.empty(), path, ": tensor ", name, " ", why, "; they give no meaningful outputs");
    }
}

std::string first_nonfinite(nn::Module& model) {
    for (auto& [name, p] : model.named_params())
        if (!finite_floats(p->value)) return name;
    for (auto& [name, b] : model.named_buffers())
        if (b && b->defined() && !finite_floats(*b)) return name;
    return {};
}

namespace {
// The model tensors' shapes in a weights file (an lrpcu checkpoint's "model." keys, or a plain state_dict),
// from its header alone.
std::map<std::string, Shape> model_shapes(const std::string& path) {
    const nn::SafetensorsHeader h = nn::read_safetensors_header(path);
    const std::string prefix = h.metadata.count("lrpcu") > 0 ? std::string("model.") : wrapper_prefix(h.tensors);
    std::map<std::string, Shape> out;
    for (const auto& [name, info] : h.tensors)
        if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = info.shape;
    return out;
}
}  // namespace

int infer_in_channels(const std::string& path) {
    const std::map<std::string, Shape> sd = model_shapes(path);
    for (const char* k : {"conv1.weight", "features.0.weight"})  // ResNet's stem, VGG's first conv
        if (auto it = sd.find(k); it != sd.end() && it->second.ndim() == 4) return static_cast<int>(it->second[1]);
    return -1;
}

InferredWidth inferred_width(const std::string& path) {
    const std::map<std::string, Shape> sd = model_shapes(path);
    // The first-stage width: the stem's output channels, or where the stem's weight is missing (a damaged file; a
    // width of 64 assumed then buried the missing tensor under a hundred wrong shapes) what follows it: the stem's
    // BatchNorm, the first block's input channels, or a VGG's second convolution's input channels.
    const struct { const char* name; size_t ndim, dim; const char* what; } where[] = {
        {"conv1.weight", 4, 0, "output channels"}, {"features.0.weight", 4, 0, "output channels"},
        {"bn1.weight", 1, 0, "channels"}, {"layer1.0.conv1.weight", 4, 1, "input channels"},
        {"features.1.weight", 1, 0, "channels"}};
    auto found = [&](const std::string& name, const std::string& what, int64_t w) {
        return InferredWidth{static_cast<int>(w), name + "'s " + std::to_string(w) + " " + what};
    };
    for (const auto& w : where)
        if (auto it = sd.find(w.name); it != sd.end() && it->second.ndim() == static_cast<int>(w.ndim))
            return found(w.name, w.what, it->second[static_cast<int>(w.dim)]);
    // A VGG without BatchNorm: the lowest-numbered convolution after features.0 takes the first stage's channels.
    int best = -1;
    std::string best_name;
    for (const auto& [k, t] : sd) {
        const std::string pre = "features.", post = ".weight";
        if (t.ndim() != 4 || k.size() <= pre.size() + post.size() || k.compare(0, pre.size(), pre) != 0 ||
            k.compare(k.size() - post.size(), post.size(), post) != 0)
            continue;
        const std::string idx = k.substr(pre.size(), k.size() - pre.size() - post.size());
        if (idx.empty() || idx.size() > 6 || idx.find_first_not_of("0123456789") != std::string::npos) continue;
        if (const int i = std::stoi(idx); i >= 1 && (best < 0 || i < best)) best = i, best_name = k;
    }
    if (best > 0) return found(best_name, "input channels", sd.at(best_name)[1]);
    return {-1, ""};
}

int infer_width(const std::string& path) { return inferred_width(path).width; }

int infer_num_classes(const std::string& path) {
    const std::map<std::string, Shape> sd = model_shapes(path);
    auto rows = [](const Shape& w) { return w.ndim() == 2 ? static_cast<int>(w[0]) : -1; };
    if (auto it = sd.find("fc.weight"); it != sd.end()) return rows(it->second);  // ResNet
    // VGG: "classifier.weight" (CIFAR form) or the highest-numbered "classifier.<i>.weight" (torchvision's)
    if (auto it = sd.find("classifier.weight"); it != sd.end()) return rows(it->second);
    int best = -1, out = -1;
    for (const auto& [k, t] : sd) {
        const std::string pre = "classifier.", post = ".weight";
        if (k.size() <= pre.size() + post.size() || k.compare(0, pre.size(), pre) != 0 ||
            k.compare(k.size() - post.size(), post.size(), post) != 0)
            continue;
        const std::string idx = k.substr(pre.size(), k.size() - pre.size() - post.size());
        if (idx.empty() || idx.size() > 6 || idx.find_first_not_of("0123456789") != std::string::npos) continue;
        if (std::stoi(idx) > best && t.ndim() == 2) best = std::stoi(idx), out = rows(t);
    }
    return out;
}

}  // namespace lrp::train
