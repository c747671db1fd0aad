// lrpcu: the command-line entry point. Subcommands: train, eval, explain (and --version). Errors print
// one clear line and exit non-zero; nothing here calls exit() mid-run.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <cstring>

#include "cli.h"
#include "lrp/config.h"
#include "lrp/device.h"
#include "lrp/error.h"
#include "lrp/log.h"
#include "lrp/ops/gemm.h"

namespace lrp::cli {

namespace {
// CLI11 converts an empty value of a number or a boolean to 0 or false ("--lr $LR" with LR unset would train at
// learning rate 0): such options refuse an empty value. eval and explain read an empty text value as the option
// left out ("--data-dir $DIR" with DIR unset would take the recorded folder without a word), so there text options
// refuse one too; train keeps them: there "" clears a --config file's or a checkpoint's value (--init-weights "").
void refuse_empty_values(CLI::App& app, bool keep_empty_text) {
    for (CLI::Option* opt : app.get_options()) {
        const std::string t = opt->get_type_name();
        if (opt->get_expected_min() < 1 || t.empty()) continue;  // flags without a value
        const bool number = t.find("FLOAT") != std::string::npos || t.find("INT") != std::string::npos;
        const bool boolean = t.find("BOOLEAN") != std::string::npos;
        if (!number && !boolean && keep_empty_text) continue;
        const std::string why = boolean ? "an empty value is not true or false"
                              : number  ? "an empty value is not a number"
                                        : "the value is empty (an unset shell variable?)";
        const bool integer = t.find("INT") != std::string::npos, is_unsigned = t.rfind("UINT", 0) == 0;
        opt->check(CLI::Validator(
            [why, integer, is_unsigned](std::string& v) {
                if (v.empty()) return why;
                if (!integer) return std::string();
                // CLI11 clamps a 64-bit integer beyond its range to the largest value, and wraps a negative one
                // for an unsigned option: refuse both (it parses with base 0, so do we; what does not parse at all
                // is left to its own message).
                if (is_unsigned && v.find_first_not_of(" \t") != std::string::npos && v[v.find_first_not_of(" \t")] == '-')
                    return std::string("must be a non-negative integer");
                errno = 0;
                char* end = nullptr;
                if (is_unsigned) (void)std::strtoull(v.c_str(), &end, 0);
                else (void)std::strtoll(v.c_str(), &end, 0);
                if (end != v.c_str() && errno == ERANGE) return std::string("'") + v + "' is out of range";
                return std::string();
            },
            ""));
    }
}
}  // namespace

int parse_args(CLI::App& app, const std::vector<std::string>& args, bool quiet, bool keep_empty_text) {
    refuse_empty_values(app, keep_empty_text);
    std::vector<std::string> rev(args.rbegin(), args.rend());  // CLI11 takes arguments in reverse order
    try {
        app.parse(rev);
    } catch (const CLI::CallForHelp&) {
        std::printf("%s", app.help().c_str());
        return 0;
    } catch (const CLI::ParseError& e) {
        if (quiet) return -1;
        std::fprintf(stderr, "%s: error: %s\nRun with --help for the list of options.\n", app.get_name().c_str(),
                     e.what());
        return 2;
    }
    return -1;
}

}  // namespace lrp::cli

namespace {
const char* kUsage =
    "usage: lrpcu <command> [options]\n"
    "commands:\n"
    "  train   train a ResNet/VGG classifier (lrpcu train --help)\n"
    "  eval    evaluate a checkpoint or PyTorch weights on a dataset split (lrpcu eval --help)\n"
    "  explain LRP relevance maps and heatmaps of dataset samples, PNG/JPEG files or a .npy array\n"
    "          (lrpcu explain --help)\n"
    "  --version  the version, the CPU GEMM and kernel threads, the build's backends, the CUDA libraries and the\n"
    "             CUDA devices this process sees\n";

// For bug reports and benchmark records: what was built and what it runs on.
void print_version() {
    std::printf("lrpcu %s\n", LRP_VERSION);
    std::printf("CPU GEMM: %s\n", lrp::ops::cpu_gemm_description().c_str());
    try {
        const int n = lrp::ops::cpu_kernel_threads();
        std::printf("CPU kernels: %d thread%s\n", n, n == 1 ? "" : "s");
    } catch (const lrp::Error& e) {
        std::printf("CPU kernels: %s\n", e.what());
    }
    std::printf("backends: cpu (%s GEMM)%s\n",
                LRP_HAVE_OPENBLAS_INFO ? "OpenBLAS" : (LRP_HAVE_CBLAS ? "CBLAS" : "built-in blocked"),
                LRP_HAVE_CUDA ? (LRP_HAVE_CUDNN ? ", cuda + cuDNN (" LRP_CUDA_TARGET ")" : ", cuda (" LRP_CUDA_TARGET ")")
                              : " only (built without CUDA)");
    if (lrp::cuda_built()) {
        std::printf("CUDA libraries: %s, %s\n", lrp::cuda_runtime_versions().c_str(),
                    lrp::cuda_math_library_versions().c_str());
        std::printf("CUDA devices: %d (%s)\n", lrp::cuda_device_count(), lrp::cuda_probe_message().c_str());
    }
}
}

int main(int argc, char** argv) {
    // OpenBLAS's fast kernels on CPUs newer than it (it reads its core choice only as it loads).
    lrp::ops::reexec_for_openblas_core(argv);
    (void)lrp::log_level();  // reads LRP_LOG_LEVEL now (after the re-exec): a misspelt one is said once, even unused
    // Line-buffered output even into a file or pipe: a process ended by a signal loses no finished line.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    // A file-size limit (ulimit -f) makes a write fail with EFBIG, which the checked writers report (naming the file
    // and keeping the previous one), instead of ending the process with SIGXFSZ and a temporary file behind.
    std::signal(SIGXFSZ, SIG_IGN);
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::printf("%s", kUsage);
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version") || !std::strcmp(argv[1], "version")) {
        print_version();
        return 0;
    }
    std::vector<std::string> args(argv + 2, argv + argc);
    const std::string cmd = argv[1];
    try {
        lrp::ops::cpu_kernel_threads();  // names a bad LRP_CPU_THREADS before any work
        if (cmd == "train") return lrp::cli::run_train(args);
        if (cmd == "eval") return lrp::cli::run_eval(args);
        if (cmd == "explain") return lrp::cli::run_explain(args);
        std::fprintf(stderr, "lrpcu: unknown command '%s'\n%s", cmd.c_str(), kUsage);
        return 2;
    } catch (const lrp::Error& e) {
        std::fprintf(stderr, "lrpcu %s: error: %s\n", cmd.c_str(), e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lrpcu %s: unexpected error: %s\n", cmd.c_str(), e.what());
        return 1;
    }
}
