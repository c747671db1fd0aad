// Google Benchmark for GEMM and conv2d (fwd/dgrad/wgrad) at the distinct conv layer shapes of a CIFAR
// ResNet-18, on each backend (BM_conv2d_fwd_cpu / _cuda, ...), reported as FLOP/s. Batch: 128 on CUDA,
// 8 on the CPU, or LRP_BENCH_BATCH for both. CUDA is timed with events on the device stream.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "../kernels/cpu/gemm_blocked.h"
#include "lrp/context.h"
#include "lrp/device.h"
#include "lrp/ops/conv.h"
#include "lrp/ops/gemm.h"
#include "lrp/tensor.h"
#include "lrp/timer.h"

namespace {

using lrp::Device;
using lrp::Shape;
using lrp::Tensor;

// One 3x3 (pad 1) or 1x1 (pad 0) convolution of the network: C -> K channels at HW x HW input.
struct Layer {
    const char* name;
    int C, HW, K, R, stride;
};
const Layer kLayers[] = {
    {"stem_3to64_32px", 3, 32, 64, 3, 1},         {"c64to64_32px", 64, 32, 64, 3, 1},
    {"c64to128_s2_32px", 64, 32, 128, 3, 2},      {"c128to128_16px", 128, 16, 128, 3, 1},
    {"c128to256_s2_16px", 128, 16, 256, 3, 2},    {"c256to256_8px", 256, 8, 256, 3, 1},
    {"c256to512_s2_8px", 256, 8, 512, 3, 2},      {"c512to512_4px", 512, 4, 512, 3, 1},
    {"proj1x1_64to128_s2", 64, 32, 128, 1, 2},    {"proj1x1_128to256_s2", 128, 16, 256, 1, 2},
    {"proj1x1_256to512_s2", 256, 8, 512, 1, 2},
};

int batch_for(Device dev) {
    if (const char* e = std::getenv("LRP_BENCH_BATCH")) {
        int b = std::atoi(e);
        if (b > 0) return b;
    }
    return dev.is_cuda() ? 128 : 8;
}

Tensor random_tensor(const Shape& s, uint32_t seed, Device dev) {
    std::vector<float> v(static_cast<size_t>(s.numel()));
    uint32_t state = seed * 2654435761u + 1;
    for (auto& x : v) {
        state = state * 1664525u + 1013904223u;
        x = static_cast<float>(state >> 8) / 16777216.f - 0.5f;
    }
    return Tensor::from_vector(v, s, dev);
}

// Times `op` (one operation per benchmark iteration) and reports FLOP/s. The CPU uses wall time
// (the CPU backend's threads split the work); CUDA times `inner` back-to-back launches with device events.
void run_timed(benchmark::State& st, Device dev, double flops, const std::function<void()>& op) {
    try {
        op();  // warm-up: allocations, cuDNN algorithm choice, workspace
        lrp::synchronize(dev);
        if (dev.is_cpu()) {
            for (auto _ : st) op();
        } else {
            constexpr int inner = 5;
            lrp::DeviceTimer timer(dev);
            for (auto _ : st) {
                timer.start();
                for (int i = 0; i < inner; ++i) op();
                st.SetIterationTime(timer.stop_ms() / 1e3 / inner);
            }
        }
    } catch (const lrp::Error& e) {
        st.SkipWithError(e.what());
        return;
    }
    st.counters["FLOP/s"] = benchmark::Counter(flops * static_cast<double>(st.iterations()),
                                               benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

bool skip_without_device(benchmark::State& st, Device dev) {
    if (dev.is_cuda() && lrp::cuda_device_count() == 0) {
        st.SkipWithError("no CUDA device");
        return true;
    }
    return false;
}

enum class Dir { Fwd, Dgrad, Wgrad };

// nondet: cuDNN may pick non-deterministic algorithms (LRP_NONDETERMINISTIC=1), to price the default.
void bm_conv(benchmark::State& st, Layer L, Dir dir, Device dev, bool nondet) {
    if (skip_without_device(st, dev)) return;
    struct DetScope {  // restores the process-wide switch when the benchmark ends
        bool prev = lrp::deterministic();
        explicit DetScope(bool nd) { lrp::set_deterministic(prev && !nd); }
        ~DetScope() { lrp::set_deterministic(prev); }
    } det_scope(nondet);
    const int N = batch_for(dev);
    lrp::ops::Conv2dParams p;
    p.stride_h = p.stride_w = L.stride;
    p.pad_h = p.pad_w = L.R / 2;
    const auto d = lrp::ops::conv2d_desc(Shape{N, L.C, L.HW, L.HW}, Shape{L.K, L.C, L.R, L.R}, p);
    Tensor x = random_tensor(Shape{N, L.C, L.HW, L.HW}, 1, dev);
    Tensor w = random_tensor(Shape{L.K, L.C, L.R, L.R}, 2, dev);
    Tensor y = random_tensor(Shape{N, L.K, d.P(), d.Q()}, 3, dev);
    Tensor dx = Tensor::empty(x.shape(), lrp::DType::F32, dev), dw = Tensor::empty(w.shape(), lrp::DType::F32, dev);
    const double flops = 2.0 * N * L.K * d.P() * d.Q() * L.C * L.R * L.R;
    run_timed(st, dev, flops, [&] {
        switch (dir) {
        case Dir::Fwd: lrp::ops::conv2d_fwd(d, x, w, Tensor(), y); break;
        case Dir::Dgrad: lrp::ops::conv2d_dgrad(d, y, w, dx); break;
        case Dir::Wgrad: lrp::ops::conv2d_wgrad(d, x, y, dw); break;
        }
    });
    st.counters["batch"] = N;
}

// The GEMM a layer's forward pass lowers to: [K x CRS] x [CRS x N*P*Q].
struct GemmShape {
    int M, N, K;
};
GemmShape gemm_of(const Layer& L, int batch) {
    const int P = (L.HW + 2 * (L.R / 2) - L.R) / L.stride + 1;
    return {L.K, batch * P * P, L.C * L.R * L.R};
}

void bm_gemm(benchmark::State& st, GemmShape g, Device dev, bool blocked) {
    if (skip_without_device(st, dev)) return;
    Tensor A = random_tensor(Shape{g.M, g.K}, 4, dev), B = random_tensor(Shape{g.K, g.N}, 5, dev);
    Tensor C = Tensor::empty(Shape{g.M, g.N}, lrp::DType::F32, dev);
    const double flops = 2.0 * g.M * g.N * g.K;
    if (blocked) {  // lrpcu's own CPU kernel, bypassing the table (which may hold OpenBLAS)
        const float *a = A.data<float>(), *b = B.data<float>();
        float* c = C.data<float>();
        run_timed(st, dev, flops, [&] {
            lrp::kernels::cpu::gemm_blocked(false, false, g.M, g.N, g.K, 1.f, a, g.K, b, g.N, 0.f, c, g.N);
        });
    } else {
        run_timed(st, dev, flops, [&] { lrp::ops::gemm(false, false, 1.f, A, B, 0.f, C); });
    }
}

void register_all() {
    const Device devs[] = {Device::cpu(), Device::cuda(0)};
    const char* dir_names[] = {"fwd", "dgrad", "wgrad"};
    for (Device dev : devs) {
        const std::string be = dev.is_cpu() ? "cpu" : "cuda";
        for (int nondet = 0; nondet < (dev.is_cuda() ? 2 : 1); ++nondet)
            for (int di = 0; di < 3; ++di)
                for (const Layer& L : kLayers) {
                    const std::string name = std::string("BM_conv2d_") + dir_names[di] + "_" + be +
                                             (nondet ? "_nondet/" : "/") + L.name;
                    auto* b = benchmark::RegisterBenchmark(name.c_str(), bm_conv, L, static_cast<Dir>(di), dev,
                                                           nondet != 0);
                    if (dev.is_cuda()) b->UseManualTime();
                    else b->UseRealTime();
                    b->Unit(benchmark::kMillisecond);
                }
        const int batch = batch_for(dev);
        std::vector<std::pair<std::string, GemmShape>> shapes;
        for (const Layer& L : kLayers) shapes.emplace_back(std::string("im2col_") + L.name, gemm_of(L, batch));
        for (int n : {512, 1024, 2048}) shapes.emplace_back("square_" + std::to_string(n), GemmShape{n, n, n});
        for (auto& [sname, g] : shapes) {
            std::string name = "BM_gemm_" + be + "/" + sname;
            auto* b = benchmark::RegisterBenchmark(name.c_str(), bm_gemm, g, dev, false);
            if (dev.is_cuda()) b->UseManualTime();
            else b->UseRealTime();
            b->Unit(benchmark::kMillisecond);
        }
        if (dev.is_cpu()) {
            for (int n : {256, 512, 1024}) {
                std::string name = "BM_gemm_blocked_cpu/square_" + std::to_string(n);
                benchmark::RegisterBenchmark(name.c_str(), bm_gemm, GemmShape{n, n, n}, dev, true)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
            }
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    lrp::ops::reexec_for_openblas_core(argv);  // OpenBLAS's fast kernels on CPUs it does not know, as lrpcu
    benchmark::AddCustomContext("lrp_cuda_probe", lrp::cuda_probe_message());
    if (lrp::cuda_device_count() > 0) benchmark::AddCustomContext("lrp_device", lrp::device_name(Device::cuda(0)));
    benchmark::AddCustomContext("lrp_tf32", lrp::allow_tf32() ? "on" : "off");
    benchmark::AddCustomContext("lrp_deterministic", lrp::deterministic() ? "on" : "off");
    benchmark::AddCustomContext("lrp_batch_cpu", std::to_string(batch_for(Device::cpu())));
    benchmark::AddCustomContext("lrp_batch_cuda", std::to_string(batch_for(Device::cuda(0))));
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
