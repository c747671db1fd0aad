// The test binary's main(): GoogleTest's, after the restart that gives OpenBLAS its fast kernels on CPUs it does not
// know (as lrpcu's main does), so the suite checks the numerics a user's runs get.
#include <gtest/gtest.h>

#include "lrp/ops/gemm.h"

int main(int argc, char** argv) {
    lrp::ops::reexec_for_openblas_core(argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
