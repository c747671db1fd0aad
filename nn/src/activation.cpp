// ReLU, Flatten and Dropout forward/backward.
#include "lrp/nn/activation.h"

#include "lrp/nvtx.h"
#include "lrp/ops/channel.h"
#include "lrp/ops/elementwise.h"

namespace lrp::nn {

const Tensor& ReLU::saved_input() const {
    LRP_CHECK(x_.defined(), "ReLU '", name(), "': no stored input (run forward first)");
    return x_;
}

Tensor ReLU::forward(const Tensor& x) {
    LRP_NVTX_RANGE("ReLU.forward");
    x_ = x;
    extra_dy_ = Tensor();
    Tensor y = Tensor::empty(x.shape(), DType::F32, x.device());
    ops::relu_fwd(x, y);
    return y;
}

void ReLU::add_output_grad(const Tensor& g) {
    LRP_CHECK(g.shape() == saved_input().shape(), "ReLU '", name(), "': output gradient ", g.shape().str(),
              " for an output of ", x_.shape().str());
    extra_dy_ = extra_dy_.defined() ? ops::add(extra_dy_, g) : g;
}

Tensor ReLU::backward(const Tensor& dy, bool) {
    Tensor dx = Tensor::empty(dy.shape(), DType::F32, dy.device());
    ops::relu_bwd(saved_input(), extra_dy_.defined() ? ops::add(dy, extra_dy_) : dy, dx);
    extra_dy_ = Tensor();
    return dx;
}

Tensor Flatten::forward(const Tensor& x) {
    LRP_CHECK(x.ndim() >= 1, "Flatten: input has no dimensions");
    in_shape_ = x.shape();
    return x.reshape({x.dim(0), x.dim(0) == 0 ? 0 : x.numel() / x.dim(0)});
}

Tensor Flatten::backward(const Tensor& dy, bool) {
    LRP_CHECK(in_shape_.ndim() > 0, "Flatten: backward before forward");
    return dy.reshape(in_shape_);
}

Dropout::Dropout(float p_) : p(p_) {
    LRP_CHECK(p_ >= 0.f && p_ < 1.f, "Dropout: p must be in [0, 1) (got ", p_, ")");
}

Tensor Dropout::forward(const Tensor& x) {
    if (!training_ || p == 0.f) {
        mask_ = Tensor();
        return x;
    }
    LRP_NVTX_RANGE("Dropout.forward");
    mask_ = Tensor::empty(x.shape(), DType::F32, x.device());
    ops::dropout_mask(mask_, stream(), p);
    return ops::mul(x, mask_);
}

Generator& Dropout::stream() {
    if (gen_) return *gen_;
    if (!own_seeded_) {  // FNV-1a of the name: distinct, reproducible streams per layer
        uint64_t h = 0xcbf29ce484222325ull;
        for (unsigned char ch : name()) h = (h ^ ch) * 0x100000001b3ull;
        own_gen_ = Generator(h ^ 0x5eed);
        own_seeded_ = true;
    }
    return own_gen_;
}

Tensor Dropout::backward(const Tensor& dy, bool) {
    if (!mask_.defined()) return dy;
    return ops::mul(dy, mask_);
}

int set_dropout_generator(Module& root, Generator* g) {
    int n = 0;
    for (Module* m : root.leaves())
        if (auto* d = dynamic_cast<Dropout*>(m)) {
            d->set_generator(g);
            ++n;
        }
    return n;
}

}  // namespace lrp::nn
