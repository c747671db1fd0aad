// --init-weights / --init-head: a run's model loaded from pretrained weights, with its classifier kept or drawn
// anew; every mismatch between the file and the run is named with the setting that fixes it.
#include "lrp/train/init_from.h"

#include <cmath>
#include <filesystem>

#include "lrp/log.h"
#include "lrp/nn/affine.h"
#include "lrp/ops/elementwise.h"
#include "lrp/parse.h"
#include "lrp/train/checkpoint.h"

namespace lrp::train {

InitHead parse_init_head(const std::string& spec) {
    InitHead h;
    if (spec == "keep") return h;
    if (spec == "reinit") {
        h.kind = InitHead::Kind::Reinit;
        return h;
    }
    if (spec.rfind("normal:", 0) == 0) {
        const std::optional<float> v = parse_finite_float(spec.substr(7));
        LRP_CHECK(v && *v > 0 && *v <= 10, "--init-head '", spec, "': normal:<std> takes a standard deviation in ",
                  "(0, 10] (the RelDrop reference's is normal:0.01)");
        h.kind = InitHead::Kind::Normal;
        h.std = *v;
        return h;
    }
    LRP_THROW("--init-head '", spec, "' is not keep, reinit or normal:<std> (e.g. normal:0.01, the RelDrop reference's)");
}

std::string classifier_name(nn::Module& model) {
    const nn::Module* last = nullptr;
    for (nn::Module* m : model.leaves())
        if (dynamic_cast<nn::Linear*>(m)) last = m;
    LRP_CHECK(last, model.type(), " has no Linear layer: there is no classifier to initialise");
    return last->name();
}

namespace {
nn::Linear& classifier(nn::Module& model) {
    const std::string name = classifier_name(model);
    for (nn::Module* m : model.leaves())
        if (m->name() == name) return dynamic_cast<nn::Linear&>(*m);
    LRP_THROW("unreachable: classifier ", name, " not found");
}

std::string head_note(const InitHead& h, const std::string& name, const std::string& scheme) {
    switch (h.kind) {
        case InitHead::Kind::Keep: return "classifier " + name + " kept";
        case InitHead::Kind::Reinit: return "classifier " + name + " initialised anew (--init " + scheme + ")";
        case InitHead::Kind::Normal: return str("classifier ", name, " drawn anew from N(0, ", h.std, "), bias 0");
    }
    return "";
}
}  // namespace

CheckpointState check_init_weights_file(const TrainConfig& cfg) {
    const std::string& path = cfg.init_weights;
    LRP_CHECK(std::filesystem::is_regular_file(path), "--init-weights: '", path, "' ",
              std::filesystem::exists(path) ? "is not a regular file" : "does not exist");
    CheckpointState rec;
    try {
        rec = recorded_state(path);  // validates the file's header and metadata
    } catch (const Error& e) {
        LRP_THROW("--init-weights: ", e.what(), "\n(a PyTorch .pth/.pt/.bin file? scripts/to-safetensors.py converts it)");
    }
    if (rec.config.is_object() && rec.config.contains("arch") && rec.config["arch"].is_string())
        LRP_CHECK(rec.config["arch"] == cfg.arch, "--init-weights ", path, " holds a ",
                  rec.config["arch"].get<std::string>(), ", but the run builds --arch ", cfg.arch, " (pass --arch ",
                  rec.config["arch"].get<std::string>(), ")");
    if (const InferredWidth w = inferred_width(path); w.width > 0)
        LRP_CHECK(w.width == cfg.width, "--init-weights ", path, " has first-stage width ", w.width, " (", w.source,
                  "), but the run builds --width ", cfg.width, " (pass --width ", w.width, ")");
    return rec;
}

std::string init_from_weights(const TrainConfig& cfg, nn::Module& model, Generator& g, const DataSplit& data) {
    const std::string& path = cfg.init_weights;
    const InitHead head = parse_init_head(cfg.init_head);
    const CheckpointState rec = check_init_weights_file(cfg);
    if (const int c = infer_in_channels(path); c > 0)
        LRP_CHECK(c == data.channels, "--init-weights ", path, " takes ", c, "-channel images, but ", data.name,
                  " has ", data.channels, "-channel images");
    const std::string head_name = classifier_name(model);
    if (head.kind == InitHead::Kind::Keep) {
        const int k = infer_num_classes(path);
        LRP_CHECK(k < 0 || k == data.num_classes, "--init-weights ", path, ": its classifier has ", k, " outputs, but ",
                  data.name, " has ", data.num_classes, " classes (--init-head normal:0.01 or reinit starts the ",
                  "classifier anew)");
        check_class_names(rec.class_names, data.class_names, path, "the training split (--init-head keep)");
    }

    nn::StateDict sd = read_model_weights(path);
    const bool kept = head.kind == InitHead::Kind::Keep;
    for (const auto& [name, t] : sd) {  // (a classifier drawn anew does not use the file's)
        const std::string why = weight_problem(name, t);
        LRP_CHECK(why.empty() || (!kept && (name == head_name + ".weight" || name == head_name + ".bias")),
                  "--init-weights ", path, ": tensor ", name, " ", why);
    }
    if (!kept) {
        nn::Linear& fc = classifier(model);
        if (head.kind == InitHead::Kind::Normal) {
            ops::normal(fc.weight.value, g, 0.f, head.std);
            if (fc.has_bias()) ops::fill(fc.bias.value, 0.f);
        }
        // The model's own (new) values stand in for the file's, whatever their shape there.
        sd.erase(head_name + ".weight");
        sd.erase(head_name + ".bias");
        sd[head_name + ".weight"] = fc.weight.value.to(Device::cpu()).clone();
        if (fc.has_bias()) sd[head_name + ".bias"] = fc.bias.value.to(Device::cpu()).clone();
    }
    try {
        model.load_state_dict(sd);
    } catch (const Error& e) {
        const std::string headless = kept && !sd.count(head_name + ".weight")
                                         ? str("\n(the file has no classifier ", head_name, ": if it is a backbone ",
                                               "without its head, --init-head normal:0.01 or reinit gives the run one)")
                                         : std::string();
        LRP_THROW("--init-weights ", path, " does not fit --arch ", cfg.arch, " --width ", cfg.width, " for ",
                  data.name, " (", data.channels, "x", data.height, "x", data.width, " images, ", data.num_classes,
                  " classes): ", e.what(), headless);
    }
    if (!rec.mean.empty() && rec.mean.size() == data.mean.size()) {
        bool same = true;
        for (size_t c = 0; c < rec.mean.size(); ++c)
            same = same && std::abs(rec.mean[c] - data.mean[c]) < 1e-4f && std::abs(rec.stdev[c] - data.stdev[c]) < 1e-4f;
        if (!same)
            log_warn("--init-weights ", path, " was trained on inputs normalised with other statistics than ",
                     data.name, "'s, which this run uses: the first steps see shifted inputs");
    }
    const std::string kind = rec.config.is_object() && rec.config.contains("epochs") && rec.epoch > 0
                                 ? str("an lrpcu checkpoint after epoch ", rec.epoch)
                             : rec.config.is_object() && !rec.config.empty() ? std::string("an lrpcu model file")
                                                                            : std::string("a state_dict");
    return str("initialised from ", path, " (", kind, ", ", sd.size(), " tensors); ",
               head_note(head, head_name, cfg.init));
}

}  // namespace lrp::train
