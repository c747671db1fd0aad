// libFuzzer harness: the CIFAR binary loaders. Byte 0 picks CIFAR-10, CIFAR-100 fine or coarse; the rest is
// the test batch file.
#include <exception>

#include "fuzz_common.h"
#include "lrp/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const int which = data[0] % 3;
    const std::string dir = lrp::fuzz::tmpdir() + "/cifar";
    ::mkdir(dir.c_str(), 0700);
    const std::string p = dir + (which == 0 ? "/test_batch.bin" : "/test.bin");
    lrp::fuzz::write_file(p, data + 1, size - 1);
    try {
        if (which == 0) (void)lrp::data::load_cifar10(dir, lrp::data::Split::Test);
        else (void)lrp::data::load_cifar100(dir, lrp::data::Split::Test, which == 2);
    } catch (const std::exception&) {
    }
    ::unlink(p.c_str());
    return 0;
}
