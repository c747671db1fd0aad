// The CUDA conv2d when cuDNN refuses to run the algorithm its heuristics offered (a NOT_SUPPORTED status at
// execution, as PyTorch's try_all guards against): the shape is planned again without it, the result still
// matches the CPU, and with nothing left the error says so. Refusals are injected by the CUDA emulation
// (LRP_EMU_CUDNN_REFUSE); on a real GPU this test skips (cuDNN cannot be made to refuse on demand).
#include <cstdlib>

#include "../kernels/api/conv_algo_stats.h"
#include "conv2d_test_util.h"

using namespace lrp;
using namespace lrp::convtest;

namespace {
#ifdef LRP_TESTS_CUDA_EMULATED
constexpr bool kEmulated = true;
#else
constexpr bool kEmulated = false;
#endif

// Sets LRP_EMU_CUDNN_REFUSE for a scope.
struct Refusing {
    explicit Refusing(const char* list) { setenv("LRP_EMU_CUDNN_REFUSE", list, 1); }
    ~Refusing() { unsetenv("LRP_EMU_CUDNN_REFUSE"); }
};
}  // namespace

TEST(Conv2dCuda, RefusedAlgorithmIsPlannedAround) {
    LRP_SKIP_WITHOUT_CUDA();
    if (!kEmulated) GTEST_SKIP() << "refusals are injected by the CUDA emulation only";
    Tf32Off tf32_off;
    // Shapes no other test uses, so their plans are made here. The emulation's rankings without TF32:
    // forward IMPLICIT_GEMM then WINOGRAD_NONFUSED; backward-data ALGO_1 (the deterministic one) then ALGO_0;
    // backward-filter ALGO_1 then ALGO_0.
    const ConvCase c{2, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, true};
    const Conv2dDesc d = c.desc();
    {
        Refusing r("fwd:0,dgrad:1,wgrad:1");
        const auto s0 = kernels::conv_algo_cache_stats();
        compare_cuda_with_cpu(d, ConvData(d, c.bias, 1900), /*exact=*/false);
        const auto s1 = kernels::conv_algo_cache_stats();
        EXPECT_EQ(s1.refused - s0.refused, 3) << "one refusal per direction";
        compare_cuda_with_cpu(d, ConvData(d, c.bias, 1901), /*exact=*/false);
        EXPECT_EQ(kernels::conv_algo_cache_stats().refused, s1.refused) << "the new plans are kept";
    }
    const ConvCase none{2, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, false};
    const Conv2dDesc nd = none.desc();
    Refusing r("fwd:0,fwd:7");  // every forward algorithm that qualifies without TF32
    try {
        run_fwd_cuda(nd, ConvData(nd, false, 1902));
        ADD_FAILURE() << "ran although every algorithm was refused";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("2 refused by cuDNN at run time"), std::string::npos) << m;
        EXPECT_NE(m.find("CUDNN_STATUS_NOT_SUPPORTED_SHAPE"), std::string::npos) << "the status is named: " << m;
    }
}
