// Backend selection: ops_for(device) returns the table of that device's backend (the only place in
// kernels/ that tests LRP_HAVE_CUDA), and the missing-entry error.
#include "lrp/config.h"
#include "lrp/error.h"
#include "lrp/kernels/ops.h"

namespace lrp::kernels {

#if LRP_HAVE_CUDA
const OpTable& cuda_ops_impl();
#endif

const OpTable& cuda_ops() {
#if LRP_HAVE_CUDA
    return cuda_ops_impl();
#else
    LRP_THROW("the CUDA op table was requested, but lrpcu was built without CUDA");
#endif
}

const OpTable& ops_for(Device d) {
    if (d.is_cpu()) return cpu_ops();
    require_device(d);
    return cuda_ops();
}

void throw_missing_op(const char* name, const char* backend) {
    LRP_THROW(name, ": not implemented for the ", backend, " backend");
}

}  // namespace lrp::kernels
