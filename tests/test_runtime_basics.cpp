// Runtime basics: error messages carry file:line and the expression; shapes; dtypes and fp16/bf16
// conversions; device parsing and the probe's behaviour in this build.
#include <cmath>

#include "lrp/config.h"
#include "lrp/device.h"
#include "lrp/dtype.h"
#include "lrp/error.h"
#include "lrp/parse.h"
#include "lrp/utf8.h"
#include "lrp/shape.h"
#include "test_util.h"

using namespace lrp;

TEST(ErrorCpu, CarriesLocationExpressionAndDetail) {
    try {
        int x = 3;
        LRP_CHECK(x == 4, "x was ", x);
        FAIL() << "no throw";
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("test_runtime_basics.cpp:"), std::string::npos) << m;
        EXPECT_NE(m.find("x == 4"), std::string::npos) << m;
        EXPECT_NE(m.find("x was 3"), std::string::npos) << m;
        EXPECT_EQ(e.detail(), "x was 3") << "detail() is the message alone";
    }
    try {
        LRP_THROW("no such thing: ", 7);
    } catch (const Error& e) {  // location and message, no stand-in expression
        const std::string m = e.what();
        EXPECT_NE(m.find("test_runtime_basics.cpp:"), std::string::npos) << m;
        EXPECT_NE(m.find(": no such thing: 7"), std::string::npos) << m;
        EXPECT_EQ(m.find(": error:"), std::string::npos) << m;
        EXPECT_EQ(e.detail(), "no such thing: 7");
    }
    EXPECT_EQ(Error("plain").detail(), "plain") << "an Error built from a message alone";
}

TEST(Utf8Cpu, ValidatesAndEscapes) {
    for (const char* ok : {"", "abc", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"})
        EXPECT_TRUE(valid_utf8(ok)) << escaped_bytes(ok);
    for (const char* bad : {"caf\xE9", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3",
                            "\xFF", "\x80"})
        EXPECT_FALSE(valid_utf8(bad)) << escaped_bytes(bad);
    EXPECT_EQ(escaped_bytes("caf\xE9 \xC3\xA9\n"), "caf\\xE9 \xC3\xA9\\x0A");
}

TEST(ParseCpu, FiniteFloatsOnlyAndTheWholeText) {
    EXPECT_EQ(parse_finite_float("1e-3"), 1e-3f);
    EXPECT_EQ(parse_finite_float("-0.5"), -0.5f);
    EXPECT_EQ(parse_finite_float("7"), 7.f);
    // Too small for a float: what the float holds (a subnormal, or 0), as PyTorch's float32 tensors hold it;
    // std::stof threw on these.
    EXPECT_EQ(parse_finite_float("1e-40"), 1e-40f);
    EXPECT_EQ(parse_finite_float("1e-50"), 0.f);
    EXPECT_EQ(parse_finite_float("+2"), 2.f);
    EXPECT_EQ(parse_finite_float(".5E1"), 5.f);
    // blanks around the number, as Python's float() takes them (comma lists such as "0.5, 0.3")
    EXPECT_EQ(parse_finite_float(" 3"), 3.f);
    EXPECT_EQ(parse_finite_float("\t-0.25 "), -0.25f);
    // strtof alone took hex ("0x10" as 16, "0x1p3" as 8)
    for (const char* bad : {"", " ", "1.5x", "x", "nan", "-inf", "inf", "1e99", "1,5", "--1", "3 4", " nan", "0x10",
                            "0X10", "0x1p3", " 0x10", "1e", "1e+", "infinity", "1_0"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_finite_float(bad).has_value());
    }
}

TEST(ShapeCpu, NumelIndexingAndPrinting) {
    Shape s{2, 3, 4};
    EXPECT_EQ(s.ndim(), 3);
    EXPECT_EQ(s.numel(), 24);
    EXPECT_EQ(s[-1], 4);
    EXPECT_EQ(s.str(), "[2, 3, 4]");
    EXPECT_EQ(Shape{}.numel(), 1);
    EXPECT_THROW(s[3], Error);
    EXPECT_THROW((Shape{2, -1}), Error);
    EXPECT_THROW((Shape{1, 1, 1, 1, 1, 1, 1}), Error);
    // More elements than an int64 holds (a corrupt file's header), even with a zero extent alongside.
    const int64_t big = int64_t{1} << 40;
    EXPECT_THROW((Shape{big, big}), Error);
    EXPECT_THROW((Shape{INT64_MAX, 2, 0}), Error);
    EXPECT_EQ((Shape{INT64_MAX, 0}).numel(), 0);
    EXPECT_EQ((Shape{big, 1 << 20}).numel(), big << 20);
    EXPECT_TRUE((Shape{2, 3}) == (Shape{2, 3}));
    EXPECT_TRUE((Shape{2, 3}) != (Shape{3, 2}));
}

TEST(DTypeCpu, SizesNamesParse) {
    EXPECT_EQ(dtype_size(DType::F32), 4u);
    EXPECT_EQ(dtype_size(DType::BF16), 2u);
    EXPECT_EQ(parse_dtype("bfloat16"), DType::BF16);
    EXPECT_STREQ(dtype_name(DType::U8), "u8");
    EXPECT_THROW(parse_dtype("complex64"), Error);
}

TEST(DTypeCpu, HalfConversionsKnownValues) {
    EXPECT_EQ(float_to_half(1.0f), 0x3c00);
    EXPECT_EQ(float_to_half(-2.0f), 0xc000);
    EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
    EXPECT_EQ(float_to_half(65520.0f), 0x7c00);          // rounds to inf
    EXPECT_EQ(float_to_half(5.9604644775390625e-08f), 0x0001);  // smallest subnormal
    EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), 0x3c00);  // tie rounds to even
    EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), 0x3c02);
    EXPECT_FLOAT_EQ(half_to_float(0x3555), 0.333251953125f);
    EXPECT_FLOAT_EQ(half_to_float(0x0001), 5.9604644775390625e-08f);
    EXPECT_TRUE(std::isinf(half_to_float(0xfc00)) && half_to_float(0xfc00) < 0);
    EXPECT_TRUE(std::isnan(half_to_float(float_to_half(NAN))));
    // Round trip of every finite half value.
    for (uint32_t h = 0; h < 0x10000; ++h) {
        if ((h & 0x7c00) == 0x7c00) continue;
        ASSERT_EQ(float_to_half(half_to_float(static_cast<uint16_t>(h))), h) << h;
    }
}

TEST(DTypeCpu, Bf16ConversionsKnownValues) {
    EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(float_to_bf16(-3.0f), 0xc040);
    EXPECT_FLOAT_EQ(bf16_to_float(0x3f80), 1.0f);
    EXPECT_EQ(float_to_bf16(1.0f + 1.0f / 256), 0x3f80);  // tie to even
    EXPECT_EQ(float_to_bf16(1.0f + 3.0f / 256), 0x3f82);
    EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
}

TEST(DeviceCpu, ParseAndName) {
    EXPECT_EQ(parse_device("cpu"), Device::cpu());
    EXPECT_EQ(Device::cuda(1).str(), "cuda:1");
    EXPECT_THROW(parse_device("gpu"), Error);
    EXPECT_THROW(parse_device("cuda:x"), Error);
    test::expect_error([] { parse_device("cuda:4294967296"); }, {"unknown device 'cuda:4294967296'"});  // wrapped to 0
    EXPECT_THROW(parse_device("cuda:-1"), Error);
    Device a = parse_device("auto");
    EXPECT_EQ(a.is_cuda(), cuda_device_count() > 0);
}

TEST(DeviceCpu, ProbeIsConsistentWithBuild) {
    EXPECT_EQ(cuda_built(), LRP_HAVE_CUDA != 0);
    EXPECT_FALSE(cuda_probe_message().empty());
    if (!cuda_built()) {
        EXPECT_EQ(cuda_device_count(), 0);
    }
}

TEST(DeviceCpu, CudaRequestedWithoutDeviceIsAClearError) {
    if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
    try {
        parse_device("cuda");
        FAIL() << "no throw";
    } catch (const Error& e) {
        std::string m = e.what();
        if (!cuda_built()) {
            EXPECT_NE(m.find("built without CUDA"), std::string::npos) << m;
        } else {
            EXPECT_NE(m.find(cuda_probe_message()), std::string::npos) << m;
        }
    }
    EXPECT_THROW(require_device(Device::cuda(0)), Error);
}
