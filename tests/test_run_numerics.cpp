// What computes a run (its rounding): the CPU GEMM's description, recorded in every checkpoint; --resume warns when
// the checkpoint's run was computed otherwise (another library or CPU kernel set), as the run can then no longer
// equal an uninterrupted one bit for bit, with a hint at the likely cause; the record's kind is checked. A CUDA run's
// record names the GPU and the cuBLAS and cuDNN versions.
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "../trainers/src/run_settings.h"
#include "lrp/config.h"
#include "lrp/device.h"
#include "lrp/log.h"
#include "lrp/ops/gemm.h"
#include "lrp/timer.h"
#include "lrp/train/checkpoint.h"
#include "test_util.h"
#include "trainer_test_util.h"

#if LRP_HAVE_OPENBLAS_INFO
extern "C" {  // OpenBLAS's (the library lrp_kernels links)
int openblas_get_num_threads(void);
int openblas_get_parallel(void);
}
#endif

using namespace lrp;
using namespace lrp::train;
using namespace lrp::test;

TEST(RunNumerics, CpuGemmIsDescribed) {
    const std::string d = ops::cpu_gemm_description();
    // Another GEMM tile size (scripts/test.sh sets one) rounds otherwise, so the description names it.
    const char* tw = std::getenv("LRP_CPU_TILE_WORK");
    const std::string tiles = tw && std::string(tw) != "16777216" ? std::string(", tile work ") + tw : "";
    ASSERT_GE(d.size(), tiles.size());
    EXPECT_EQ(d.substr(d.size() - tiles.size()), tiles) << d;
#if LRP_HAVE_OPENBLAS_INFO
    EXPECT_EQ(d.rfind("OpenBLAS ", 0), 0u) << d;
    EXPECT_NE(d.find("(core "), std::string::npos) << d;
    // lrpcu holds OpenBLAS at one thread, and tiles products over its own threads unless OpenBLAS is a sequential
    // build, so no thread count enters the rounding.
    const char* split = openblas_get_parallel() ? ", lrpcu tiles), split v2" : ", one thread), split v2";
    EXPECT_NE(d.find(split), std::string::npos) << d;
    EXPECT_EQ(openblas_get_num_threads(), 1);
#elif LRP_HAVE_CBLAS
    EXPECT_EQ(d, "CBLAS, split v2" + tiles);
#else
    EXPECT_EQ(d, "lrpcu blocked GEMM (lrpcu tiles), split v2" + tiles);
#endif
}

TEST(RunNumerics, CudaLibraryVersionsAreDescribed) {
    const std::string math = cuda_math_library_versions(), runtime = cuda_runtime_versions();
    if (!cuda_built()) {
        EXPECT_EQ(math, "");
        EXPECT_EQ(runtime, "");
        return;
    }
    // No device or driver is needed (this runs on the GPU-less CI machines too).
    const std::string version = "[0-9]+\\.[0-9]+\\.[0-9]+", built = "( \\(built with " + version + "\\))?";
    EXPECT_TRUE(std::regex_match(math, std::regex("cuBLAS " + version + built + ", cuDNN " + version + built))) << math;
    const std::string driver = "([0-9]+\\.[0-9]+|none|not queried \\(LRP_DISABLE_CUDA=1\\))";
    EXPECT_TRUE(std::regex_match(runtime, std::regex("runtime [0-9]+\\.[0-9]+, driver " + driver))) << runtime;
    EXPECT_EQ(cuda_math_library_versions(), math) << "stable";
}

TEST(RunNumerics, CudaRunRecordsGpuAndLibraries) {
    LRP_SKIP_WITHOUT_CUDA();
    const std::string d = fresh_dir("numerics_cuda");
    TrainConfig c = tiny(d);
    c.device = "cuda";
    c.epochs = 1;
    run_training(c);
    EXPECT_EQ(read_checkpoint_state(d + "/checkpoint.safetensors").numerics,
              "cuda: " + device_name(Device::cuda(0)) + ", " + cuda_math_library_versions());
}

TEST(RunNumerics, RecordedAndAResumeComputedOtherwiseWarns) {
    const std::string d = fresh_dir("numerics");
    TrainConfig c = tiny(d);
    c.epochs = 1;
    run_training(c);
    const std::string ckpt = d + "/checkpoint.safetensors";
    EXPECT_EQ(read_checkpoint_state(ckpt).numerics, "cpu: " + ops::cpu_gemm_description());
    // Resumed where it ran: no warning.
    c.epochs = 2;
    c.resume = true;
    ::testing::internal::CaptureStderr();
    run_training(c);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.find("was computed with"), std::string::npos) << err;
    // A checkpoint from another machine's GEMM: the resume says so, naming both, and goes on.
    edit_checkpoint_state(ckpt, ckpt, [](nlohmann::json& j) { j["numerics"] = "cpu: another GEMM (64 threads)"; });
    c.epochs = 3;
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(run_training(c).epochs, 3);
    err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("--resume: the run so far was computed with cpu: another GEMM (64 threads), this one with cpu: " +
                       ops::cpu_gemm_description() + "; the rest of the run rounds otherwise"),
              std::string::npos)
        << err;
    EXPECT_EQ(read_checkpoint_state(ckpt).numerics, "cpu: " + ops::cpu_gemm_description()) << "later checkpoints";
    // Hints at the likely cause: another OpenBLAS (or CPU kind), or another backend.
    if (ops::cpu_gemm_description().rfind("OpenBLAS", 0) == 0) {
        const std::string other = "cpu: OpenBLAS 0.3.9 (core Haswell, lrpcu tiles), split v2";
        edit_checkpoint_state(ckpt, ckpt, [&](nlohmann::json& j) { j["numerics"] = other; });
        c.epochs = 4;
        ::testing::internal::CaptureStderr();
        run_training(c);
        err = ::testing::internal::GetCapturedStderr();
        EXPECT_NE(err.find("bit for bit (another OpenBLAS version, or a CPU of another kind"), std::string::npos)
            << err;
    }
    const std::string gpu_run = "cuda: NVIDIA H100 80GB HBM3, cuBLAS 12.4.5, cuDNN 9.1.0";
    edit_checkpoint_state(ckpt, ckpt, [&](nlohmann::json& j) { j["numerics"] = gpu_run; });
    c.epochs = 5;
    ::testing::internal::CaptureStderr();
    run_training(c);
    err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("computed with " + gpu_run + ", this one with cpu: "), std::string::npos) << err;
    EXPECT_NE(err.find("bit for bit (--device as the run had keeps its backend)"), std::string::npos) << err;
    // An older checkpoint without the record: no warning; a record of the wrong kind: corrupt metadata, named.
    edit_checkpoint_state(ckpt, ckpt, [](nlohmann::json& j) { j.erase("numerics"); });
    EXPECT_EQ(read_checkpoint_state(ckpt).numerics, "");
    c.epochs = 6;
    ::testing::internal::CaptureStderr();
    run_training(c);
    err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.find("was computed with"), std::string::npos) << err;
    edit_checkpoint_state(ckpt, ckpt, [](nlohmann::json& j) { j["numerics"] = 3; });
    expect_error([&] { read_checkpoint_state(ckpt); }, {"corrupt checkpoint metadata: numerics is 3, not a string"});
}

// The hint names the likely cause: lrpcu's own split revision, another OpenBLAS or CPU, another GPU or library, another
// backend; a GPU record from before the library versions were is only a note.
TEST(RunNumerics, ResumeWarningNamesTheLikelyCause) {
    struct ScopedLevel {
        LogLevel prev = log_level();
        ScopedLevel() { set_log_level(LogLevel::Info); }
        ~ScopedLevel() { set_log_level(prev); }
    } level;
    auto said = [](const std::string& recorded, const std::string& now) {
        ::testing::internal::CaptureStderr();
        warn_if_numerics_changed(recorded, now);
        return ::testing::internal::GetCapturedStderr();
    };
    const std::string v2 = "cpu: OpenBLAS 0.3.21 (core Cooperlake, lrpcu tiles), split v2";
    EXPECT_EQ(said(v2, v2), "");
    EXPECT_EQ(said("", v2), "") << "a checkpoint from before the record";
    std::string out = said("cpu: OpenBLAS 0.3.21 (core Cooperlake, lrpcu tiles)", v2);
    EXPECT_NE(out.find("bit for bit (lrpcu's own split of the CPU work changed: the run's record has no split "
                       "revision, this lrpcu split v2)"),
              std::string::npos)
        << out;
    out = said("cpu: OpenBLAS 0.3.21 (core Cooperlake, lrpcu tiles), split v1", v2);
    EXPECT_NE(out.find("the run's record has split v1, this lrpcu split v2)"), std::string::npos) << out;
    out = said("cpu: OpenBLAS 0.3.21 (core Haswell, lrpcu tiles), split v2", v2);
    EXPECT_NE(out.find("(another OpenBLAS version, or a CPU of another kind"), std::string::npos) << out;
    const std::string gpu = "cuda: NVIDIA H100 80GB HBM3, cuBLAS 13.1.0, cuDNN 9.19.0";
    out = said("cuda: NVIDIA H100 80GB HBM3, cuBLAS 12.4.5, cuDNN 9.1.0", gpu);
    EXPECT_NE(out.find("bit for bit (another GPU model, or other cuBLAS/cuDNN versions)"), std::string::npos) << out;
    out = said(v2, gpu);
    EXPECT_NE(out.find("bit for bit (--device as the run had keeps its backend)"), std::string::npos) << out;
    out = said("cuda: NVIDIA H100 80GB HBM3", gpu);
    EXPECT_EQ(out.find("rounds otherwise"), std::string::npos) << out;
    EXPECT_NE(out.find("the run so far recorded its GPU (NVIDIA H100 80GB HBM3) but not its library versions; it "
                       "continues bit for bit if they were the same as now (cuBLAS 13.1.0, cuDNN 9.19.0)"),
              std::string::npos)
        << out;
    out = said("cuda: NVIDIA A100-SXM4-40GB", gpu);
    EXPECT_NE(out.find("(another GPU model, or other cuBLAS/cuDNN versions)"), std::string::npos) << out;
}
