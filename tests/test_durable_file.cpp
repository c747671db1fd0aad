// Durable file writes (lrp/durable_file.h): a failed atomic write leaves the target and no temporary file,
// appends are checked, PNG outputs too, and the names of leftover temporary files are recognised exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "lrp/durable_file.h"
#include "lrp/error.h"
#include "lrp/train/preview.h"
#include "test_util.h"

namespace lrp {
namespace {

class DurableFileCpu : public test::TempDirTest {
protected:
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    size_t files() const {
        size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++n;
        return n;
    }
};

TEST_F(DurableFileCpu, AtomicWriteReplacesOrLeavesTheTargetAsItWas) {
    const std::string p = path("config.json");
    write_file_atomic(p, [](FileSink& f) { f.write("old\n"); }, "test");
    write_file_atomic(p, [](FileSink& f) { f.write("new\n"); }, "test");
    EXPECT_EQ(test::read_all(p), "new\n");
    try {  // a failure inside the write: the target stays, the temporary file goes
        write_file_atomic(p, [](FileSink& f) { f.write("half"); LRP_THROW("stopped midway"); }, "test");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("stopped midway ('" + p + "' is unchanged)"), std::string::npos)
            << e.what();
    }
    {
        test::FileSizeLimit limit(16);  // the disk fills (EFBIG)
        const std::string big(1000, 'x');
        EXPECT_THROW(write_file_atomic(p, [&](FileSink& f) { f.write(big); }, "test"), Error);
        EXPECT_THROW(append_file_durable(p, big, "test"), Error) << "a failed append is an error";
    }
    EXPECT_EQ(test::read_all(p), "new\n") << "a failed append leaves no partial line behind";
    EXPECT_EQ(files(), 1u) << "a temporary file was left behind";
    append_file_durable(path("metrics.jsonl"), "a\n", "test");
    append_file_durable(path("metrics.jsonl"), "b\n", "test");
    EXPECT_EQ(test::read_all(path("metrics.jsonl")), "a\nb\n");
    EXPECT_THROW(append_file_durable(path("no/such/dir/m.jsonl"), "a\n", "test"), Error);
}

// A rewrite keeps the file's permissions, and a link's file is rewritten (the link stays a link).
TEST_F(DurableFileCpu, AtomicWriteKeepsModeAndFollowsLinks) {
    const std::string p = path("private.json"), link = path("link.json");
    write_file_atomic(p, [](FileSink& f) { f.write("one\n"); }, "test");
    ASSERT_EQ(::chmod(p.c_str(), 0600), 0);
    write_file_atomic(p, [](FileSink& f) { f.write("two\n"); }, "test");
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::symlink("private.json", link.c_str()), 0);
    write_file_atomic(link, [](FileSink& f) { f.write("three\n"); }, "test");
    ASSERT_EQ(::lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link was replaced by a file";
    EXPECT_EQ(test::read_all(p), "three\n");
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // an append through a dangling link creates its file (O_EXCL refused it)
    ASSERT_EQ(::symlink("rows.jsonl", path("metrics.jsonl").c_str()), 0);
    append_file_durable(path("metrics.jsonl"), "a\n", "test");
    EXPECT_EQ(test::read_all(path("rows.jsonl")), "a\n");
}

// PNG outputs (previews, heatmaps, plots) go through the same checked write, without the fsyncs: a full disk is an
// error, and neither a cut-off PNG nor a temporary file stays behind (stb's own writer reported success there).
TEST_F(DurableFileCpu, PngOnAFullDiskIsAnErrorAndLeavesNoCutOffFile) {
    std::vector<uint8_t> rgb(64 * 64 * 3);
    uint64_t state = 0x9E3779B97F4A7C15ull;  // xorshift noise: incompressible
    for (uint8_t& v : rgb) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        v = static_cast<uint8_t>(state >> 56);
    }
    const std::string p = path("heatmap_0000.png");
    train::write_png_rgb(p, rgb, 64, 64);
    const std::string good = test::read_all(p);
    ASSERT_GT(good.size(), 4096u);
    EXPECT_EQ(good.substr(1, 3), "PNG");
    {
        test::FileSizeLimit limit(4096);
        EXPECT_THROW(train::write_png_rgb(p, rgb, 64, 64), Error);
        EXPECT_THROW(train::write_png_rgb(path("overlay_0000.png"), rgb, 64, 64), Error);
    }
    EXPECT_EQ(test::read_all(p), good) << "the earlier PNG changed";
    EXPECT_FALSE(std::filesystem::exists(path("overlay_0000.png"))) << "a cut-off PNG was left";
    EXPECT_EQ(files(), 1u) << "a temporary file was left behind";
}

TEST(DurableFileNames, LeftoverTemporaryFilesAreRecognisedExactly) {
    EXPECT_TRUE(is_atomic_temp_of("checkpoint.safetensors.tmp.123.0", "checkpoint.safetensors"));
    EXPECT_TRUE(is_atomic_temp_of("config.json.tmp.9.17", "config.json"));
    for (const char* other : {"checkpoint.safetensors", "checkpoint.safetensors.tmp", "checkpoint.safetensors.tmp.",
                              "checkpoint.safetensors.tmp.12", "checkpoint.safetensors.tmp.12.", "checkpoint.safetensors.tmp.a.1",
                              "checkpoint.safetensors.tmp.1.2.3", "model.safetensors.tmp.1.2", "xcheckpoint.safetensors.tmp.1.2"})
        EXPECT_FALSE(is_atomic_temp_of(other, "checkpoint.safetensors")) << other;
}

}  // namespace
}  // namespace lrp
