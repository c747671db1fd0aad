// Temporary files and folders that tests create outside a TempDirTest fixture: registered here and
// removed by test_main.cpp once every test of the process passed (kept and listed otherwise, or with LRP_KEEP_TEST_FILES=1).
#pragma once
#include <set>
#include <string>

namespace lrp::test {

inline std::set<std::string>& temp_paths() {
    static std::set<std::string> paths;
    return paths;
}
// Returns `path` after registering it for removal at the end of the test process.
inline const std::string& remove_at_exit(const std::string& path) {
    temp_paths().insert(path);
    return path;
}

}  // namespace lrp::test
