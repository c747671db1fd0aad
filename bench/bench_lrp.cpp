// Google Benchmark: the LRP relevance pass (issue #6). attribute() with the RelDrop reference composite and
// with EpsilonPlusFlat, against an eval forward + backward-data sweep and an eval forward, on CIFAR ResNet-18
// and VGG-16-BN (3x32x32, 10 classes). Target on a GPU: the pass at most 1.2x fwd + bwd-data. Batch 128 on
// CUDA (timed with device events), 8 on the CPU (LRP_BENCH_BATCH overrides it).
#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <string>

#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"

namespace {

using lrp::Device;
using lrp::Tensor;

enum class Work { Attribute, EvalFwdBwdData, EvalFwd };

struct Case {
    const char* name;
    Work work;
    const char* composite;  // Attribute only
};

void run(benchmark::State& st, const std::string& arch, const Case& c, Device dev, int batch) {
    try {
        lrp::require_device(dev);
        lrp::Generator g(1);
        auto model = lrp::bench::cifar_model(arch, dev, g);
        model->eval();
        Tensor x, y;
        lrp::bench::cifar_batch(dev, batch, 10, g, x, y);
        lrp::explain::Composite composite = lrp::explain::make_composite(c.work == Work::Attribute ? c.composite : "reldrop");
        Tensor dlogits = Tensor::empty({batch, 10}, lrp::DType::F32, dev);
        lrp::ops::normal(dlogits, g, 0.f, 1e-3f);
        auto once = [&] {
            switch (c.work) {
                case Work::Attribute:
                    lrp::explain::attribute(*model, x, lrp::explain::Target::label(y), composite);
                    break;
                case Work::EvalFwdBwdData:
                    model->forward(x);
                    model->backward(dlogits, false);  // input gradient only, no parameter gradients
                    break;
                case Work::EvalFwd: model->forward(x); break;
            }
        };
        lrp::bench::timed_loop(st, dev, batch, once);
    } catch (const lrp::Error& e) {
        st.SkipWithError(e.what());
    }
}

void register_all() {
    static const Case cases[] = {
        {"attribute_reldrop", Work::Attribute, "reldrop"},
        {"attribute_epsilon_plus_flat", Work::Attribute, "epsilon_plus_flat"},
        {"eval_fwd_bwd_data", Work::EvalFwdBwdData, ""},
        {"eval_fwd", Work::EvalFwd, ""},
    };
    static const std::string archs[] = {"resnet18", "vgg16_bn"};
    for (const std::string& arch : archs)
        for (const Case& c : cases) {
            const std::string n = "BM_" + arch + "_" + c.name + "_cuda/batch:128";
            benchmark::RegisterBenchmark(n.c_str(), [&arch, &c](benchmark::State& st) {
                run(st, arch, c, Device::cuda(0), 128);
            })->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(lrp::bench::cuda_min_time());
            const int cb = lrp::bench::cpu_batch();
            const std::string m = "BM_" + arch + "_" + c.name + "_cpu/batch:" + std::to_string(cb);
            benchmark::RegisterBenchmark(m.c_str(), [&arch, &c, cb](benchmark::State& st) {
                run(st, arch, c, Device::cpu(), cb);
            })->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(6);
        }
}

}  // namespace

int main(int argc, char** argv) { return lrp::bench::bench_main(argc, argv, register_all); }
