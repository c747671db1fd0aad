// Graceful stop of a training run: while an InterruptGuard lives, SIGINT and SIGTERM only set a flag
// (the trainer finishes its step, saves a mid-epoch checkpoint and returns); another signal more than a second
// later acts as the default (the process ends at once). SIGPIPE is ignored meanwhile (a pipe closed by the
// same Ctrl-C fails writes instead of killing the run). The previous handlers come back when the guard goes.
#pragma once
#include <csignal>

namespace lrp::train {

class InterruptGuard {
public:
    InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

    // The signal received since the guard was made (0: none).
    static int received();

private:
    struct sigaction old_int_{}, old_term_{}, old_pipe_{};
};

}  // namespace lrp::train
