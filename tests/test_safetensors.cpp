// safetensors weight I/O: round trips, fp16/bf16/f64 conversion of hand-built files, metadata, atomic
// save, a clear error for every kind of malformed file, check_state_dict, and the golden files
// written by the reference library (scripts/golden/make_safetensors_golden.py).
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "lrp/nn/safetensors.h"
#include "test_util.h"

using namespace lrp;
using namespace lrp::nn;
using lrp::test::read_all;
namespace fs = std::filesystem;

namespace {

std::string le64(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
}
template <class T> std::string bytes_of(const std::vector<T>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
std::string st_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

// The golden values (keep in step with scripts/golden/make_safetensors_golden.py).
std::vector<float> golden_values(int64_t n, bool exact) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        v[i] = exact ? static_cast<float>((static_cast<double>(i) - static_cast<double>(n / 2)) / 8)
                     : static_cast<float>((i % 2 == 0 ? 1.0 : -1.0) * static_cast<double>(i + 1) / 3);
    return v;
}

}  // namespace

class SafetensorsCpu : public lrp::test::TempDirTest {
protected:
    SafetensorsCpu() : TempDirTest("lrp_safetensors") {}
    size_t files_in_dir() const { return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {})); }
    // Loading `bytes` must throw lrp::Error naming the file and containing `what`.
    void expect_load_error(const std::string& bytes, const std::string& what) {
        std::string p = write("bad" + std::to_string(++n_bad_) + ".safetensors", bytes);
        try {
            load_safetensors(p);
            ADD_FAILURE() << "no error for a file that should give: " << what;
        } catch (const Error& e) {
            std::string m = e.what();
            EXPECT_NE(m.find(p), std::string::npos) << "message does not name the file: " << m;
            EXPECT_NE(m.find(what), std::string::npos) << "message lacks '" << what << "': " << m;
        }
    }
    int n_bad_ = 0;
};

TEST_F(SafetensorsCpu, RoundTripKeepsNamesShapesDtypesAndBits) {
    StateDict sd;
    sd["layer1.0.conv1.weight"] = Tensor::from_vector(test::random_vec(2 * 3 * 3 * 3, 1), {2, 3, 3, 3});
    sd["fc.weight"] = Tensor::from_vector(test::random_vec(12, 2), {3, 4});
    sd["fc.bias"] = Tensor::from_vector(test::random_vec(3, 3), {3});
    sd["scale"] = Tensor::from_vector(std::vector<float>{-0.f}, Shape{});
    sd["empty"] = Tensor::zeros({0, 3});
    sd["bn.num_batches_tracked"] = Tensor::from_vector(std::vector<int64_t>{12345678901234}, Shape{});
    sd["labels"] = Tensor::from_vector(std::vector<int32_t>{-1, 2, 3}, {3});
    sd["pixels"] = Tensor::from_vector(std::vector<uint8_t>{0, 7, 255}, {1, 3});
    const std::string p = path("model.safetensors");
    save_safetensors(p, sd);
    EXPECT_EQ(files_in_dir(), 1u) << "a temporary file was left behind";

    StateDict back = load_safetensors(p);
    ASSERT_EQ(back.size(), sd.size());
    for (const auto& [name, t] : sd) {
        ASSERT_TRUE(back.count(name)) << name;
        const Tensor& b = back.at(name);
        EXPECT_EQ(b.shape(), t.shape()) << name;
        EXPECT_EQ(b.dtype(), t.dtype()) << name;
        EXPECT_TRUE(b.device().is_cpu());
        ASSERT_EQ(b.nbytes(), t.nbytes());
        EXPECT_EQ(std::memcmp(b.raw_data(), t.raw_data(), t.nbytes()), 0) << name;
    }
    EXPECT_TRUE(std::signbit(back.at("scale").to_vector<float>()[0]));

    // Layout: the data section starts 8-byte aligned, names are sorted in the header, no metadata.
    std::string raw = read_all(p);
    uint64_t hlen = 0;
    std::memcpy(&hlen, raw.data(), 8);
    EXPECT_EQ((8 + hlen) % 8, 0u);
    std::string header = raw.substr(8, hlen);
    EXPECT_EQ(header.find("__metadata__"), std::string::npos);
    size_t last = 0;
    for (const auto& kv : sd) {  // std::map order == sorted
        size_t at = header.find("\"" + kv.first + "\"");
        ASSERT_NE(at, std::string::npos) << kv.first;
        EXPECT_GT(at, last) << kv.first << " out of order in " << header;
        last = at;
    }
}

TEST_F(SafetensorsCpu, HalfStorageTensorsAreSavedAsIsAndLoadAsF32) {
    StateDict sd;
    Tensor h = Tensor::empty({3}, DType::F16), b = Tensor::empty({2}, DType::BF16);
    uint16_t hv[3] = {0x3C00, 0xC000, 0x3555}, bv[2] = {0x4049, 0xC2F7};
    std::memcpy(h.raw_data(), hv, 6);
    std::memcpy(b.raw_data(), bv, 4);
    sd["h"] = h, sd["b"] = b;
    save_safetensors(path("h.safetensors"), sd);
    EXPECT_NE(read_all(path("h.safetensors")).find("\"F16\""), std::string::npos);
    StateDict back = load_safetensors(path("h.safetensors"));
    EXPECT_EQ(back.at("h").to_vector<float>(), (std::vector<float>{1.f, -2.f, 0.333251953125f}));
    EXPECT_EQ(back.at("b").to_vector<float>(), (std::vector<float>{3.140625f, -123.5f}));
}

TEST_F(SafetensorsCpu, LoadsHandBuiltF16Bf16F64AsF32Exactly) {
    std::vector<uint16_t> f16{0x3C00, 0xC000, 0x3555, 0x7BFF, 0x0001, 0x03FF, 0x8000, 0x7C00};
    std::vector<uint16_t> bf16{0x3F80, 0x4049, 0xC2F7, 0x0001, 0x7F7F, 0xFF80};
    std::vector<double> f64{0.1, -2.5, 1e-3};
    std::string data = bytes_of(f64) + bytes_of(f16) + bytes_of(bf16);
    std::string header = R"({"h":{"dtype":"F16","shape":[2,4],"data_offsets":[24,40]},)"
                         R"("d":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},)"
                         R"("b":{"dtype":"BF16","shape":[6],"data_offsets":[40,52]}})";
    StateDict sd = load_safetensors(write("half.safetensors", st_file(header, data)));
    ASSERT_EQ(sd.size(), 3u);
    for (const auto& kv : sd) EXPECT_EQ(kv.second.dtype(), DType::F32) << kv.first;
    EXPECT_EQ(sd.at("h").shape(), (Shape{2, 4}));
    std::vector<float> h = sd.at("h").to_vector<float>();
    std::vector<float> want_h{1.f, -2.f, 0.333251953125f, 65504.f, 5.9604644775390625e-08f,
                              6.0975551605224609375e-05f, -0.f, INFINITY};
    EXPECT_EQ(h, want_h);
    EXPECT_TRUE(std::signbit(h[6]));
    EXPECT_EQ(sd.at("b").to_vector<float>(),
              (std::vector<float>{1.f, 3.140625f, -123.5f, 9.18354961579912115600575419705e-41f,
                                  3.38953138925153547590470800371e38f, -INFINITY}));
    EXPECT_EQ(sd.at("d").to_vector<float>(), (std::vector<float>{0.1f, -2.5f, 1e-3f}));
}

TEST_F(SafetensorsCpu, MetadataRoundTripAndHeaderPaddingAccepted) {
    std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "quote \" newline \n ünïcode"}, {"", ""}};
    StateDict sd{{"w", Tensor::from_vector(std::vector<float>{1, 2}, {2})}};
    save_safetensors(path("m.safetensors"), sd, meta);
    std::map<std::string, std::string> got{{"stale", "x"}};
    StateDict back = load_safetensors(path("m.safetensors"), &got);
    EXPECT_EQ(got, meta);
    EXPECT_EQ(back.at("w").to_vector<float>(), (std::vector<float>{1, 2}));

    // Space padding (any amount) and an empty file of tensors are valid; the header must begin with '{'.
    std::string header = R"({"__metadata__":{"a":"b"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    for (int pad : {0, 1, 5, 13}) {
        std::string p = write("pad" + std::to_string(pad), st_file(header + std::string(pad, ' '),
                                                                  bytes_of(std::vector<float>{3, 4})));
        std::map<std::string, std::string> m;
        EXPECT_EQ(load_safetensors(p, &m).at("w").to_vector<float>(), (std::vector<float>{3, 4})) << pad;
        EXPECT_EQ(m.at("a"), "b");
    }
    EXPECT_TRUE(load_safetensors(write("none", st_file("{}      ", ""))).empty());
    EXPECT_THROW(load_safetensors(write("lead", st_file(" " + header, bytes_of(std::vector<float>{3, 4})))), Error);
}

TEST_F(SafetensorsCpu, FailedSaveLeavesExistingFileIntact) {
    const std::string p = path("model.safetensors");
    StateDict old_sd{{"w", Tensor::from_vector(std::vector<float>{1, 2, 3}, {3})}};
    save_safetensors(p, old_sd);
    const std::string old_bytes = read_all(p);
    auto expect_error = [&](const std::string& target, const StateDict& sd, const std::string& what) {
        try {
            save_safetensors(target, sd);
            ADD_FAILURE() << "no error; expected: " << what;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
        EXPECT_EQ(read_all(p), old_bytes) << "the existing file changed";
        EXPECT_EQ(files_in_dir(), 1u) << "a temporary file was left behind";
    };
    StateDict big{{"w", Tensor::from_vector(test::random_vec(100000, 5), {100000})}};
    {
        test::FileSizeLimit limit(4096);  // the write of the data fails midway (EFBIG)
        expect_error(p, big, "failed");
    }
    expect_error(p, StateDict{{"w", Tensor()}}, "undefined");
    expect_error(p, StateDict{{"__metadata__", Tensor::zeros({1})}}, "invalid tensor name");
    expect_error(p, StateDict{{"bad\xff", Tensor::zeros({1})}}, "UTF-8");
    expect_error(path("no/such/dir/model.safetensors"), big, "cannot create temporary file");
    expect_error(dir_, big, "cannot rename");  // the target is a directory
    if (::geteuid() != 0) {  // root ignores directory permissions
        ::chmod(dir_.c_str(), 0555);
        expect_error(p, big, "cannot create temporary file");
        ::chmod(dir_.c_str(), 0755);
    }
    EXPECT_EQ(load_safetensors(p).at("w").to_vector<float>(), (std::vector<float>{1, 2, 3}));
    save_safetensors(p, big);  // a successful save replaces the file
    EXPECT_EQ(load_safetensors(p).at("w").to_vector<float>(), big.at("w").to_vector<float>());
    EXPECT_EQ(files_in_dir(), 1u);
}

TEST_F(SafetensorsCpu, MalformedFilesGiveClearErrors) {
    const std::string d8 = bytes_of(std::vector<float>{1, 2});
    auto one = [](const std::string& entry) { return "{\"a\":" + entry + "}"; };
    auto ok_entry = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    ASSERT_NO_THROW(load_safetensors(write("good", st_file(one(ok_entry), d8))));

    expect_load_error("", "file is empty");
    expect_load_error("\x05\0\0", "too short");
    expect_load_error(le64(1000) + "{}", "header length 1000 exceeds");
    expect_load_error(le64(~uint64_t{0}) + "{}", "exceeds");
    expect_load_error(le64(0), "header is empty");
    expect_load_error(st_file("{\"a\":", ""), "not valid JSON");
    expect_load_error(st_file("{\"a\":\"\xff\"}", ""), "not valid JSON");
    expect_load_error(st_file("{} x", ""), "not valid JSON");
    expect_load_error(st_file("[1,2]", ""), "does not begin with '{'");
    expect_load_error(st_file("\xEF\xBB\xBF{}", ""), "does not begin with '{'");  // a UTF-8 byte-order mark
    expect_load_error(st_file("{}" + std::string(1, '\0') + " garbage", ""), "holds a NUL byte at offset 2");
    expect_load_error(st_file("\"x\"", ""), "does not begin with '{'");
    expect_load_error(st_file(one("5"), d8), "entry is not a JSON object");
    expect_load_error(st_file(one(R"({"shape":[2],"data_offsets":[0,8]})"), d8), "missing \"dtype\"");
    expect_load_error(st_file(one(R"({"dtype":"F32","data_offsets":[0,8]})"), d8), "missing \"shape\"");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[2]})"), d8), "missing \"data_offsets\"");
    expect_load_error(st_file(one(R"({"dtype":7,"shape":[2],"data_offsets":[0,8]})"), d8), "not a string");
    expect_load_error(st_file(one(R"({"dtype":"Q4","shape":[2],"data_offsets":[0,8]})"), d8),
                      "1 tensor(s) of a dtype lrpcu does not read (it reads F32, F16, BF16, F64, I64, I32, U8):\n  'a': Q4");
    // All of them in one error (the first alone hid the others), names escaped.
    expect_load_error(st_file(R"({"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},"b\u001b":{"dtype":"BOOL",)"
                              R"("shape":[2],"data_offsets":[2,4]},"c":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              d8),
                      "2 tensor(s) of a dtype lrpcu does not read (it reads F32, F16, BF16, F64, I64, I32, U8):\n  'a': "
                      "I8\n  'b\\x1B': BOOL");
    // ... after the file's structure: a truncated file is said to be one, whatever dtypes it holds.
    expect_load_error(st_file(R"({"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]},)"
                              R"("c":{"dtype":"F32","shape":[4],"data_offsets":[2,18]}})",
                              d8),
                      "run past the end of the 8-byte data section (truncated file?)");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), d8),
                      "shape[0] is negative");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"), d8),
                      "not a non-negative integer");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})"), d8), "not an array");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[1,1,1,1,1,1,2],"data_offsets":[0,8]})"), d8),
                      "at most 6");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"),
                              d8), "too large");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"), d8), "[begin, end]");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[2],"data_offsets":[-1,7]})"), d8),
                      "data_offsets[0] is negative");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), d8), "begin after end");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})"), d8),
                      "run past the end");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), d8),
                      "hold 8 bytes but F32 shape [3] needs 12");
    expect_load_error(st_file(one(R"({"dtype":"F16","shape":[2],"data_offsets":[0,8]})"), d8),
                      "needs 4");
    expect_load_error(st_file(one(ok_entry), d8.substr(0, 5)), "truncated file");  // data section cut short
    expect_load_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                              d8 + d8),
                      "overlap");
    expect_load_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", d8),
                      "appears more than once");
    // The tensors tile the data exactly (the reference reader's rule): no gap, no bytes after the last one, no
    // empty tensor inside another, no repeated field in an entry.
    expect_load_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})", d8 + d8 + d8),
                      "tensor 'b' starts at byte 16 of the data, but 'a' ends at 8");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})"), d8 + d8),
                      "the data starts at 0");
    expect_load_error(st_file(one(ok_entry), d8 + std::string(16, '\0')), "16 trailing bytes");
    expect_load_error(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})", d8),
                      "overlap");
    expect_load_error(st_file(one(R"({"dtype":"I64","dtype":"F32","shape":[2],"data_offsets":[0,8]})"), d8),
                      "the key 'dtype' appears more than once");
    ASSERT_NO_THROW(load_safetensors(write("empty-at-end", st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                                                   R"("z":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})",
                                                                   d8))));
    expect_load_error(st_file(R"({"__metadata__":[1]})", ""), "\"__metadata__\" is not a JSON object");
    expect_load_error(st_file(R"({"__metadata__":{"k":1}})", ""), "value of 'k' is not a string");
    // Deep nesting (the fuzzer's 200k-level shape overflowed the stack dumping it into the message): refused
    // at the depth limit; a non-scalar value is named by its type, not dumped.
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,8]})"), d8),
                      "header: JSON nested more than 64 levels deep");
    expect_load_error(st_file(one(R"({"dtype":"F32","shape":[[[[2]]]],"data_offsets":[0,8]})"), d8),
                      "shape[0] is not a non-negative integer (a JSON array)");
    const std::string nested60 = std::string(60, '[') + std::string(60, ']');
    expect_load_error(st_file(R"({"__metadata__":{"k":)" + nested60 + "}}", ""),
                      "value of 'k' is not a string");  // 60 levels parse: the error is the next check's

    // Not a file at all.
    for (const std::string& p : {path("missing.safetensors"), dir_}) {
        try {
            load_safetensors(p);
            ADD_FAILURE() << p;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("'" + p + "'"), std::string::npos) << e.what();
        }
    }
}

// Every truncation and a few hundred seeded byte mutations of a valid file either load or throw
// lrp::Error: no other exception type escapes (a JSON library or allocation error) and nothing crashes.
TEST_F(SafetensorsCpu, TruncatedAndMutatedFilesLoadOrThrowLrpError) {
    StateDict sd;
    sd["conv.weight"] = Tensor::from_vector(std::vector<float>{1, -2, 3, -4, 5, -6}, Shape{2, 3});
    sd["bn.num_batches_tracked"] = Tensor::from_vector(std::vector<int64_t>{7}, Shape{1});
    sd["fc.bias"] = Tensor::from_vector(std::vector<float>{0.5f}, Shape{1});
    save_safetensors(path("valid.safetensors"), sd, {{"arch", "resnet18"}});
    const std::string good = read_all(path("valid.safetensors"));
    // The header-only reader accepts exactly the files the full load accepts, with the same names, shapes,
    // dtypes and metadata.
    const auto c = lrp::test::fuzz_file(
        good, path("fuzz.safetensors"),
        [](const std::string& p) {
            std::string header_error;
            SafetensorsHeader h;
            try {
                h = read_safetensors_header(p);
            } catch (const Error& e) {
                header_error = e.what();
            }
            std::map<std::string, std::string> meta;
            StateDict loaded;
            try {
                loaded = load_safetensors(p, &meta);
            } catch (const Error&) {
                EXPECT_FALSE(header_error.empty()) << "the header reader accepted a file the load refuses";
                throw;
            }
            ASSERT_TRUE(header_error.empty()) << "the header reader refused a file that loads: " << header_error;
            EXPECT_EQ(h.metadata, meta);
            ASSERT_EQ(h.tensors.size(), loaded.size());
            for (const auto& [name, t] : loaded) {
                ASSERT_TRUE(h.tensors.count(name)) << name;
                EXPECT_EQ(h.tensors.at(name).shape, t.shape()) << name;
                EXPECT_EQ(h.tensors.at(name).dtype, t.dtype()) << name;
            }
        },
        12345, std::string("0123456789[]{}\":,.-eE \x00\xff", 24));
    EXPECT_EQ(c.truncated_loaded, 0) << "a truncated file loaded";
    EXPECT_GT(c.refused, static_cast<int>(good.size()));  // the mutations were not all harmless
    EXPECT_GT(c.loaded, 10);                               // and some were (the comparison above ran)
}

TEST_F(SafetensorsCpu, CheckStateDictListsEveryProblemInOneError) {
    std::vector<ParamSpec> spec{{"conv.weight", {2, 1, 3, 3}, DType::F32},
                                {"conv.bias", {2}, DType::F32},
                                {"fc.weight", {3, 4}, DType::F32},
                                {"bn.num_batches_tracked", {}, DType::I64}};
    StateDict good{{"conv.weight", Tensor::zeros({2, 1, 3, 3})},
                   {"conv.bias", Tensor::zeros({2})},
                   {"fc.weight", Tensor::zeros({3, 4})},
                   {"bn.num_batches_tracked", Tensor::zeros({}, DType::I64)}};
    EXPECT_NO_THROW(check_state_dict(good, spec));

    StateDict bad = good;
    bad["conv.weight"] = Tensor::zeros({2, 3, 3});
    bad["conv.bias"] = Tensor::zeros({2}, DType::I64);
    bad.erase("fc.weight");
    bad["extra.weight"] = Tensor::zeros({5});
    try {
        check_state_dict(bad, spec);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("4 problems"), std::string::npos) << m;
        EXPECT_NE(m.find("missing 'fc.weight'"), std::string::npos) << m;
        EXPECT_NE(m.find("unexpected 'extra.weight'"), std::string::npos) << m;
        EXPECT_NE(m.find("wrong shape for 'conv.weight': [2, 3, 3], expected [2, 1, 3, 3]"), std::string::npos) << m;
        EXPECT_NE(m.find("wrong dtype for 'conv.bias': i64, expected f32"), std::string::npos) << m;
    }
    try {
        check_state_dict(bad, spec, /*allow_unexpected=*/true);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("3 problems"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("extra.weight"), std::string::npos) << e.what();
    }
    // A model without num_batches_tracked may accept a PyTorch file that has it.
    spec.pop_back();
    EXPECT_THROW(check_state_dict(good, spec), Error);
    EXPECT_NO_THROW(check_state_dict(good, spec, /*allow_unexpected=*/true));
}

TEST_F(SafetensorsCpu, LoadsReferenceLibraryFiles) {
    const std::map<std::string, bool> exact{{"conv.weight", true},      {"conv.bias", true},
                                            {"bn.weight", true},        {"bn.bias", true},
                                            {"bn.running_mean", false}, {"bn.running_var", false},
                                            {"fc.weight", false},       {"fc.bias", true}};
    const std::string dir = LRP_TEST_DATA_DIR "/safetensors/";
    for (const char* dt : {"f32", "f16", "bf16"}) {
        SCOPED_TRACE(dt);
        std::map<std::string, std::string> meta;
        StateDict sd = load_safetensors(dir + "torch_" + dt + ".safetensors", &meta);
        EXPECT_EQ(meta["format"], "pt");
        ASSERT_EQ(sd.size(), exact.size() + 1);
        EXPECT_EQ(sd.at("conv.weight").shape(), (Shape{2, 1, 3, 3}));
        EXPECT_EQ(sd.at("fc.weight").shape(), (Shape{3, 4}));
        const Tensor& nbt = sd.at("bn.num_batches_tracked");
        EXPECT_EQ(nbt.dtype(), DType::I64);
        EXPECT_EQ(nbt.shape(), Shape{});
        EXPECT_EQ(nbt.to_vector<int64_t>(), std::vector<int64_t>{42});
        for (const auto& [name, is_exact] : exact) {
            const Tensor& t = sd.at(name);
            ASSERT_EQ(t.dtype(), DType::F32) << name;
            std::vector<float> want = golden_values(t.numel(), is_exact);
            for (float& w : want)
                w = std::string(dt) == "f16" ? half_to_float(float_to_half(w))
                    : std::string(dt) == "bf16" ? bf16_to_float(float_to_bf16(w)) : w;
            EXPECT_EQ(t.to_vector<float>(), want) << name;
        }
        if (std::string(dt) != "f32") continue;
        // Saved again by lrpcu: the data section is byte-identical to the reference library's.
        save_safetensors(path("again.safetensors"), sd, meta);
        std::string ref = read_all(dir + "torch_f32.safetensors"), ours = read_all(path("again.safetensors"));
        uint64_t lr = 0, lo = 0;
        std::memcpy(&lr, ref.data(), 8);
        std::memcpy(&lo, ours.data(), 8);
        EXPECT_EQ(ref.substr(8 + lr), ours.substr(8 + lo));
        if (const char* out = std::getenv("LRP_SAFETENSORS_OUT"))  // for `make_safetensors_golden.py --check`
            save_safetensors(out, sd, meta);
    }
}

TEST(SafetensorsCuda, SavesDeviceTensorsThroughTheHost) {
    LRP_SKIP_WITHOUT_CUDA();
    std::vector<float> v = test::random_vec(10, 9);
    StateDict sd{{"w", Tensor::from_vector(v, {2, 5}, Device::cuda())}};
    std::string p = ::testing::TempDir() + "lrp_safetensors_cuda_" + std::to_string(::getpid()) + ".safetensors";
    save_safetensors(p, sd);
    StateDict back = load_safetensors(p);
    std::remove(p.c_str());
    EXPECT_TRUE(back.at("w").device().is_cpu());
    EXPECT_EQ(back.at("w").to_vector<float>(), v);
}
