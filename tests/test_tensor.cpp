// Tensor runtime on the CPU (and CUDA round trips when a device exists): creation, views, copies,
// printing, memory stats, and clear errors for misuse.
#include <algorithm>
#include <sstream>

#include "lrp/context.h"
#include "lrp/tensor.h"
#include "test_util.h"

using namespace lrp;

TEST(TensorCpu, CreateZerosFromVectorAndBack) {
    Tensor z = Tensor::zeros({2, 3});
    EXPECT_EQ(z.numel(), 6);
    EXPECT_EQ(z.nbytes(), 24u);
    for (float v : z.to_vector<float>()) EXPECT_EQ(v, 0.f);
    std::vector<float> v = test::random_vec(6, 1);
    Tensor t = Tensor::from_vector(v, {2, 3});
    EXPECT_EQ(t.to_vector<float>(), v);
    EXPECT_THROW(Tensor::from_vector(v, {4, 2}), Error);
    std::vector<int32_t> iv{1, -2, 3};
    EXPECT_EQ(Tensor::from_vector(iv, {3}).to_vector<int32_t>(), iv);
}

TEST(TensorCpu, ReshapeAndSliceShareStorage) {
    std::vector<float> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    Tensor t = Tensor::from_vector(v, {4, 3});
    Tensor r = t.reshape({2, 6});
    EXPECT_TRUE(r.shares_storage_with(t));
    EXPECT_THROW(t.reshape({5, 2}), Error);
    Tensor s = t.slice(1, 3);
    EXPECT_EQ(s.shape(), (Shape{2, 3}));
    EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{3, 4, 5, 6, 7, 8}));
    s.data<float>()[0] = 42;
    EXPECT_EQ(t.to_vector<float>()[3], 42);
    EXPECT_THROW(t.slice(2, 5), Error);
    EXPECT_THROW(t.slice(3, 2), Error);
}

// Byte counts that would wrap size_t are refused before any allocation (2^62 floats were a 0-byte tensor).
TEST(TensorCpu, SizesBeyondMemoryAreRefused) {
    lrp::test::expect_error([] { Tensor::empty({int64_t{1} << 62}, DType::F32); }, {"more than 2^60 bytes", "f32"});
    lrp::test::expect_error([] { Tensor::empty({(int64_t{1} << 61) + 1}, DType::F64); }, {"more than 2^60 bytes"});
}

TEST(TensorCpu, CloneAndCopyFrom) {
    Tensor t = Tensor::from_vector(test::random_vec(5, 2), {5});
    Tensor c = t.clone();
    EXPECT_FALSE(c.shares_storage_with(t));
    EXPECT_EQ(c.to_vector<float>(), t.to_vector<float>());
    Tensor d = Tensor::empty({5});
    d.copy_from(t);
    EXPECT_EQ(d.to_vector<float>(), t.to_vector<float>());
    Tensor wrong = Tensor::empty({4});
    EXPECT_THROW(wrong.copy_from(t), Error);
    Tensor wrong_type = Tensor::empty({5}, DType::I32);
    EXPECT_THROW(wrong_type.copy_from(t), Error);
}

// Overlapping views of one buffer (a shift by one row either way, and a view onto itself) copy as if through a
// temporary; memcpy there is undefined (AddressSanitizer reports memcpy-param-overlap).
TEST(TensorCpu, CopyFromAnOverlappingView) {
    const std::vector<float> v = test::random_vec(12, 4);
    for (int shift : {1, -1, 0}) {
        SCOPED_TRACE(shift);
        Tensor t = Tensor::from_vector(v, {6, 2});
        Tensor dst = shift >= 0 ? t.slice(shift, 5 + shift) : t.slice(0, 5);
        const Tensor src = shift >= 0 ? t.slice(0, 5) : t.slice(1, 6);
        dst.copy_from(src);
        std::vector<float> want = v;
        if (shift == 1) std::copy(v.begin(), v.begin() + 10, want.begin() + 2);
        if (shift == -1) std::copy(v.begin() + 2, v.end(), want.begin());
        EXPECT_EQ(t.to_vector<float>(), want);
    }
}

TEST(TensorCpu, DtypeMismatchedAccessThrows) {
    Tensor t = Tensor::empty({3}, DType::F32);
    EXPECT_THROW(t.data<int32_t>(), Error);
    EXPECT_THROW(Tensor().raw_data(), Error);
}

TEST(TensorCpu, Printing) {
    Tensor t = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
    std::string s = t.str();
    EXPECT_NE(s.find("f32 [2, 3] cpu"), std::string::npos) << s;
    EXPECT_NE(s.find("[[1, 2, 3],\n[4, 5, 6]]"), std::string::npos) << s;
    Tensor big = Tensor::zeros({100});
    EXPECT_NE(big.str(10).find("90 more"), std::string::npos);
    std::ostringstream os;
    os << Tensor::from_vector(std::vector<int32_t>{7, 8}, {2});
    EXPECT_NE(os.str().find("[7, 8]"), std::string::npos) << os.str();
}

TEST(TensorCpu, FrontEndChecksNameTheProblem) {
    Tensor a = Tensor::empty({2, 3});
    try {
        check_shape("conv2d_fwd", "x", a, Shape{2, 4});
        FAIL();
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("conv2d_fwd: argument 'x' has shape [2, 3], expected [2, 4]"), std::string::npos) << m;
    }
    EXPECT_THROW(check_device("add", "b", a, Device::cuda(0)), Error);
    EXPECT_THROW(check_dtype("add", "b", a, DType::I32), Error);
    EXPECT_THROW(check_defined("add", "b", Tensor()), Error);
}

TEST(TensorCpu, MemoryStatsTrackCpuAllocations) {
    MemoryStats before = memory_stats(Device::cpu());
    {
        Tensor t = Tensor::empty({1 << 20});
        EXPECT_GE(memory_stats(Device::cpu()).in_use, before.in_use + (4u << 20));
    }
    EXPECT_EQ(memory_stats(Device::cpu()).in_use, before.in_use);
}

TEST(TensorCpu, CudaTensorWithoutDeviceIsAClearError) {
    if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
    EXPECT_THROW(Tensor::empty({2}, DType::F32, Device::cuda(0)), Error);
    Tensor t = Tensor::zeros({2});
    EXPECT_THROW(t.to(Device::cuda(0)), Error);
}

TEST(TensorCuda, RoundTripCopiesAndStats) {
    LRP_SKIP_WITHOUT_CUDA();
    Device g = Device::cuda(0);
    std::vector<float> v = test::random_vec(1000, 3);
    Tensor h = Tensor::from_vector(v, {10, 100});
    Tensor d = h.to(g);
    EXPECT_EQ(d.device(), g);
    Tensor d2 = d.clone();
    Tensor d3 = Tensor::empty({10, 100}, DType::F32, g);
    d3.copy_from(d2);
    EXPECT_EQ(d3.to_vector<float>(), v);
    EXPECT_EQ(d3.slice(2, 4).to_vector<float>(), std::vector<float>(v.begin() + 200, v.begin() + 400));
    d3.slice(1, 10).copy_from(d3.slice(0, 9));  // overlapping views: as if through a temporary
    std::vector<float> shifted = v;
    std::copy(v.begin(), v.begin() + 900, shifted.begin() + 100);
    EXPECT_EQ(d3.to_vector<float>(), shifted);
    Tensor z = Tensor::zeros({7}, DType::F32, g);
    for (float x : z.to_vector<float>()) EXPECT_EQ(x, 0.f);
    MemoryStats s = memory_stats(g);
    EXPECT_GT(s.in_use, 0u);
    EXPECT_GE(s.peak_in_use, s.in_use);
    EXPECT_NE(d3.str().find("cuda:0"), std::string::npos);
}

TEST(TensorCuda, SteadyStateReusesCachedBlocks) {
    LRP_SKIP_WITHOUT_CUDA();
    Device g = Device::cuda(0);
    { Tensor warm = Tensor::empty({1 << 16}, DType::F32, g); }
    size_t raw = memory_stats(g).raw_allocs;
    for (int i = 0; i < 10; ++i) Tensor t = Tensor::empty({1 << 16}, DType::F32, g);
    EXPECT_EQ(memory_stats(g).raw_allocs, raw);
}
