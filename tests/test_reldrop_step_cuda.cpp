// The RelDrop step on CUDA: the masks agree with the CPU step for the same weights and RNG stream, and
// the whole step (attribution, masks, train forward/backward, SGD) captures into a CUDA graph in global
// capture mode (which fails on any synchronisation or device-to-host copy), allocates no device memory
// while captured (the allocator's raw-allocation count; CUDA need not refuse a cudaMalloc there) and
// replays to the eager result. Skips without a device; fails instead when LRP_REQUIRE_CUDA=1.
#include <limits>
#include <gtest/gtest.h>

#include "lrp/context.h"
#include "lrp/graph.h"
#include "lrp/ops/elementwise.h"
#include "graph_test_util.h"
#include "reldrop_step_test_util.h"

using namespace lrp;
using namespace lrp::test;
using lrp::train::RelDrop;

namespace {
// Images (of N x C x H x W) whose values differ between a and b.
int differing_images(const std::vector<float>& a, const std::vector<float>& b, int N) {
    const size_t per = a.size() / static_cast<size_t>(N);
    int n = 0;
    for (int i = 0; i < N; ++i)
        for (size_t j = 0; j < per; ++j)
            if (a[i * per + j] != b[i * per + j]) {
                ++n;
                break;
            }
    return n;
}
}  // namespace

TEST(RelDropStepCuda, MasksMatchTheCpuStep) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    for (const char* variant : {"pixel", "block", "patch"}) {
        StepFixture c(Device::cpu(), 8), g(dev, 8);
        RelDrop rc(settings(variant, 1.f, 3)), rg(settings(variant, 1.f, 3));
        Generator gc(21, 4), gg(21, 4);
        Tensor sc = Tensor::empty({8}, DType::I32, Device::cpu()), sg = Tensor::empty({8}, DType::I32, dev);
        const std::vector<float> oc = rc.occlude(*c.model, c.x, c.y, gc, sc).to_vector<float>();
        const std::vector<float> og = rg.occlude(*g.model, g.x, g.y, gg, sg).to_vector<float>();
        EXPECT_EQ(sc.to_vector<int32_t>(), sg.to_vector<int32_t>()) << variant;
        EXPECT_EQ(gc.offset(), gg.offset()) << variant;
        // The relevance differs by float rounding between backends, so a pixel at a threshold (or a centre
        // at a near tie) may flip; anything beyond one image in eight is a real disagreement.
        EXPECT_LE(differing_images(oc, og, 8), 1) << variant;
    }
}

// reldrop.md Q7 on the device: the selected samples gathered, attributed and scattered back with device copies
// (no host read) occlude as the CPU's selected-only step does.
TEST(RelDropStepCuda, SelectedOnlyAttributionMatchesTheCpu) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    StepFixture c(Device::cpu(), 9), g(dev, 9);
    train::RelDropSettings s = settings("pixel", 0.5f);
    s.lrp_selected_only = true;
    RelDrop rc(s), rg(s);
    Generator gc(5, 300), gg(5, 300);
    Tensor sc = Tensor::empty({9}, DType::I32, Device::cpu()), sg = Tensor::empty({9}, DType::I32, dev);
    const std::vector<float> oc = rc.occlude(*c.model, c.x, c.y, gc, sc).to_vector<float>();
    const std::vector<float> og = rg.occlude(*g.model, g.x, g.y, gg, sg).to_vector<float>();
    EXPECT_EQ(sc.to_vector<int32_t>(), sg.to_vector<int32_t>());
    EXPECT_EQ(gc.offset(), gg.offset());
    EXPECT_EQ(rc.last_attributed(), rg.last_attributed());
    EXPECT_GT(rg.last_attributed(), 0);
    EXPECT_LT(rg.last_attributed(), 9) << "seed 5, offset 300: a strict subset is selected";
    EXPECT_LE(differing_images(oc, og, 9), 1);
}

TEST(RelDropStepCuda, WholeStepCapturesIntoAGraphAndReplaysToTheEagerResult) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    prepare_capture(dev);
    StepFixture f(dev, 8);
    // Per-sample coins: every decision is made on the device, so the graph holds the whole policy.
    RelDrop rd(settings("block", 0.75f, 3, "per_sample"));
    Tensor status = Tensor::empty({8}, DType::I32, dev);
    {  // warm-up: allocator blocks, cuDNN/cuBLAS plans and workspaces, momentum buffers
        Generator w(5);
        for (int i = 0; i < 3; ++i) train::reldrop_train_step(*f.model, *f.opt, rd, f.x, f.y, w, {}, nullptr, status);
        synchronize(dev);
    }
    std::unique_ptr<DeviceGraph> graph;
    auto [eager, replayed] = eager_and_replayed(dev, *f.model, *f.opt, [] {}, [&] {
        Generator g(77, 1000);
        Tensor trained;
        train::StepResult r = train::reldrop_train_step(*f.model, *f.opt, rd, f.x, f.y, g, {}, &trained, status);
        return std::vector<Tensor>{trained, r.loss, status};
    }, "RelDrop step", &graph);
    EXPECT_EQ(replayed.results[2].to_vector<int32_t>(), eager.results[2].to_vector<int32_t>());
    EXPECT_LE(differing_images(replayed.results[0].to_vector<float>(), eager.results[0].to_vector<float>(), 8), 1);
    const float loss = eager.results[1].to_vector<float>()[0];
    EXPECT_NEAR(replayed.results[1].to_vector<float>()[0], loss, 1e-4 * std::fabs(loss) + 1e-6);
    const auto& graph_params = replayed.params;
    ASSERT_EQ(graph_params.size(), eager.params.size());
    for (auto& [k, v] : eager.params) EXPECT_LT(rel_l2(graph_params.at(k), v), 1e-4) << k;
    // The graph stays valid: a second replay trains on from the new weights.
    graph->replay();
    synchronize(dev);
    EXPECT_NE(snapshot(*f.model), graph_params);
}

TEST(RelDropStepCuda, CaptureFailsOnAHostCopyInsideTheRegion) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    set_cuda_sync_debug(false);
    Tensor t = Tensor::zeros({4}, DType::F32, dev);
    synchronize(dev);
    DeviceGraph graph(dev);
    graph.begin_capture();
    try {
        (void)t.to_vector<float>();  // a device-to-host copy with a stream sync: not capturable
    } catch (const Error&) {       // refused at once, or (below) reported by the invalidated capture
    }
    EXPECT_THROW(graph.end_capture(), Error);
}

// A temporary the captured work freed is not handed to a tensor allocated after the capture (the replay
// writes there); once the graph is gone, its blocks are reused again. Blocks cached by earlier tests in this
// process (and the first draw's) may come first, so many tensors are drawn (held, so each is a new block).
TEST(DeviceGraphCuda, CapturedTemporariesStayWithTheGraph) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    set_cuda_sync_debug(false);
    Tensor x = Tensor::from_vector(test::random_vec(4099, 3), {4099}, dev), y = Tensor::empty({4099}, DType::F32, dev);
    auto work = [&] { ops::scale(ops::scale(x, 2.f), 0.5f, y); };  // one temporary, freed inside
    work();
    synchronize(dev);
    const void* temp = nullptr;
    auto draws_temp = [&](int tries) {
        std::vector<Tensor> held;
        for (int i = 0; i < tries; ++i) {
            held.push_back(Tensor::empty({4099}, DType::F32, dev));
            if (held.back().raw_data() == temp) return true;
        }
        return false;
    };
    {
        DeviceGraph graph(dev);
        graph.begin_capture();
        Tensor t = ops::scale(x, 2.f);
        temp = t.raw_data();
        ops::scale(t, 0.5f, y);
        t = Tensor();
        graph.end_capture();
        EXPECT_FALSE(draws_temp(64)) << "a block the graph writes to was handed out";
        Tensor other = Tensor::empty({4099}, DType::F32, dev);
        ops::fill(other, 7.f);
        ops::fill(y, std::numeric_limits<float>::quiet_NaN());  // the eager work() set y: only the replay may
        graph.replay();
        synchronize(dev);
        EXPECT_EQ(other.to_vector<float>(), std::vector<float>(4099, 7.f));
        EXPECT_EQ(y.to_vector<float>(), x.to_vector<float>());
    }
    EXPECT_TRUE(draws_temp(1024)) << "the released pool is reused";
}

// An eager tensor the captured work writes, dropped inside the capture: its block is the graph's too, so
// a tensor allocated after the capture does not get it (a replay would overwrite that tensor).
TEST(DeviceGraphCuda, EagerBlockFreedInsideTheCaptureStaysWithTheGraph) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    set_cuda_sync_debug(false);
    Tensor x = Tensor::from_vector(test::random_vec(4101, 5), {4101}, dev), y = Tensor::empty({4101}, DType::F32, dev);
    Tensor e = Tensor::empty({4101}, DType::F32, dev);
    const void* eager = e.raw_data();
    DeviceGraph graph(dev);
    graph.begin_capture();
    ops::scale(x, 2.f, e);
    ops::scale(e, 0.5f, y);
    e = Tensor();
    graph.end_capture();
    Tensor other = Tensor::empty({4101}, DType::F32, dev);
    EXPECT_NE(other.raw_data(), eager) << "a block the graph writes to was handed out";
    ops::fill(other, 7.f);
    graph.replay();
    synchronize(dev);
    EXPECT_EQ(other.to_vector<float>(), std::vector<float>(4101, 7.f));
    EXPECT_EQ(y.to_vector<float>(), x.to_vector<float>());
}

TEST(DeviceGraphCpu, NeedsACudaDevice) {
    EXPECT_THROW(DeviceGraph g(Device::cpu()), Error);
}
