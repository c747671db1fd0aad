// RAII owners for cuDNN legacy descriptors (tensor, filter, convolution), CUDA builds only. Destruction
// never throws; creation and setting are checked with LRP_CUDNN_CHECK.
#pragma once
#include <cudnn.h>

#include "lrp/cuda/cuda_check.h"

namespace lrp::kernels::cuda {

template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class CudnnDesc {
public:
    CudnnDesc() { LRP_CUDNN_CHECK(Create(&d_)); }
    ~CudnnDesc() {
        if (d_) (void)Destroy(d_);
    }
    CudnnDesc(const CudnnDesc&) = delete;
    CudnnDesc& operator=(const CudnnDesc&) = delete;
    T get() const { return d_; }
    operator T() const { return d_; }  // NOLINT: used directly as a cuDNN argument

private:
    T d_ = nullptr;
};

using TensorDesc = CudnnDesc<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = CudnnDesc<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc = CudnnDesc<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                           cudnnDestroyConvolutionDescriptor>;

// Fully packed fp32 NCHW tensor n x c x h x w.
inline void set_nchw(const TensorDesc& t, int n, int c, int h, int w) {
    LRP_CUDNN_CHECK(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
}

// fp32 filter k x c x r x s (PyTorch's K x C/groups x R x S layout).
inline void set_filter(const FilterDesc& f, int k, int c, int r, int s) {
    LRP_CUDNN_CHECK(cudnnSetFilter4dDescriptor(f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, r, s));
}

}  // namespace lrp::kernels::cuda
