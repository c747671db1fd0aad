// DType sizes, names, parsing, and the fp16/bf16 <-> fp32 conversions.
#include "lrp/dtype.h"

#include <cstring>

#include "lrp/error.h"

namespace lrp {

size_t dtype_size(DType t) {
    switch (t) {
        case DType::F32: return 4;
        case DType::F64: return 8;
        case DType::F16: return 2;
        case DType::BF16: return 2;
        case DType::I32: return 4;
        case DType::I64: return 8;
        case DType::U8: return 1;
    }
    LRP_THROW("unknown dtype ", static_cast<int>(t));
}

const char* dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "f32";
        case DType::F64: return "f64";
        case DType::F16: return "f16";
        case DType::BF16: return "bf16";
        case DType::I32: return "i32";
        case DType::I64: return "i64";
        case DType::U8: return "u8";
    }
    return "?";
}

DType parse_dtype(const std::string& n) {
    if (n == "f32" || n == "float32" || n == "F32") return DType::F32;
    if (n == "f64" || n == "float64" || n == "F64") return DType::F64;
    if (n == "f16" || n == "float16" || n == "F16") return DType::F16;
    if (n == "bf16" || n == "bfloat16" || n == "BF16") return DType::BF16;
    if (n == "i32" || n == "int32" || n == "I32") return DType::I32;
    if (n == "i64" || n == "int64" || n == "I64") return DType::I64;
    if (n == "u8" || n == "uint8" || n == "U8") return DType::U8;
    LRP_THROW("unknown dtype '", n, "'");
}

static uint32_t bits_of(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
static float float_of(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

float half_to_float(uint16_t h) {
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return float_of(sign);
        // subnormal: value = man * 2^-24
        float v = static_cast<float>(man) * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    if (exp == 31) return float_of(sign | 0x7f800000u | (man << 13));
    return float_of(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t float_to_half(float f) {
    uint32_t u = bits_of(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t absu = u & 0x7fffffffu;
    if (absu >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (absu > 0x7f800000u ? 0x200u : 0));
    if (absu >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
    if (absu < 0x38800000u) {                                                // subnormal or zero in half
        float a = float_of(absu) * 16777216.0f;                              // scale by 2^24
        uint32_t m = static_cast<uint32_t>(a);
        float rem = a - static_cast<float>(m);
        if (rem > 0.5f || (rem == 0.5f && (m & 1u))) ++m;
        return static_cast<uint16_t>(sign | m);
    }
    uint32_t r = absu + 0xfffu + ((absu >> 13) & 1u);  // round to nearest even on bit 13
    r -= 0x38000000u;                                  // rebias 127 -> 15
    return static_cast<uint16_t>(sign | (r >> 13));
}

float bf16_to_float(uint16_t b) { return float_of(static_cast<uint32_t>(b) << 16); }

uint16_t float_to_bf16(float f) {
    uint32_t u = bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>(u >> 16);
}

}  // namespace lrp
