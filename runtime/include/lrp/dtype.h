// Element types of lrpcu tensors: fp32 is the compute type; fp16/bf16 are storage types for now
// (weights import/export, later mixed precision); integer types hold labels, indices and raw images.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace lrp {

enum class DType : uint8_t { F32, F64, F16, BF16, I32, I64, U8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
DType parse_dtype(const std::string& name);  // "f32"/"float32", ...; throws on an unknown name

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::I32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::I64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::U8; };

// IEEE half and bfloat16 conversions (round to nearest even), used for weight import/export.
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
float bf16_to_float(uint16_t b);
uint16_t float_to_bf16(float f);

}  // namespace lrp
