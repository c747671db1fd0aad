// Shared by the CUDA-graph tests of the training steps (RelDrop, EDDA, ISNet): run a step eagerly from a saved
// state until a run allocates nothing, then capture the same step into a graph, replay it, and hand both results
// to the test. Tensors only; the callers compare what their step produces.
#pragma once
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lrp/context.h"
#include "lrp/graph.h"
#include "lrp/nn/module.h"
#include "lrp/ops/elementwise.h"
#include "lrp/train/optimizer.h"
#include "reldrop_step_test_util.h"

namespace lrp::test {

// Before a whole-step capture test: launches not synchronised (LRP_CUDA_SYNC=1 would make them uncapturable), and
// the allocator's cache emptied (blocks of other tests' sizes would make the warm-up depend on the test order).
inline void prepare_capture(Device dev) {
    set_cuda_sync_debug(false);
    synchronize(dev);
    empty_cache(dev);
}

struct StepOutcome {
    std::vector<Tensor> results;  // what the step returned, copied to the host after the run (or the replay)
    std::map<std::string, std::vector<float>> params;
};

// `reset` restores what the step consumes besides the model and optimiser (generators); `step` runs one step and
// returns the tensors to compare. The model and optimiser are restored to their state at the call before every
// eager run and before the capture. Failures (allocation while captured, a step that cannot be captured, eager
// runs that never reach a steady allocator state) are reported through gtest; *graph_out keeps the graph.
inline std::pair<StepOutcome, StepOutcome> eager_and_replayed(Device dev, nn::Module& model, train::Optimizer& opt,
                                                              const std::function<void()>& reset,
                                                              const std::function<std::vector<Tensor>()>& step,
                                                              const std::string& what,
                                                              std::unique_ptr<DeviceGraph>* graph_out = nullptr) {
    synchronize(dev);
    const nn::StateDict model0 = model.state_dict();
    const nn::StateDict opt0 = opt.state_dict();
    auto host = [](const std::vector<Tensor>& ts) {
        std::vector<Tensor> h;
        for (const Tensor& t : ts) h.push_back(t.to(Device::cpu()));
        return h;
    };
    std::pair<StepOutcome, StepOutcome> out;
    bool steady = false;
    for (int run = 0; run < 4 && !steady; ++run) {
        const size_t before = memory_stats(dev).raw_allocs;
        model.load_state_dict(model0);
        opt.load_state_dict(opt0);
        reset();
        const std::vector<Tensor> r = step();
        synchronize(dev);
        steady = memory_stats(dev).raw_allocs == before;
        out.first.results = host(r);
        out.first.params = snapshot(model);
    }
    EXPECT_TRUE(steady) << what << ": repeated eager steps keep allocating device memory";
    model.load_state_dict(model0);
    opt.load_state_dict(opt0);
    reset();
    synchronize(dev);
    auto graph = std::make_unique<DeviceGraph>(dev);
    std::vector<Tensor> r;
    const size_t raw0 = memory_stats(dev).raw_allocs;
    graph->begin_capture();
    try {
        r = step();
    } catch (const Error& e) {
        ADD_FAILURE() << "the " << what << " cannot be captured (it synchronises or allocates): " << e.what();
    }
    EXPECT_NO_THROW(graph->end_capture());
    EXPECT_EQ(memory_stats(dev).raw_allocs, raw0) << "the captured " << what << " allocated device memory "
                                                     "(cudaMalloc): steady state must be served from the cache";
    EXPECT_GT(graph->nodes(), 50u) << what;
    // The captured step wrote nothing yet, but its result blocks may be ones the eager steps left their results
    // in: poisoned, so only the replay can make them equal the eager ones. (So a step's results must not alias its
    // inputs, e.g. a RelDrop batch that no coin selects, returned as x itself.)
    for (Tensor& t : r) {
        if (!t.defined()) continue;
        if (t.dtype() == DType::F32) ops::fill(t, std::numeric_limits<float>::quiet_NaN());
        else if (t.dtype() == DType::I32) t.copy_from(Tensor::from_vector(std::vector<int32_t>(t.numel(), -77), t.shape()));
    }
    graph->replay();
    synchronize(dev);
    out.second.results = host(r);
    out.second.params = snapshot(model);
    if (graph_out) *graph_out = std::move(graph);
    return out;
}

}  // namespace lrp::test
