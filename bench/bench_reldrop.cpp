// Google Benchmark: the RelDrop, EDDA and ISNet training steps against the plain step (issue #5: a RelDrop step at
// most 1.8x a baseline step on a GPU; EDDA trains on 3x the batch, docs/edda.md; ISNet differentiates through an
// LRP-Flex pass, docs/isnet.md, also with LRP deep supervision). CIFAR ResNet-18 (3x32x32, 10 classes), batch 128
// on CUDA; on the CPU batch 8 (LRP_BENCH_BATCH overrides it). CUDA timed with device events on the stream. The LRP
// pass on its own is bench_lrp.
#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lrp/context.h"
#include "lrp/nn/models.h"
#include "lrp/ops/elementwise.h"
#include "lrp/timer.h"
#include "lrp/train/edda_step.h"
#include "lrp/train/isnet_step.h"
#include "lrp/train/reldrop_step.h"

namespace {

using lrp::Device;
using lrp::Tensor;

// What one timed iteration runs.
enum class Work { BaselineStep, RelDropStep, EddaStep, IsnetStep, IsnetLdsStep };

struct Case {
    const char* name;
    Work work;
    const char* variant;  // RelDrop variant (RelDropStep)
    float p;              // RelDrop coin probability
    bool selected_only = false;  // reldrop.md Q7: attribute the samples a per-sample coin selects only
};

void run(benchmark::State& st, const Case& c, Device dev, int batch) {
    try {
        lrp::require_device(dev);
        lrp::Generator g(1);
        auto model = lrp::bench::cifar_model("resnet18", dev, g);
        Tensor x, y;
        lrp::bench::cifar_batch(dev, batch, 10, g, x, y);
        auto sgd = lrp::bench::bench_sgd(*model);
        lrp::train::SGD& opt = *sgd;
        lrp::train::RelDropSettings rs;
        rs.params.variant = c.variant;
        rs.params.p = c.p;
        rs.params.k = 1;
        rs.params.fill = {0.4914f, 0.4822f, 0.4465f};  // the reference fill for CIFAR-10
        rs.lrp_selected_only = c.selected_only;
        lrp::train::RelDrop reldrop(rs);
        lrp::Generator rg(2);
        lrp::train::EddaSettings es;  // the defaults of --augment edda on CIFAR: 8 x 8 windows, fill 0
        es.patch = 8;
        es.fill = {0.f};
        lrp::train::Edda edda(es);
        // --augment isnet's defaults (Stochastic ISNet, P 0.7, z^B first layer) with CIFAR-10's normalisation; only
        // for the ISNet case (its settings would refuse nothing else, but the other cases do not need it).
        std::optional<lrp::train::Isnet> isnet;
        if (c.work == Work::IsnetStep || c.work == Work::IsnetLdsStep) {
            lrp::train::TrainConfig cfg;
            cfg.augment = "isnet";
            cfg.isnet_lds = c.work == Work::IsnetLdsStep;
            isnet.emplace(lrp::train::isnet_settings(cfg, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}));
        }
        std::vector<int64_t> attributed;  // images RelDrop's attribution ran on, per call
        auto once = [&] {
            switch (c.work) {
                case Work::BaselineStep: lrp::train::train_step(*model, opt, x, y); break;
                case Work::RelDropStep:
                    lrp::train::reldrop_train_step(*model, opt, reldrop, x, y, rg);
                    attributed.push_back(reldrop.last_attributed());
                    break;
                case Work::EddaStep: lrp::train::edda_train_step(*model, opt, edda, x, y); break;
                case Work::IsnetStep:
                case Work::IsnetLdsStep: isnet->step(*model, opt, x, y, rg, {0.f, 1.f}); break;
            }
        };
        // Selected-only: the attribution's batch size varies per step, and each new size plans its convolutions
        // and takes allocator blocks once; warm up over most sizes so the timing shows the steady state.
        if (c.selected_only && dev.is_cuda())
            for (int i = 0; i < 40; ++i) once();
        lrp::bench::timed_loop(st, dev, batch, once);
        // The share of the timed steps' images the attribution ran on: with a per-batch coin, few timed steps
        // realise p only roughly (the CPU case's 12 steps gave 8 LRP passes at p 0.5), so read the time with it.
        if (c.work == Work::RelDropStep && !attributed.empty()) {
            const size_t n = std::min<size_t>(attributed.size(), static_cast<size_t>(st.iterations()));
            int64_t sum = 0;
            for (size_t i = attributed.size() - n; i < attributed.size(); ++i) sum += attributed[i];
            st.counters["attributed_fraction"] = double(sum) / (double(n) * batch);
        }
    } catch (const lrp::Error& e) {
        st.SkipWithError(e.what());
    }
}

void register_all() {
    static const Case cases[] = {
        {"baseline_step", Work::BaselineStep, "block", 0.f},
        {"reldrop_block_p1_step", Work::RelDropStep, "block", 1.f},    // LRP every step (worst case)
        {"reldrop_block_ref_step", Work::RelDropStep, "block", 0.5f},  // reference: per-batch coin, p 0.5
        {"reldrop_pixel_step", Work::RelDropStep, "pixel", 0.3f},      // pixel: LRP on every batch
        {"reldrop_pixel_selected_step", Work::RelDropStep, "pixel", 0.3f, true},  // LRP on ~30% of each batch
        {"edda_step", Work::EddaStep, "block", 0.f},  // LRP on the batch, then a train step on 3x its rows
        {"isnet_step", Work::IsnetStep, "block", 0.f},  // forward, LRP-Flex pass, its adjoint, backward
        {"isnet_lds_step", Work::IsnetLdsStep, "block", 0.f},  // + LRP deep supervision on the 4 stage outputs
    };
    for (const Case& c : cases) {
        const std::string n = std::string("BM_resnet18_") + c.name + "_cuda/batch:128";
        benchmark::RegisterBenchmark(n.c_str(), [&c](benchmark::State& st) { run(st, c, Device::cuda(0), 128); })
            ->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(lrp::bench::cuda_min_time());
        const int cb = lrp::bench::cpu_batch();
        const std::string m = std::string("BM_resnet18_") + c.name + "_cpu/batch:" + std::to_string(cb);
        benchmark::RegisterBenchmark(m.c_str(), [&c, cb](benchmark::State& st) { run(st, c, Device::cpu(), cb); })
            ->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(12);  // p 0.5: see attributed_fraction
    }
}

}  // namespace

int main(int argc, char** argv) { return lrp::bench::bench_main(argc, argv, register_all); }
