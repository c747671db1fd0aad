// Parameter gradients after zero_grad() are written straight into each parameter's gradient storage (the same
// storage every step, no device copy), with the values of a fresh computation; without zero_grad() they add up.
#include <vector>

#include "lrp/context.h"
#include "lrp/op_profile.h"
#include "lrp_test_util.h"

using namespace lrp;

namespace {
void check_in_place(Device dev) {
    for (const std::string arch : {"resnet18", "vgg11_bn"}) {
        SCOPED_TRACE(arch + " on " + dev.str());
        auto model = test::seeded_model(arch, 4, 16, 5, dev);
        const Tensor x = test::rand_tensor({3, 3, 16, 16}, 6, -1.f, 1.f, dev);
        const Tensor dy = test::rand_tensor({3, 10}, 7, -1.f, 1.f, dev);
        auto step = [&](bool zero) {
            if (zero) model->zero_grad();
            model->forward(x);
            model->backward(dy, true);
        };
        auto grads = [&] {
            std::vector<std::vector<float>> v;
            for (nn::Param* p : model->params()) v.push_back(p->grad.to_vector<float>());
            return v;
        };
        step(true);
        const auto first = grads();
        std::vector<const void*> where;
        for (nn::Param* p : model->params()) where.push_back(p->grad.raw_data());

        const bool profiled = !profile::enabled();  // LRP_OP_PROFILE set: other calls count too, skip the count
        if (profiled) {
            profile::set_enabled(true);
            profile::reset();
        }
        step(true);
        int64_t copies = 0;
        for (const profile::Row& r : profile::rows())
            if (r.name == "copy_d2d") copies += r.calls;
        if (profiled) {
            profile::set_enabled(false);
            profile::reset();
            EXPECT_EQ(copies, 0) << "a step copied gradients between device buffers";
        }
        size_t i = 0;
        for (nn::Param* p : model->params()) {
            EXPECT_EQ(p->grad.raw_data(), where[i]) << "gradient storage moved";
            EXPECT_EQ(p->grad.to_vector<float>(), first[i]) << "gradient " << i << " after zero_grad";
            ++i;
        }

        step(false);  // accumulates: twice the gradient (x + x is exact)
        const auto twice = grads();
        for (size_t k = 0; k < first.size(); ++k) {
            ASSERT_EQ(twice[k].size(), first[k].size());
            for (size_t j = 0; j < first[k].size(); ++j)
                ASSERT_EQ(twice[k][j], 2.f * first[k][j]) << "gradient " << k << "[" << j << "] did not accumulate";
        }
    }
}
}  // namespace

TEST(GradInPlaceCpu, ZeroedGradientsAreOverwrittenInPlaceAndOthersAccumulate) { check_in_place(Device::cpu()); }

TEST(GradInPlaceCuda, ZeroedGradientsAreOverwrittenInPlaceWithoutCopies) {
    LRP_SKIP_WITHOUT_CUDA();
    check_in_place(Device::cuda(0));
}
