// libFuzzer harness: the MNIST idx loader. Byte 0 sets where the rest splits into the images and labels
// files, byte 1 the dataset name; a part starting with the gzip magic is written as .gz.
#include <exception>

#include "fuzz_common.h"
#include "lrp/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const size_t rest = size - 2, cut = rest * data[0] / 255;
    static const char* const names[] = {"mnist", "fashion-mnist", "other"};
    const uint8_t *a = data + 2, *b = a + cut;
    auto gz = [](const uint8_t* p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; };
    const std::string dir = lrp::fuzz::tmpdir();
    const std::string ip = dir + (gz(a, cut) ? "/images.gz" : "/images");
    const std::string lp = dir + (gz(b, rest - cut) ? "/labels.gz" : "/labels");
    lrp::fuzz::write_file(ip, a, cut);
    lrp::fuzz::write_file(lp, b, rest - cut);
    try {
        (void)lrp::data::load_idx(ip, lp, names[data[1] % 3]);
    } catch (const std::exception&) {
    }
    ::unlink(ip.c_str());
    ::unlink(lp.c_str());
    return 0;
}
