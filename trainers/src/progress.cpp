// Progress bar (\r-updated on a TTY) and plain progress lines (logs, CI), with images/s and ETA.
#include "lrp/train/progress.h"

#include <unistd.h>

#include <cstdio>

namespace lrp::train {

bool stdout_is_tty() { return isatty(fileno(stdout)) != 0; }

std::string format_duration(double s) {
    if (!(s >= 0) || s > 1e7) return "?";
    const int64_t t = static_cast<int64_t>(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60), (long long)(t % 60));
    else std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(t / 60), (long long)(t % 60));
    return buf;
}

Progress::Progress(std::string label, int64_t total, bool tty, int64_t first_step, int64_t first_images)
    : label_(std::move(label)), total_(total), tty_(tty), first_step_(first_step), first_images_(first_images),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t step, double loss, double acc, int64_t images) {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double ips = el > 0 ? (images - first_images_) / el : 0;
    const double eta = step > first_step_ ? el / (step - first_step_) * (total_ - step) : -1;
    if (tty_) {
        const int width = 24, filled = total_ > 0 ? static_cast<int>(width * step / total_) : 0;
        std::string bar(filled, '#');
        bar.resize(width, '.');
        std::printf("\r%s [%s] %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s   ", label_.c_str(), bar.c_str(),
                    (long long)step, (long long)total_, loss, 100 * acc, ips, format_duration(eta).c_str());
    } else {
        std::printf("%s step %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s\n", label_.c_str(), (long long)step,
                    (long long)total_, loss, 100 * acc, ips, format_duration(eta).c_str());
    }
    std::fflush(stdout);
}

void Progress::finish() {
    if (tty_) std::printf("\n");
    std::fflush(stdout);
}

}  // namespace lrp::train
