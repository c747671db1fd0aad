// The op profile (LRP_OP_PROFILE): every op-table call and device copy counted under its name and device while it
// is on, nothing while it is off, and nothing inside a CUDA graph capture (which it must not break).
#include <algorithm>
#include <limits>

#include "lrp/context.h"
#include "lrp/graph.h"
#include "lrp/op_profile.h"
#include "lrp/ops/elementwise.h"
#include "lrp_test_util.h"

using namespace lrp;

namespace {
// The row of (device, name), or one with 0 calls.
profile::Row row(const std::string& device, const std::string& name) {
    for (const profile::Row& r : profile::rows())
        if (r.device == device && r.name == name) return r;
    return {device, name, 0, 0.0};
}
struct ProfileOn {
    ProfileOn() {
        profile::set_enabled(true);
        profile::reset();
    }
    ~ProfileOn() {
        profile::set_enabled(false);
        profile::reset();
    }
};
}  // namespace

TEST(OpProfileCpu, CountsEachCallByNameOnlyWhileOn) {
    if (profile::enabled()) GTEST_SKIP() << "LRP_OP_PROFILE is set: the profile cannot be turned off";
    const Tensor a = test::rand_tensor({3, 5, 7}, 1), b = test::rand_tensor({3, 5, 7}, 2);
    const Tensor y = Tensor::empty({3, 5, 7});
    const Tensor big = test::rand_tensor({1 << 20}, 3), big_y = Tensor::empty({1 << 20});
    {
        ProfileOn on;
        for (int i = 0; i < 3; ++i) ops::add(a, b, y);
        ops::relu_fwd(a, y);
        ops::relu_fwd(b, y);
        ops::scale(big, 2.f, big_y);
        EXPECT_EQ(row("cpu", "add").calls, 3);
        EXPECT_EQ(row("cpu", "relu_fwd").calls, 2);
        EXPECT_GT(row("cpu", "scale").total_ms, 0.0) << "a million-element op took no time";
        const std::string table = profile::report();
        EXPECT_NE(table.find("op profile"), std::string::npos) << table;
        EXPECT_NE(table.find("add"), std::string::npos) << table;
        EXPECT_NE(table.find("relu_fwd"), std::string::npos) << table;
        profile::set_enabled(false);
        ops::add(a, b, y);
        EXPECT_EQ(row("cpu", "add").calls, 3) << "a call while the profile is off was counted";
    }
    EXPECT_TRUE(profile::rows().empty()) << "reset() left rows";
    EXPECT_NE(profile::report().find("(no op ran)"), std::string::npos);
}

TEST(OpProfileCuda, TimesOpsAndCopiesAndSkipsGraphCaptures) {
    LRP_SKIP_WITHOUT_CUDA();
    if (profile::enabled()) GTEST_SKIP() << "LRP_OP_PROFILE is set: the counts would include other calls";
    const Device dev = Device::cuda(0);
    set_cuda_sync_debug(false);  // a capture below
    const Tensor ha = test::rand_tensor({4, 33}, 3), hb = test::rand_tensor({4, 33}, 4);
    const Tensor a = ha.to(dev), b = hb.to(dev);  // uploaded before the profile is on
    const Tensor y = Tensor::empty({4, 33}, DType::F32, dev);
    ops::add(a, b, y);  // warms the allocator for the capture below
    ProfileOn on;
    const Tensor a2 = ha.to(dev);
    ops::add(a2, b, y);
    ops::add(a, b, y);
    const std::vector<float> back = y.to(Device::cpu()).to_vector<float>();
    EXPECT_EQ(row(dev.str(), "copy_h2d").calls, 1);
    EXPECT_EQ(row(dev.str(), "add").calls, 2);
    EXPECT_GE(row(dev.str(), "copy_d2h").calls, 1);
    EXPECT_EQ(row("cpu", "add").calls, 0) << "a CUDA op was counted on the CPU";
    const Tensor big = Tensor::empty({1 << 20}, DType::F32, dev);
    ops::fill(big, 1.f);
    EXPECT_GT(row(dev.str(), "fill").total_ms, 0.0) << "a million-element op took no device time";
    const std::vector<float> va = ha.to_vector<float>(), vb = hb.to_vector<float>();
    for (size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], va[i] + vb[i]) << i;

    DeviceGraph graph(dev);
    graph.begin_capture();
    ops::add(a, b, y);
    ops::add(a, b, y);
    ASSERT_NO_THROW(graph.end_capture()) << "timing events broke the capture";
    EXPECT_EQ(row(dev.str(), "add").calls, 2) << "calls inside a capture were timed";
    ops::fill(y, std::numeric_limits<float>::quiet_NaN());
    graph.replay();
    const std::vector<float> replayed = y.to(Device::cpu()).to_vector<float>();
    for (size_t i = 0; i < replayed.size(); ++i) ASSERT_EQ(replayed[i], va[i] + vb[i]) << i;
    EXPECT_EQ(row(dev.str(), "add").calls, 2) << "a replay is not an op-table call";

    // Past the batch of timings read at once (1024): every call is counted and timed, the event pairs reused.
    for (int i = 0; i < 2500; ++i) ops::add(a, b, y);
    EXPECT_EQ(row(dev.str(), "add").calls, 2502);
    EXPECT_EQ(row(dev.str(), "(untimed: event error)").calls, 0);
}
