// The CUDA op table (CUDA builds only); entries are tested against the CPU table.
#include "families.h"

namespace lrp::kernels {

const OpTable& cuda_ops_impl() {
    static const OpTable table = [] {
        OpTable t;
        t.backend = "cuda";
        cuda::register_elementwise(t);
        cuda::register_rng(t);
        cuda::register_reduce(t);
        cuda::register_softmax_xent(t);
        cuda::register_optim(t);
        cuda::register_gemm(t);
        cuda::register_conv2d(t);
        cuda::register_batchnorm(t);
        cuda::register_pool(t);
        cuda::register_channel(t);
        cuda::register_metrics(t);
        cuda::register_augment(t);
        cuda::register_reldrop(t);
        cuda::register_occlusion(t);
        cuda::register_edda(t);
        cuda::register_isnet_loss(t);
        cuda::register_sgt(t);
        return t;
    }();
    return table;
}

}  // namespace lrp::kernels
