// Weights in the safetensors format (the one PyTorch's `safetensors` writes): load a state dict with
// every byte of the file validated, save one atomically, and check a state dict against a model's
// expected names, shapes and dtypes with one error that lists every problem.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "lrp/dtype.h"
#include "lrp/shape.h"
#include "lrp/tensor.h"

namespace lrp::nn {

// Parameter and buffer name ("layer1.0.conv1.weight") -> tensor. Loaded tensors live on the CPU.
using StateDict = std::map<std::string, Tensor>;

// Reads a safetensors file. Floating tensors (F32, F16, BF16, F64) become F32; integer tensors keep
// their type (I64, I32, U8), e.g. BatchNorm's num_batches_tracked. `metadata`, when given, receives
// the "__metadata__" strings. A truncated or malformed file throws lrp::Error naming the file and
// the problem; nothing is read outside the file or the header.
StateDict load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

// The header alone, validated as load_safetensors validates it but without reading tensor data: each
// tensor's dtype (as it would load) and shape, and the metadata. Cheap for any file size.
struct SafetensorsHeader {
    struct TensorInfo {
        DType dtype = DType::F32;
        Shape shape;
    };
    std::map<std::string, TensorInfo> tensors;
    std::map<std::string, std::string> metadata;
};
SafetensorsHeader read_safetensors_header(const std::string& path);

// Writes `sd` (tensors on any device; copied to the host) as safetensors: names sorted, data in
// name order, each tensor in its own dtype, the data section aligned to 8 bytes. The file is written
// to a temporary file in the same directory, fsync'ed and renamed over `path`, so an existing file
// is either replaced whole or left untouched. Throws lrp::Error on any failure.
void save_safetensors(const std::string& path, const StateDict& sd,
                      const std::map<std::string, std::string>& metadata = {});

struct ParamSpec {
    std::string name;
    Shape shape;
    DType dtype = DType::F32;
};

// Checks `sd` against `expected`; throws ONE lrp::Error listing every missing name, every
// unexpected name (unless allow_unexpected), every wrong shape and every wrong dtype.
void check_state_dict(const StateDict& sd, const std::vector<ParamSpec>& expected, bool allow_unexpected = false);

}  // namespace lrp::nn
