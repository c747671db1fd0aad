// libFuzzer harness: checkpoint and exported-model metadata (recorded_state, read_checkpoint_state_if_any).
// Byte 0 even: the rest is the whole file. Odd: the rest is one metadata string ("lrpcu", "lrpcu.model",
// "lrpcu.class_names" or "lrpcu.normalize", by byte 0 >> 1) inside a valid safetensors file.
#include <exception>

#include <nlohmann/json.hpp>

#include "fuzz_common.h"
#include "lrp/train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const std::string p = lrp::fuzz::tmpdir() + "/in.safetensors";
    if (data[0] & 1) {
        static const char* const keys[] = {"lrpcu", "lrpcu.model", "lrpcu.class_names", "lrpcu.normalize"};
        nlohmann::json h = {{"__metadata__", {{keys[(data[0] >> 1) % 4], std::string(data + 1, data + size)}}},
                            {"w", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, 4}}}}};
        std::string text;
        try {
            text = h.dump();
        } catch (const std::exception&) {  // not UTF-8: a safetensors header cannot hold it
            return 0;
        }
        std::string file(8, '\0');  // little-endian header length, the header, one float
        for (int i = 0; i < 8; ++i) file[i] = static_cast<char>(uint64_t(text.size()) >> (8 * i));
        file += text + std::string(4, '\0');
        lrp::fuzz::write_file(p, reinterpret_cast<const uint8_t*>(file.data()), file.size());
    } else {
        lrp::fuzz::write_file(p, data + 1, size - 1);
    }
    try {
        (void)lrp::train::recorded_state(p);
    } catch (const std::exception&) {
    }
    try {
        (void)lrp::train::read_checkpoint_state_if_any(p);
    } catch (const std::exception&) {
    }
    return 0;
}
