// Progress display for training: a single updating bar on a terminal, plain lines otherwise.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lrp::train {

class Progress {
public:
    // An epoch resumed mid-way starts at first_step with first_images done: rates and ETA count from there.
    Progress(std::string label, int64_t total_steps, bool tty, int64_t first_step = 0, int64_t first_images = 0);
    // loss/acc are running means over the epoch so far; images counts images processed this epoch.
    void update(int64_t step, double loss, double acc, int64_t images);
    void finish();

private:
    std::string label_;
    int64_t total_;
    bool tty_;
    int64_t first_step_, first_images_;
    std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);  // "1:02:03" / "2:03"
bool stdout_is_tty();

}  // namespace lrp::train
