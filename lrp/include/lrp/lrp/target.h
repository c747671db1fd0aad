// Initial relevance at the model output (lrp-rules.md §9): one-hot of the label, of the prediction
// (first arg-max per sample), or of a fixed class; optionally scaled by the target logit (logit x one-hot);
// or the logits themselves (zennit's default). Built on the logits' device: device labels are used as they
// are, a fixed class's indices are uploaded once per batch size and device (cached, so a repeated attribution
// copies nothing from the host and can be captured into a CUDA graph); host labels are checked and copied.
#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "lrp/tensor.h"

namespace lrp::explain {

struct Target {
    enum class Kind { Label, Prediction, Class, Output };
    Kind kind = Kind::Prediction;
    Tensor labels;         // Label: int32 [N] on any device (a CPU tensor is range-checked, then copied over)
    int cls = 0;           // Class
    bool times_logit = false;

    static Target label(Tensor labels);
    static Target prediction();
    static Target class_index(int c);
    static Target output();  // R_out = logits (zennit's attr_output default)
    // The same target with R_out = f_t * e_t instead of e_t (a per-sample factor; it flips maps where f_t < 0).
    Target scaled_by_logit() const;
    // "label" (needs labels), "pred", "<class>", each optionally with suffix "*logit"; "output".
    static Target parse(const std::string& spec, Tensor labels = Tensor());
    std::string str() const;
    // Class: int32 [n, 1, 1, 1] holding cls on device d; uploaded on first use, then cached (copies of
    // the target share the cache, which follows cls, n and d).
    Tensor class_indices(int64_t n, Device d) const;

private:
    struct IndexCache {
        std::mutex m;
        int cls = -1;
        int64_t n = 0;
        Device device;
        Tensor idx;
    };
    std::shared_ptr<IndexCache> cache_ = std::make_shared<IndexCache>();
};

// logits: fp32 [N, K]. Returns the initial relevance [N, K] on the logits' device.
Tensor initial_relevance(const Tensor& logits, const Target& t);

}  // namespace lrp::explain
