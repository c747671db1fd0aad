// The test binary's main(): GoogleTest's, after the restart that gives OpenBLAS its fast kernels on CPUs it does not
// know (as lrpcu's main does), so the suite checks the numerics a user's runs get. The temporary paths tests
// registered (temp_paths.h) go once all passed; a failure keeps them for inspection and lists them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>

#include "lrp/ops/gemm.h"
#include "temp_paths.h"

int main(int argc, char** argv) {
    lrp::ops::reexec_for_openblas_core(argv);
    ::testing::InitGoogleTest(&argc, argv);
    const int rc = RUN_ALL_TESTS();
    const char* keep = std::getenv("LRP_KEEP_TEST_FILES");
    const bool kept = rc != 0 || (keep != nullptr && *keep != '\0' && std::string(keep) != "0");
    for (const std::string& p : lrp::test::temp_paths()) {
        std::error_code ec;
        if (kept) {
            if (std::filesystem::exists(p, ec)) std::cerr << "kept test files: " << p << "\n";
        } else {
            std::filesystem::remove_all(p, ec);
        }
    }
    return rc;
}
