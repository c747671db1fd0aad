// libFuzzer harness: safetensors header and tensor loading on arbitrary bytes (an lrp::Error is the right
// answer to bad input; a crash, sanitizer report or hang is a finding).
#include <exception>
#include <map>

#include "fuzz_common.h"
#include "lrp/nn/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string p = lrp::fuzz::tmpdir() + "/in.safetensors";
    lrp::fuzz::write_file(p, data, size);
    try {
        (void)lrp::nn::read_safetensors_header(p);
    } catch (const std::exception&) {
    }
    try {
        std::map<std::string, std::string> meta;
        (void)lrp::nn::load_safetensors(p, &meta);
    } catch (const std::exception&) {
    }
    return 0;
}
