// BasicBlock / Bottleneck construction (torchvision names) and the residual forward, backward,
// relevance (copy or contribution-proportional split of the sum's relevance) and relevance adjoint.
#include "lrp/nn/residual.h"

#include "lrp/nvtx.h"
#include "lrp/ops/elementwise.h"

namespace lrp::nn {

void ResidualBlock::finish(std::unique_ptr<Sequential> main, std::unique_ptr<Sequential> downsample) {
    main_ = std::move(main);
    downsample_ = std::move(downsample);
    for (auto& [n, c] : main_->named_children()) register_child(n, *c);
    if (downsample_) register_child("downsample", *downsample_);
    register_child("relu_out", relu_out_);
}

Tensor ResidualBlock::forward(const Tensor& x) {
    LRP_NVTX_RANGE(type());
    main_out_ = main_->forward(x);
    short_out_ = downsample_ ? downsample_->forward(x) : x;
    LRP_CHECK(main_out_.shape() == short_out_.shape(), type(), " '", name(), "': branch shapes differ (",
              main_out_.shape().str(), " vs ", short_out_.shape().str(), ")");
    return relu_out_.forward(ops::add(main_out_, short_out_));
}

Tensor ResidualBlock::backward(const Tensor& dy, bool acc) {
    Tensor ds = relu_out_.backward(dy, acc);
    Tensor dx = main_->backward(ds, acc);
    Tensor dshort = downsample_ ? downsample_->backward(ds, acc) : ds;
    ops::add(dx, dshort, dx);
    return dx;
}

// Both branches see the block's input; the ReLU after the sum makes the output non-negative.
bool ResidualBlock::nonneg_output(bool input_nonneg, std::unordered_set<const Module*>& nonneg_inputs) const {
    main_->nonneg_output(input_nonneg, nonneg_inputs);
    if (downsample_) downsample_->nonneg_output(input_nonneg, nonneg_inputs);
    return relu_out_.nonneg_output(false, nonneg_inputs);
}

Tensor ResidualBlock::relevance(const Tensor& r, RelevancePolicy& policy) {
    Tensor rs = relu_out_.relevance(r, policy);
    Tensor r_main = rs, r_short = rs;
    last_split_ = policy.split_residual();
    if (last_split_) {
        // Norm rule on the sum: R_k = x_k * R / stab(x_main + x_short).
        Tensor t = Tensor::empty(rs.shape(), DType::F32, rs.device());
        ops::lrp_eps_div(rs, relu_out_.saved_input(), policy.residual_stabilizer(), t);
        r_main = ops::mul(main_out_, t);
        r_short = ops::mul(short_out_, t);
    }
    Tensor a = main_->relevance(r_main, policy);
    Tensor b = downsample_ ? downsample_->relevance(r_short, policy) : r_short;
    ops::add(a, b, a);
    return a;
}

// relevance() fanned the sum's relevance out to both branches and summed their input relevances; the
// adjoint sends h into both branches and sums what comes out at the sum, then through relu_out.
Tensor ResidualBlock::relevance_adjoint(const Tensor& h, RelevanceAdjoint& adj) {
    LRP_CHECK(!last_split_, type(), " '", name(), "': the adjoint of the split residual rule is not implemented; "
              "differentiate a pass that copies the sum's relevance");
    Tensor m = main_->relevance_adjoint(h, adj);
    Tensor s = downsample_ ? downsample_->relevance_adjoint(h, adj) : h;
    return relu_out_.relevance_adjoint(ops::add(m, s), adj);
}

void ResidualBlock::clear_saved() {
    main_->clear_saved();
    if (downsample_) downsample_->clear_saved();
    relu_out_.clear_saved();
    main_out_ = Tensor();
    short_out_ = Tensor();
}

namespace {
std::unique_ptr<Sequential> projection(int in_planes, int out_planes, int stride) {
    if (stride == 1 && in_planes == out_planes) return nullptr;
    auto ds = std::make_unique<Sequential>();
    ds->emplace<Conv2d>("0", in_planes, out_planes, 1, stride, 0, false);
    ds->emplace<BatchNorm2d>("1", out_planes);
    return ds;
}
}  // namespace

BasicBlock::BasicBlock(int in_planes, int planes, int stride) {
    auto m = std::make_unique<Sequential>();
    m->emplace<Conv2d>("conv1", in_planes, planes, 3, stride, 1, false);
    m->emplace<BatchNorm2d>("bn1", planes);
    m->emplace<ReLU>("relu");
    m->emplace<Conv2d>("conv2", planes, planes, 3, 1, 1, false);
    m->emplace<BatchNorm2d>("bn2", planes);
    finish(std::move(m), projection(in_planes, planes * kExpansion, stride));
}

Bottleneck::Bottleneck(int in_planes, int planes, int stride) {
    auto m = std::make_unique<Sequential>();
    m->emplace<Conv2d>("conv1", in_planes, planes, 1, 1, 0, false);
    m->emplace<BatchNorm2d>("bn1", planes);
    m->emplace<ReLU>("relu");
    m->emplace<Conv2d>("conv2", planes, planes, 3, stride, 1, false);
    m->emplace<BatchNorm2d>("bn2", planes);
    m->emplace<ReLU>("relu2");
    m->emplace<Conv2d>("conv3", planes, planes * kExpansion, 1, 1, 0, false);
    m->emplace<BatchNorm2d>("bn3", planes * kExpansion);
    finish(std::move(m), projection(in_planes, planes * kExpansion, stride));
}

}  // namespace lrp::nn
