// .npy reader and writer: files NumPy wrote (tests/data/npy, scripts/golden/make_npy_golden.py), round
// trips, every malformed-header and size error, and truncated / mutated files that must load or throw.
#include "lrp/data/npy.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "test_util.h"

namespace fs = std::filesystem;
using lrp::Error;
using lrp::Shape;
using lrp::Tensor;
using lrp::data::read_npy;
using lrp::data::write_npy;
using lrp::test::expect_error;
using lrp::test::read_all;

namespace {

const std::string kData = LRP_TEST_DATA_DIR "/npy/";

// The fixture values of make_npy_golden.py: (i * 7 % 23) - 11, plus 0.25 for float types.
double golden(int64_t i, bool is_float) { return static_cast<double>(i * 7 % 23 - 11) + (is_float ? 0.25 : 0.0); }

// A version 1.0 file with `header` (padding and newline added) followed by `data`.
std::string npy_bytes(std::string header, const std::string& data) {
    header.append(63 - (10 + header.size()) % 64, ' ');
    header += '\n';
    std::string b("\x93NUMPY\x01\x00", 8);
    b += static_cast<char>(header.size() & 0xff);
    b += static_cast<char>(header.size() >> 8);
    return b + header + data;
}

class NpyCpu : public lrp::test::TempDirTest {
protected:
    NpyCpu() : TempDirTest("lrp_npy") {}
    // Reading `bytes` must throw lrp::Error naming the file and containing `what`.
    void expect_read_error(const std::string& bytes, const std::string& what) {
        const std::string p = write("bad" + std::to_string(++n_bad_) + ".npy", bytes);
        expect_error([&] { read_npy(p); }, {"'" + p + "'", what});
    }
    int n_bad_ = 0;
};

}  // namespace

TEST_F(NpyCpu, ReadsNumpyFiles) {
    struct Case {
        const char* file;
        Shape shape;
        lrp::DType dtype;
    };
    const Case cases[] = {{"f32_nchw_v1", Shape{2, 3, 4, 5}, lrp::DType::F32},
                          {"f32_nchw_v2", Shape{2, 3, 4, 5}, lrp::DType::F32},
                          {"f32_nchw_v3", Shape{1, 1, 2, 3}, lrp::DType::F32},
                          {"f64_2d", Shape{3, 5}, lrp::DType::F32},  // converted on load
                          {"i64_labels", Shape{7}, lrp::DType::I64},
                          {"i32_labels", Shape{7}, lrp::DType::I32},
                          {"f32_scalar", Shape(std::vector<int64_t>{}), lrp::DType::F32},
                          {"f32_empty", Shape{0, 3, 2, 2}, lrp::DType::F32}};
    for (const Case& c : cases) {
        SCOPED_TRACE(c.file);
        const Tensor t = read_npy(kData + c.file + ".npy");
        ASSERT_EQ(t.shape(), c.shape);
        ASSERT_EQ(t.dtype(), c.dtype);
        const bool is_float = c.dtype == lrp::DType::F32;
        for (int64_t i = 0; i < t.numel(); ++i) {
            const double v = is_float ? t.data<float>()[i]
                             : c.dtype == lrp::DType::I32 ? t.data<int32_t>()[i]
                                                          : static_cast<double>(t.data<int64_t>()[i]);
            ASSERT_EQ(v, golden(i, is_float)) << "element " << i;
        }
    }
    // uint8 (NumPy's file) widens to int32.
    const Tensor u8 = read_npy(kData + "u8_images.npy");
    EXPECT_EQ(u8.dtype(), lrp::DType::I32);
    EXPECT_EQ(u8.shape(), (Shape{1, 1, 2, 2}));
    EXPECT_EQ(u8.to_vector<int32_t>(), (std::vector<int32_t>{245, 252, 3, 10}));
    // What lrpcu writes, for make_npy_golden.py --check to read with NumPy.
    if (const char* out = std::getenv("LRP_NPY_OUT")) {
        fs::create_directories(out);
        write_npy(std::string(out) + "/f32.npy", read_npy(kData + "f32_nchw_v1.npy"));
        write_npy(std::string(out) + "/i32.npy", read_npy(kData + "i32_labels.npy"));
        write_npy(std::string(out) + "/i64.npy", read_npy(kData + "i64_labels.npy"));
    }
}

// np.asfortranarray of the 2 x 3 array (i * 7 % 23) - 11 + 0.25 stores it column by column; it reads as that
// array in C order. A 3-D Fortran array written here (file order: first index fastest) reads back the same way.
TEST_F(NpyCpu, FortranOrderReadsAsTheSameArray) {
    const Tensor f = read_npy(kData + "f32_fortran.npy");
    EXPECT_EQ(f.shape(), (Shape{2, 3}));
    EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{-10.75f, -3.75f, 3.25f, 10.25f, -5.75f, 1.25f}));
    std::string data;
    for (int k = 0; k < 4; ++k)          // the file's order: i (extent 2) fastest, then j (3), then k (4)
        for (int j = 0; j < 3; ++j)
            for (int i = 0; i < 2; ++i) {
                const int32_t v = 100 * i + 10 * j + k;
                data.append(reinterpret_cast<const char*>(&v), 4);
            }
    const std::string header = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }";
    const Tensor t = read_npy(write("f3.npy", npy_bytes(header, data)));
    std::vector<int32_t> want;
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 4; ++k) want.push_back(100 * i + 10 * j + k);
    EXPECT_EQ(t.to_vector<int32_t>(), want);
}

TEST_F(NpyCpu, RefusesWhatItCannotReadNamingWhy) {
    expect_error([] { read_npy(kData + "f32_big_endian.npy"); }, {"f32_big_endian.npy", "big-endian", "'>f4'"});
    expect_error([] { read_npy(kData + "f16_2d.npy"); }, {"f16_2d.npy", "unsupported dtype '<f2'"});
    expect_error([this] { read_npy(dir_ + "/missing.npy"); }, {"missing.npy", "not an existing file"});
    expect_error([this] { read_npy(dir_); }, {"not an existing file"});
}

// Every NumPy integer type of up to 64 bits reads as int32 (8/16-bit) or int64 (uint32, uint64), with its value.
TEST_F(NpyCpu, WidensIntegerArrays) {
    auto file = [&](const std::string& descr, const std::string& data, int n) {
        return write(descr.substr(1) + ".npy",
                     npy_bytes("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(n) +
                                   ",), }",
                               data));
    };
    // The values when the array has the expected type, else nothing.
    auto i32 = [](const Tensor& t) {
        return t.dtype() == lrp::DType::I32 ? t.to_vector<int32_t>() : std::vector<int32_t>{};
    };
    auto i64 = [](const Tensor& t) {
        return t.dtype() == lrp::DType::I64 ? t.to_vector<int64_t>() : std::vector<int64_t>{};
    };
    EXPECT_EQ(i32(read_npy(file("|i1", std::string("\x05\xff", 2), 2))), (std::vector<int32_t>{5, -1}));
    EXPECT_EQ(i32(read_npy(file("<i2", std::string("\x01\x01\x00\x80", 4), 2))), (std::vector<int32_t>{257, -32768}));
    EXPECT_EQ(i32(read_npy(file("<u2", std::string("\xff\xff", 2), 1))), (std::vector<int32_t>{65535}));
    EXPECT_EQ(i64(read_npy(file("<u4", std::string("\xff\xff\xff\xff", 4), 1))), (std::vector<int64_t>{4294967295}));
    EXPECT_EQ(i64(read_npy(file("<u8", std::string("\x07\0\0\0\0\0\0\0", 8), 1))), (std::vector<int64_t>{7}));
    expect_read_error(npy_bytes("{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }",
                                std::string("\x07\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 16)),
                      "element (1,) (18446744073709551615) is beyond the int64 range");
    expect_read_error(npy_bytes("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", std::string(2, '\0')),
                      "a '<i2' array of shape [2] needs 4 data bytes, but the file holds 2 (truncated)");
    expect_read_error(npy_bytes("{'descr': '<b1', 'fortran_order': False, 'shape': (1,), }", std::string(1, '\0')),
                      "unsupported dtype '<b1'");
    // One-byte types have no byte order: '<i1', '>i1' and '|i1' are the same; wider big-endian ones are refused.
    EXPECT_EQ(i32(read_npy(file("<i1", std::string("\xfe", 1), 1))), (std::vector<int32_t>{-2}));
    EXPECT_EQ(i32(read_npy(write("be1.npy", npy_bytes("{'descr': '>u1', 'fortran_order': False, 'shape': (1,), }",
                                                      std::string("\xfe", 1))))),
              (std::vector<int32_t>{254}));
    expect_read_error(npy_bytes("{'descr': '>i2', 'fortran_order': False, 'shape': (1,), }", std::string(2, '\0')),
                      "big-endian array ('>i2'); save it little-endian, e.g. arr.astype(arr.dtype.newbyteorder('<'))");
    expect_read_error(npy_bytes("{'descr': 'xi1', 'fortran_order': False, 'shape': (1,), }", std::string(1, '\0')),
                      "unsupported byte order in dtype 'xi1'");
}

TEST_F(NpyCpu, WritesWhatNumpyAndItselfRead) {
    const Tensor f = Tensor::from_vector(lrp::test::random_vec(2 * 3 * 5 * 7, 11), Shape{2, 3, 5, 7});
    const Tensor i32 = Tensor::from_vector(std::vector<int32_t>{3, -1, 9}, Shape{3});
    const Tensor i64 = Tensor::from_vector(std::vector<int64_t>{int64_t(1) << 40, -2}, Shape{2});
    const Tensor scalar = Tensor::from_vector(std::vector<float>{1.5f}, Shape(std::vector<int64_t>{}));
    const std::map<const Tensor*, std::string> tuples = {
        {&f, "(2, 3, 5, 7)"}, {&i32, "(3,)"}, {&i64, "(2,)"}, {&scalar, "()"}};  // as Python writes them
    for (const Tensor* t : {&f, &i32, &i64, &scalar}) {
        const std::string p = dir_ + "/rt.npy";
        write_npy(p, *t);
        const std::string bytes = read_all(p);
        EXPECT_NE(bytes.find("'shape': " + tuples.at(t) + ", }"), std::string::npos) << bytes.substr(0, 80);
        EXPECT_EQ((10 + static_cast<size_t>(static_cast<unsigned char>(bytes[8]))) % 64, 0u)
            << "header not 64-byte aligned as NumPy writes it";
        const Tensor back = read_npy(p);
        ASSERT_EQ(back.shape(), t->shape());
        ASSERT_EQ(back.dtype(), t->dtype());
        EXPECT_EQ(std::string(static_cast<const char*>(back.raw_data()), back.nbytes()),
                  std::string(static_cast<const char*>(t->raw_data()), t->nbytes()));
    }
    expect_error([this] { write_npy(dir_ + "/u8.npy", Tensor::empty(Shape{2}, lrp::DType::U8)); }, {"u8", "not written"});
    EXPECT_FALSE(fs::exists(dir_ + "/u8.npy"));
}

TEST_F(NpyCpu, FailedWriteLeavesTheExistingFile) {
    const std::string p = dir_ + "/keep.npy";
    write_npy(p, Tensor::from_vector(std::vector<float>{1, 2, 3}, Shape{3}));
    const std::string before = read_all(p);
    {
        lrp::test::FileSizeLimit limit(200);  // the header fits, the data does not
        expect_error([&] { write_npy(p, Tensor::from_vector(lrp::test::random_vec(1000, 3), Shape{1000})); },
                     {"keep.npy", "is unchanged"});
    }
    EXPECT_EQ(read_all(p), before);
    size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++files;
    EXPECT_EQ(files, 1u) << "a temporary file was left behind";
}

TEST_F(NpyCpu, MalformedHeadersAndSizesGiveClearErrors) {
    const std::string four(16, '\x01');  // 4 float32 values
    const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    ASSERT_EQ(read_npy(write("ok.npy", npy_bytes(ok, four))).numel(), 4);
    ASSERT_EQ(read_npy(write("dq.npy", npy_bytes("{\"descr\": \"<f4\", \"shape\": (4,), \"fortran_order\": False}",
                                                 four)))
                  .numel(),
              4);  // double quotes, other key order, no trailing comma
    expect_read_error("PK\x03\x04 not an npy file at all", "not a .npy file");
    expect_read_error(std::string("\x93NUMPY\x04\x00\x10\x00", 10) + ok, "unsupported .npy format version 4");
    expect_read_error(std::string("\x93NUMPY\x01\x05\x10\x00", 10) + ok, "unsupported .npy format version 1.5");
    expect_read_error(std::string("\x93NUMPY\x01\x00", 8), "truncated inside the .npy preamble");
    expect_read_error(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12) + ok, "the header claims 4294967295 bytes");
    std::string long_header("\x93NUMPY\x02\x00\x00\x00\x02\x00", 12);  // 128 KiB of header
    expect_read_error(long_header + std::string(128 * 1024, ' '), "a 131072-byte .npy header (at most 65536");
    expect_error([&] { read_npy(write("long.npy", npy_bytes("{'descr': '<f4', " + std::string(300, 'x'), four))); },
                 {"malformed .npy header", std::string(150, 'x') + "..."});  // the header shown, shortened
    expect_read_error(npy_bytes(ok, four.substr(0, 15)), "needs 16 data bytes, but the file holds 15 (truncated)");
    expect_read_error(npy_bytes(ok, four + "xxxx"), "(trailing bytes: wrong dtype or shape?)");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }", four),
                      "a shape entry must be a non-negative integer");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", four),
                      "a shape entry must be a non-negative integer");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", four),
                      "a shape entry must be a non-negative integer");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", four),
                      "element count overflows");
    // A zero extent alongside extents whose product exceeds an int64 (the fuzzer's shape).
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 2, 0), }", ""),
                      "element count overflows");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 4), }", four),
                      "7 dimensions (at most 6");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (4,), }", four), "expected True or False");
    expect_read_error(npy_bytes("{'descr': '<f4', 'shape': (4,), }", four), "lacks one of descr, fortran_order, shape");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", four),
                      "unexpected key 'x'");
    expect_read_error(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", four),
                      "structured arrays");
    expect_read_error(npy_bytes("{'descr': '<f4, 'fortran_order': False, 'shape': (4,), }", four), "malformed .npy header");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,) ", four), "expected ','");
    expect_read_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } extra", four),
                      "text after the header's closing brace");
    const double huge[2] = {1e300, 1.0};
    expect_read_error(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                std::string(reinterpret_cast<const char*>(huge), sizeof huge)),
                      "element (0,) (1e+300) is outside the float32 range");
    // The element is named by its numpy index, whatever the order its file stores it in: file position 3 of a
    // (2, 3) array is (1, 0) in C order and (1, 1) in Fortran order (first index fastest).
    const double six[6] = {1, 2, 3, 1e300, 5, 6};
    const std::string six_bytes(reinterpret_cast<const char*>(six), sizeof six);
    expect_read_error(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", six_bytes),
                      "element (1, 0) (1e+300) is outside the float32 range");
    expect_read_error(npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", six_bytes),
                      "element (1, 1) (1e+300) is outside the float32 range");
    expect_read_error(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", six_bytes.substr(24, 8)),
                      "element () (1e+300) is outside the float32 range");
}

// Every truncation and a few hundred seeded byte mutations of a valid file either load or throw
// lrp::Error: no other exception escapes and nothing reads out of bounds (the sanitizer build checks).
TEST_F(NpyCpu, TruncatedAndMutatedFilesLoadOrThrowLrpError) {
    const std::string good = read_all(kData + "f32_nchw_v1.npy");
    const auto c = lrp::test::fuzz_file(
        good, dir_ + "/fuzz.npy", [](const std::string& p) { read_npy(p); }, 777,
        std::string("0123456789(),:'\" -{}TF\x00\xff", 24), 128);  // the preamble and header: the parsing
    EXPECT_EQ(c.truncated_loaded, 0) << "a truncated file loaded";
    EXPECT_GT(c.refused, static_cast<int>(good.size()) + 100);  // the mutations were not all harmless
}
