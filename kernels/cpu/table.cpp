// The CPU op table: the reference backend; every entry is implemented here.
#include "families.h"

namespace lrp::kernels {

const OpTable& cpu_ops() {
    static const OpTable table = [] {
        OpTable t;
        t.backend = "cpu";
        cpu::register_elementwise(t);
        cpu::register_rng(t);
        cpu::register_reduce(t);
        cpu::register_softmax_xent(t);
        cpu::register_optim(t);
        cpu::register_gemm(t);
        cpu::register_conv2d(t);
        cpu::register_batchnorm(t);
        cpu::register_pool(t);
        cpu::register_channel(t);
        cpu::register_metrics(t);
        cpu::register_augment(t);
        cpu::register_reldrop(t);
        cpu::register_occlusion(t);
        cpu::register_edda(t);
        cpu::register_isnet_loss(t);
        cpu::register_sgt(t);
        return t;
    }();
    return table;
}

}  // namespace lrp::kernels
