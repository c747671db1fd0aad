// Parameter gradients after zero_grad() are written straight into each parameter's gradient storage (the same
// storage every step, no new tensor and no device copy), with the values of a fresh computation; without zero_grad()
// they add up. Also grad_destination / accumulate_grad on a bare parameter.
#include <limits>
#include <vector>

#include "../kernels/api/conv_algo_stats.h"
#include "lrp/context.h"
#include "lrp/op_profile.h"
#include "lrp/ops/elementwise.h"
#include "lrp_test_util.h"

using namespace lrp;

namespace {
size_t allocations(Device d) {
    const MemoryStats s = memory_stats(d);
    return s.raw_allocs + s.cache_hits;
}

// The op profile on for a scope (unless LRP_OP_PROFILE already is: then `counting` is false).
struct Counting {
    const bool counting = !profile::enabled();
    Counting() {
        if (counting) {
            profile::set_enabled(true);
            profile::reset();
        }
    }
    ~Counting() {
        if (counting) {
            profile::set_enabled(false);
            profile::reset();
        }
    }
    int64_t copies_d2d() const {
        int64_t n = 0;
        for (const profile::Row& r : profile::rows())
            if (r.name == "copy_d2d") n += r.calls;
        return n;
    }
};

// Batch 40 splits the CPU weight gradients of the wide-image layers into slices (slice 0 sums into the gradient
// itself); eval mode takes BatchNorm's eval-mode backward.
void check_in_place(Device dev, bool train) {
    for (const std::string arch : {"resnet18", "vgg11_bn"}) {
        SCOPED_TRACE(arch + " on " + dev.str() + (train ? ", train mode" : ", eval mode"));
        auto model = test::seeded_model(arch, 4, 16, 5, dev);
        model->train(train);
        const Tensor x = test::rand_tensor({40, 3, 16, 16}, 6, -1.f, 1.f, dev);
        const Tensor dy = test::rand_tensor({40, 10}, 7, -1.f, 1.f, dev);
        auto step = [&](bool zero) {
            if (zero) model->zero_grad();
            model->forward(x);
            model->backward(dy, true);
        };
        step(true);
        std::vector<std::vector<float>> first;
        std::vector<const void*> where;
        for (nn::Param* p : model->params()) {
            first.push_back(p->grad.to_vector<float>());
            where.push_back(p->grad.raw_data());
            ops::fill(p->grad, std::numeric_limits<float>::quiet_NaN());  // a gradient not written stays NaN
        }
        const size_t before_zeroed = allocations(dev);
        int64_t copies = 0;
        bool counted = false;
        {
            Counting c;
            step(true);
            copies = c.copies_d2d();
            counted = c.counting;
        }
        const size_t zeroed = allocations(dev) - before_zeroed;
        if (counted) {
            EXPECT_EQ(copies, 0) << "a step copied gradients between device buffers";
        }
        size_t i = 0;
        for (nn::Param* p : model->params()) {
            EXPECT_EQ(p->grad.raw_data(), where[i]) << "gradient storage moved";
            EXPECT_EQ(p->grad.to_vector<float>(), first[i]) << "gradient " << i << " after zero_grad";
            ++i;
        }

        const size_t before_accumulating = allocations(dev);
        step(false);  // accumulates: twice the gradient (x + x is exact), each into a new tensor first
        const size_t accumulating = allocations(dev) - before_accumulating;
        EXPECT_EQ(accumulating - zeroed, model->params().size())
            << "a zeroed step should allocate one tensor fewer per parameter than an accumulating one";
        i = 0;
        for (nn::Param* p : model->params()) {
            const std::vector<float> twice = p->grad.to_vector<float>();
            ASSERT_EQ(twice.size(), first[i].size());
            for (size_t j = 0; j < twice.size(); ++j)
                ASSERT_EQ(twice[j], 2.f * first[i][j]) << "gradient " << i << "[" << j << "] did not accumulate";
            ++i;
        }
    }
}
}  // namespace

TEST(GradInPlaceCpu, ZeroedGradientsAreOverwrittenInPlaceAndOthersAccumulate) {
    check_in_place(Device::cpu(), true);
    check_in_place(Device::cpu(), false);
}

TEST(GradInPlaceCpu, DestinationIsTheGradientOnlyWhileZeroed) {
    nn::Param p;
    p.value = test::rand_tensor({2, 3}, 1);
    Tensor g = nn::grad_destination(p, Device::cpu());  // no gradient yet: a new tensor of the parameter's shape
    ASSERT_TRUE(g.defined());
    EXPECT_EQ(g.shape(), p.value.shape());
    EXPECT_FALSE(g.shares_storage_with(p.value));
    ops::fill(g, 1.f);
    nn::accumulate_grad(p, g);  // adopted
    ASSERT_TRUE(p.grad.defined());
    EXPECT_FALSE(p.grad_is_zero);
    Tensor other = nn::grad_destination(p, Device::cpu());
    EXPECT_NE(other.raw_data(), p.grad.raw_data()) << "handed the gradient out while it holds a value";
    EXPECT_THROW(nn::accumulate_grad(p, p.grad), Error) << "adding the gradient to itself";
    p.grad_is_zero = true;
    Tensor own = nn::grad_destination(p, Device::cpu());
    EXPECT_EQ(own.raw_data(), p.grad.raw_data());
    ops::fill(own, 3.f);
    nn::accumulate_grad(p, own);
    EXPECT_FALSE(p.grad_is_zero);
    EXPECT_EQ(p.grad.to_vector<float>(), std::vector<float>(6, 3.f));
    p.grad = test::rand_tensor({6}, 2);  // a gradient of another shape is never handed out
    p.grad_is_zero = true;
    EXPECT_NE(nn::grad_destination(p, Device::cpu()).raw_data(), p.grad.raw_data());
}

TEST(GradInPlaceCuda, ZeroedGradientsAreOverwrittenInPlaceWithoutCopies) {
    LRP_SKIP_WITHOUT_CUDA();
    check_in_place(Device::cuda(0), true);
    check_in_place(Device::cuda(0), false);
    // Convolutions split into several calls (the second adds into the gradient with beta 1).
    struct Limit {
        Limit() { kernels::set_conv_max_call_elements(4096); }
        ~Limit() { kernels::set_conv_max_call_elements(0); }
    } limit;
    check_in_place(Device::cuda(0), true);
}
