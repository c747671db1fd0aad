// The relevance pass runs entirely on the device: after eager warm-up calls, attribute() with every named
// composite (ZBox bounds per channel, or as host tensors; label targets, and a fixed class for one)
// captures into a CUDA graph, which fails on any host synchronisation or upload, without a raw device
// allocation, and the replay reproduces the eager map. CPU: ZBox's per-channel bound cache follows the
// values and the device.
#include <limits>

#include "lrp/context.h"
#include "lrp/graph.h"
#include "lrp/lrp/attribution.h"
#include "lrp/lrp/composites.h"
#include "lrp/lrp/rules.h"
#include "lrp/nn/models.h"
#include "lrp/ops/elementwise.h"
#include "lrp_test_util.h"

using namespace lrp;
using namespace lrp::explain;

TEST(LrpCpuBound, ChannelCacheFollowsTheValues) {
    Bound b = Bound::channels({-1.f, 0.5f});
    const Shape s{2, 2, 3, 3};
    std::vector<float> first = b.expand(s, Device::cpu()).to_vector<float>();
    EXPECT_EQ(first[0], -1.f);
    EXPECT_EQ(first[9], 0.5f);
    EXPECT_EQ(b.expand(s, Device::cpu()).to_vector<float>(), first) << "cached: same values";
    Bound copy = b;  // shares the cache; its values may differ
    copy.per_channel = {2.f, 3.f};
    EXPECT_EQ(copy.expand(s, Device::cpu()).to_vector<float>()[9], 3.f);
    EXPECT_EQ(b.expand(s, Device::cpu()).to_vector<float>(), first) << "the original's values, not the copy's";
    EXPECT_THROW(b.expand({2, 3, 3, 3}, Device::cpu()), Error) << "channel count mismatch";
}

TEST(LrpCudaCapture, EveryNamedCompositeCapturesAndReplays) {
    LRP_SKIP_WITHOUT_CUDA();
    const Device dev = Device::cuda(0);
    set_cuda_sync_debug(false);  // LRP_CUDA_SYNC=1 synchronises after each launch: not capturable
    for (const std::string arch : {"resnet18", "vgg11_bn"}) {
        auto model = test::seeded_model(arch, 8, 16, 3, dev);
        Tensor x = test::rand_tensor({4, 3, 16, 16}, 4, -1.f, 1.f, dev);
        Tensor labels = Tensor::from_vector(std::vector<int32_t>{1, 3, 5, 7}, {4}, dev);
        std::vector<std::string> names = known_composites();
        names.push_back("epsilon_gamma_box+host_tensor_bounds");
        for (const std::string& name : names) {
            SCOPED_TRACE(arch + " / " + name);
            CompositeOptions o;
            o.low = Bound::channels({-2.f, -1.9f, -1.8f});
            o.high = Bound::channels({2.f, 2.1f, 2.2f});
            const bool host_tensors = name.find("host_tensor") != std::string::npos;
            if (host_tensors) {  // full bounds given as host tensors with a batch dim of 1
                o.low = Bound::tensor(ops::full({1, 3, 16, 16}, -2.5f));
                o.high = Bound::tensor(ops::full({1, 3, 16, 16}, 2.5f));
            }
            Composite c = make_composite(host_tensors ? "epsilon_gamma_box" : name, o);
            // A fixed class's indices are uploaded by the eager call and cached in the target.
            const Target target = name == "epsilon_plus" ? Target::class_index(2) : Target::label(labels);
            Tensor eager = attribute(*model, x, target, c);  // warms the caches
            // One pass need not leave the best-fit cache in its steady state (a block the next pass wants may
            // have gone to a smaller request): repeat until a pass (its result held, as below) allocates nothing.
            bool steady = false;
            for (int pass = 0; pass < 4 && !steady; ++pass) {
                const size_t before = memory_stats(dev).raw_allocs;
                Tensor again = attribute(*model, x, target, c);
                steady = memory_stats(dev).raw_allocs == before;
            }
            EXPECT_TRUE(steady) << "repeated eager passes keep allocating device memory";
            Tensor out;
            DeviceGraph graph(dev);
            const size_t raw0 = memory_stats(dev).raw_allocs;
            graph.begin_capture();
            try {
                out = attribute(*model, x, target, c);
            } catch (const Error& e) {
                ADD_FAILURE() << "not capturable (it synchronises, uploads or allocates): " << e.what();
            }
            ASSERT_NO_THROW(graph.end_capture());
            EXPECT_EQ(memory_stats(dev).raw_allocs, raw0) << "the captured pass allocated device memory (cudaMalloc): "
                                                             "after the eager calls it must be served from the cache";
            EXPECT_GT(graph.nodes(), 10u) << "the capture recorded (almost) no kernels";
            // The captured pass wrote nothing yet, but its output block may be one an eager pass left its map in:
            // poisoned, so only the replay can make it equal the eager map.
            ops::fill(out, std::numeric_limits<float>::quiet_NaN());
            graph.replay();
            synchronize(dev);
            // cuDNN may pick backward-data algorithms with atomics, so equal up to summation order; the
            // RelDrop composite (copied residuals) amplifies that rounding (see test_lrp_golden.cpp).
            EXPECT_LE(test::rel_l2(out, eager), name == "reldrop" ? 1e-2 : 1e-5) << "replay equals the eager pass";
        }
    }
}
