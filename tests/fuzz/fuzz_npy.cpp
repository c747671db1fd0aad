// libFuzzer harness: the .npy reader on arbitrary bytes.
#include <exception>

#include "fuzz_common.h"
#include "lrp/data/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string p = lrp::fuzz::tmpdir() + "/in.npy";
    lrp::fuzz::write_file(p, data, size);
    try {
        (void)lrp::data::read_npy(p);
    } catch (const std::exception&) {
    }
    return 0;
}
