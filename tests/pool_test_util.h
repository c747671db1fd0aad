// Helpers shared by the pooling tests: a descriptor's input/output shapes, the average-pool front ends
// run on host vectors, and the CUDA-vs-CPU comparison of the average-pool entries.
#pragma once
#include <vector>

#include "lrp/kernels/ops.h"
#include "lrp/ops/pool.h"
#include "test_util.h"

namespace lrp::test {

inline Shape pool_in_shape(const kernels::Pool2dDesc& d) { return Shape{d.N, d.C, d.H, d.W}; }
inline Shape pool_out_shape(const kernels::Pool2dDesc& d) { return Shape{d.N, d.C, d.P(), d.Q()}; }

inline std::vector<float> run_avg(const kernels::Pool2dDesc& d, const std::vector<float>& x) {
    Tensor y = poisoned(pool_out_shape(d));
    ops::avgpool_fwd(d, Tensor::from_vector(x, pool_in_shape(d)), y);
    return y.to_vector<float>();
}
inline std::vector<float> run_avg_bwd(const kernels::Pool2dDesc& d, const std::vector<float>& dy) {
    Tensor dx = poisoned(pool_in_shape(d));
    ops::avgpool_bwd(d, Tensor::from_vector(dy, pool_out_shape(d)), dx);
    return dx.to_vector<float>();
}

// The CUDA avg-pool entries against the CPU ones on random input (seeded), outputs guarded against
// out-of-bounds writes; `what` names the case in failures.
inline void expect_cuda_avg_matches_cpu(const kernels::Pool2dDesc& d, uint32_t seed, const std::string& what) {
    const Device dev = Device::cuda(0);
    const kernels::OpTable &cpu = kernels::cpu_ops(), &gpu = kernels::cuda_ops();
    const int64_t nin = pool_in_shape(d).numel(), nout = pool_out_shape(d).numel();
    std::vector<float> x = random_vec(nin, seed), dy = random_vec(nout, seed + 1);
    std::vector<float> y(nout), dx(nin);
    cpu.avgpool_fwd(kernel_ctx(Device::cpu()), d, x.data(), y.data());
    cpu.avgpool_bwd(kernel_ctx(Device::cpu()), d, dy.data(), dx.data());
    Tensor xd = Tensor::from_vector(x, pool_in_shape(d), dev), dyd = Tensor::from_vector(dy, pool_out_shape(d), dev);
    Guarded<float> gy(dev, nout), gdx(dev, nin);
    gpu.avgpool_fwd(kernel_ctx(dev), d, xd.data<float>(), gy.ptr());
    gpu.avgpool_bwd(kernel_ctx(dev), d, dyd.data<float>(), gdx.ptr());
    EXPECT_TRUE(all_close(gy.read(), y)) << what;
    EXPECT_TRUE(all_close(gdx.read(), dx)) << what;
    EXPECT_TRUE(gy.guards_intact() && gdx.guards_intact()) << what;
}

}  // namespace lrp::test
