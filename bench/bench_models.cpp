// Google Benchmark: forward, backward and the full training step (SGD, momentum) of CIFAR ResNet-18
// and VGG-16 (BN) at 3x32x32, in images/s per backend, with peak device memory. Batches 128 and 512 on
// CUDA; on the CPU batch 8 (LRP_BENCH_BATCH overrides the CPU batch). CUDA timed with device events.
#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <cstdlib>
#include <string>

#include "lrp/context.h"
#include "lrp/nn/models.h"
#include "lrp/ops/elementwise.h"
#include "lrp/timer.h"
#include "lrp/train/step.h"

namespace {

using lrp::Device;
using lrp::Tensor;

enum class Phase { Forward, Backward, Step };

void run(benchmark::State& st, const std::string& arch, Device dev, int batch, Phase phase) {
    try {
        lrp::require_device(dev);
        lrp::Generator g(1);
        auto model = lrp::bench::cifar_model(arch, dev, g);
        Tensor x, y;
        lrp::bench::cifar_batch(dev, batch, 10, g, x, y);
        auto sgd = lrp::bench::bench_sgd(*model);
        lrp::train::SGD& opt = *sgd;
        model->train(true);
        Tensor dlogits = Tensor::empty({batch, 10}, lrp::DType::F32, dev);
        lrp::ops::normal(dlogits, g, 0.f, 1e-3f);
        auto once = [&] {
            if (phase == Phase::Step) {
                lrp::train::train_step(*model, opt, x, y);
            } else {
                model->forward(x);
                if (phase == Phase::Backward) model->backward(dlogits, true);
            }
        };
        lrp::bench::timed_loop(st, dev, batch, once);
    } catch (const lrp::Error& e) {
        st.SkipWithError(e.what());
    }
}

void register_all() {
    for (const char* arch : {"resnet18", "vgg16_bn"}) {
        for (auto [pname, phase] : {std::pair{"fwd", Phase::Forward}, std::pair{"fwd_bwd", Phase::Backward},
                                    std::pair{"train_step", Phase::Step}}) {
            for (int b : {128, 512}) {
                const std::string n = std::string("BM_") + arch + "_" + pname + "_cuda/batch:" + std::to_string(b);
                benchmark::RegisterBenchmark(n.c_str(), [=](benchmark::State& st) {
                    run(st, arch, Device::cuda(0), b, phase);
                })->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(lrp::bench::cuda_min_time());
            }
            const int cb = lrp::bench::cpu_batch();
            const std::string n = std::string("BM_") + arch + "_" + pname + "_cpu/batch:" + std::to_string(cb);
            benchmark::RegisterBenchmark(n.c_str(), [=](benchmark::State& st) {
                run(st, arch, Device::cpu(), cb, phase);
            })->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
        }
    }
}

}  // namespace

int main(int argc, char** argv) { return lrp::bench::bench_main(argc, argv, register_all); }
