// NumPy .npy arrays (format 1.0, 2.0, 3.0; C or Fortran order; little-endian) to and from CPU tensors: the inputs
// and labels `lrpcu explain` takes and the relevance it writes.
#pragma once
#include <string>

#include "lrp/tensor.h"

namespace lrp::data {

// Reads float32, int32 and int64 arrays as they are, float64 converted to float32 (a value outside the
// float32 range is an error), 8/16-bit integers widened to int32, uint32/uint64 to int64 (a uint64 value
// beyond int64 is an error). A Fortran-order array comes back in C order (the same array). Any malformed
// header, unsupported dtype, more dimensions than a Shape holds, or a data size that differs from what the
// header declares is an lrp::Error naming the file and the problem.
Tensor read_npy(const std::string& path);

// Writes an F32, I32 or I64 tensor (any device) through a temporary file and a rename, so an existing
// file survives a failed write.
void write_npy(const std::string& path, const Tensor& t);

}  // namespace lrp::data
