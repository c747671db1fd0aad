// Shared by the libFuzzer harnesses (tests/fuzz, scripts/fuzz.sh): the parsers take paths, so each input is
// written to a file in a per-process temporary directory first.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace lrp::fuzz {

inline std::string tmpdir() {
    static const std::string d = [] {
        const char* base = std::getenv("TMPDIR");
        std::string t = std::string(base && *base ? base : "/tmp") + "/lrpcu-fuzz-XXXXXX";
        const char* r = ::mkdtemp(t.data());
        if (!r) std::abort();
        return std::string(r);
    }();
    return d;
}

inline void write_file(const std::string& path, const uint8_t* data, size_t size) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
}

}  // namespace lrp::fuzz
