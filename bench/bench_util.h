// Shared pieces of the model benchmarks: the CPU batch size (LRP_BENCH_BATCH), the CUDA cases' minimum time
// (LRP_BENCH_CUDA_MIN_TIME), a seeded CIFAR-shaped
// batch with labels, and the timed loop (warm-up, device-event timing, images/s and peak memory).
#pragma once
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "lrp/context.h"
#include "lrp/generator.h"
#include "lrp/nn/models.h"
#include "lrp/ops/elementwise.h"
#include "lrp/ops/gemm.h"
#include "lrp/tensor.h"
#include "lrp/timer.h"
#include "lrp/train/optimizer.h"

namespace lrp::bench {

inline int cpu_batch() {
    const char* e = std::getenv("LRP_BENCH_BATCH");
    return e && std::atoi(e) > 0 ? std::atoi(e) : 8;
}

// Seconds each CUDA case runs at least (LRP_BENCH_CUDA_MIN_TIME, default 1): a per-case setting outranks
// --benchmark_min_time, so a short device session shortens them through this variable.
inline double cuda_min_time() {
    const char* e = std::getenv("LRP_BENCH_CUDA_MIN_TIME");
    return e && std::atof(e) > 0 ? std::atof(e) : 1.0;
}

// A CIFAR-form model (10 classes, 3x32x32) with torchvision init from g, on dev.
inline std::unique_ptr<nn::Sequential> cifar_model(const std::string& arch, Device dev, Generator& g) {
    nn::ModelSpec spec;
    spec.arch = arch;
    auto model = nn::make_model(spec);
    nn::init_weights(*model, g);
    model->to(dev);
    return model;
}

// SGD, lr 0.01, momentum 0.9, over the model's parameters.
inline std::unique_ptr<train::SGD> bench_sgd(nn::Module& model) {
    kernels::SgdParams sp;
    sp.lr = 0.01f;
    sp.momentum = 0.9f;
    return std::make_unique<train::SGD>(model.named_params(), sp);
}

// x: N(0, 1) [batch, 3, 32, 32]; y: labels i % classes.
inline void cifar_batch(Device dev, int batch, int classes, Generator& g, Tensor& x, Tensor& y) {
    x = Tensor::empty({batch, 3, 32, 32}, DType::F32, dev);
    ops::normal(x, g, 0.f, 1.f);
    std::vector<int32_t> labels(batch);
    for (int i = 0; i < batch; ++i) labels[i] = i % classes;
    y = Tensor::from_vector(labels, {batch}, dev);
}

// Runs `once` twice (allocator cache, cuDNN algorithm choice), then times it per iteration with device
// events; reports images/s and the peak device memory of the timed part.
template <class F>
void timed_loop(benchmark::State& st, Device dev, int batch, F&& once) {
    once();
    once();
    synchronize(dev);
    reset_peak_memory(dev);
    DeviceTimer timer(dev);
    for (auto _ : st) {
        timer.start();
        once();
        st.SetIterationTime(timer.stop_ms() / 1e3);
    }
    st.counters["images/s"] = benchmark::Counter(double(batch) * st.iterations(), benchmark::Counter::kIsRate);
    st.counters["peak_MiB"] = double(memory_stats(dev).peak_in_use) / (1 << 20);
}

// The custom context lines every model benchmark prints.
inline void add_context() {
    benchmark::AddCustomContext("lrp_cuda_probe", cuda_probe_message());
    if (cuda_device_count() > 0) benchmark::AddCustomContext("lrp_device", device_name(Device::cuda(0)));
    benchmark::AddCustomContext("lrp_tf32", allow_tf32() ? "on" : "off");
    benchmark::AddCustomContext("lrp_deterministic", deterministic() ? "on" : "off");
}

// main() of a model benchmark: context lines, the caller's registrations, then Google Benchmark.
template <class Register>
int bench_main(int argc, char** argv, Register&& register_all) {
    lrp::ops::reexec_for_openblas_core(argv);  // OpenBLAS's fast kernels on CPUs it does not know, as lrpcu
    add_context();
    register_all();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

}  // namespace lrp::bench
