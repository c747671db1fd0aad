// The op tables: the CPU table is complete; a missing entry is a named error, never a fallback;
// asking for the CUDA table without a device (or CUDA build) is a clear error.
#include "lrp/config.h"
#include "lrp/kernels/ops.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::kernels;

namespace {
// Every function-pointer slot of an OpTable, by name (kept in step with ops.h by the size check).
std::vector<std::pair<const char*, const void*>> entries(const OpTable& t) {
    std::vector<std::pair<const char*, const void*>> e;
#define E(name) e.emplace_back(#name, reinterpret_cast<const void*>(t.name))
    E(fill); E(add); E(mul); E(scale); E(axpy); E(relu_fwd); E(relu_bwd); E(clamp); E(sigmoid_mul); E(lrp_stabilize);
    E(lrp_eps_div); E(bias_add); E(expand_rows); E(rng_uniform); E(rng_normal); E(channel_affine); E(pixel_scale); E(bn_eval_affine); E(dropout_mask); E(augment_batch); E(random_erasing);
    E(channel_sum); E(topk_rows); E(reldrop_pixel); E(reldrop_boxes); E(occlude_patches); E(edda_select);
    E(fill_windows); E(isnet_heat_loss); E(isnet_pick_class); E(isnet_selective); E(gwrp_rows); E(sgt_keys); E(sgt_fill); E(sgt_kl);
    E(reduce_rows);
    E(argmax_rows); E(reduce_channels); E(count_equal); E(softmax_xent); E(sgd_update); E(adamw_update); E(clip_coef);
    E(gemm);
    E(conv2d_fwd); E(conv2d_dgrad); E(conv2d_wgrad); E(bn_fwd_train); E(bn_fwd_eval); E(bn_bwd);
    E(maxpool_fwd); E(maxpool_bwd); E(maxpool_gather); E(avgpool_fwd); E(avgpool_bwd);
#undef E
    return e;
}
}  // namespace

TEST(OpTableCpu, EveryEntryIsImplemented) {
    const OpTable& t = cpu_ops();
    auto e = entries(t);
    // If this fails, an entry was added to OpTable without being listed above.
    EXPECT_EQ(e.size() * sizeof(void*), sizeof(OpTable) - sizeof(const char*));
    for (auto& [name, fn] : e) EXPECT_NE(fn, nullptr) << name << " missing from the CPU table";
    EXPECT_STREQ(t.backend, "cpu");
}

TEST(OpTableCpu, MissingEntryIsANamedError) {
    OpTable t;
    t.backend = "test";
    try {
        require_op(t.conv2d_fwd, "conv2d_fwd", t);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("conv2d_fwd: not implemented for the test backend"), std::string::npos)
            << e.what();
    }
}

TEST(OpTableCpu, CudaTableWithoutDeviceIsAnError) {
    if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
    EXPECT_THROW(ops_for(Device::cuda(0)), Error);
    if (!LRP_HAVE_CUDA) {
        EXPECT_THROW(cuda_ops(), Error);
    }
}

TEST(OpTableCuda, EveryEntryIsImplemented) {
    LRP_SKIP_WITHOUT_CUDA();
    for (auto& [name, fn] : entries(cuda_ops())) EXPECT_NE(fn, nullptr) << name << " missing from the CUDA table";
}

// The table entries check what would run out of bounds, as the CUDA ones do (the front ends check it first).
TEST(OpTableCpu, SelectionEntriesRefuseImpossibleSizes) {
    const OpTable& t = cpu_ops();
    const KernelCtx ctx{};
    const float x[3] = {1.f, 3.f, 2.f};
    int32_t idx[4] = {-1, -1, -1, -1};
    float vals[4] = {};
    EXPECT_THROW(t.topk_rows(ctx, x, 1, 3, 4, idx, vals), Error) << "k > cols";
    EXPECT_THROW(t.topk_rows(ctx, x, 1, 3, 0, idx, vals), Error) << "k = 0";
    EXPECT_THROW(t.argmax_rows(ctx, x, 1, 0, idx), Error) << "no columns";
    t.topk_rows(ctx, x, 1, 3, 3, idx, vals);
    EXPECT_EQ(idx[0], 1);
    EXPECT_EQ(idx[2], 0);
    t.argmax_rows(ctx, x, 1, 3, idx);
    EXPECT_EQ(idx[0], 1);
}
