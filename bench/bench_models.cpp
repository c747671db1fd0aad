// Google Benchmark: forward, backward and the full training step (SGD, momentum) of CIFAR ResNet-18
// and VGG-16 (BN) at 3x32x32, in images/s per backend, with peak device memory. Batches 128 and 512 on
// CUDA; on the CPU batch 8 (LRP_BENCH_BATCH overrides the CPU batch). CUDA timed with device events.
#include <benchmark/benchmark.h>

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

int cpu_batch() {
    const char* e = std::getenv("LRP_BENCH_BATCH");
    return e && std::atoi(e) > 0 ? std::atoi(e) : 8;
}

enum class Phase { Forward, Backward, Step };

void run(benchmark::State& st, const std::string& arch, Device dev, int batch, Phase phase) {
    try {
        lrp::require_device(dev);
        lrp::nn::ModelSpec spec;
        spec.arch = arch;
        auto model = lrp::nn::make_model(spec);
        lrp::Generator g(1);
        lrp::nn::init_weights(*model, g);
        model->to(dev);
        Tensor x = Tensor::empty({batch, 3, 32, 32}, lrp::DType::F32, dev);
        lrp::ops::normal(x, g, 0.f, 1.f);
        std::vector<int32_t> labels(batch);
        for (int i = 0; i < batch; ++i) labels[i] = i % 10;
        Tensor y = Tensor::from_vector(labels, {batch}, dev);
        lrp::kernels::SgdParams sp;
        sp.lr = 0.01f;
        sp.momentum = 0.9f;
        lrp::train::SGD opt(model->named_params(), sp);
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
        once();  // warm-up: allocator cache, cuDNN algorithm choice
        once();
        lrp::synchronize(dev);
        lrp::reset_peak_memory(dev);
        lrp::DeviceTimer timer(dev);
        for (auto _ : st) {
            timer.start();
            once();
            st.SetIterationTime(timer.stop_ms() / 1e3);
        }
        st.counters["images/s"] = benchmark::Counter(double(batch) * st.iterations(), benchmark::Counter::kIsRate);
        st.counters["peak_MiB"] = double(lrp::memory_stats(dev).peak_in_use) / (1 << 20);
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
                })->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);
            }
            const int cb = cpu_batch();
            const std::string n = std::string("BM_") + arch + "_" + pname + "_cpu/batch:" + std::to_string(cb);
            benchmark::RegisterBenchmark(n.c_str(), [=](benchmark::State& st) {
                run(st, arch, Device::cpu(), cb, phase);
            })->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(2);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::AddCustomContext("lrp_cuda_probe", lrp::cuda_probe_message());
    if (lrp::cuda_device_count() > 0) benchmark::AddCustomContext("lrp_device", lrp::device_name(Device::cuda(0)));
    benchmark::AddCustomContext("lrp_tf32", lrp::allow_tf32() ? "on" : "off");
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
