// InterruptGuard: SIGINT/SIGTERM set a flag for the trainer; another one more than a second later gets the
// default action. SIGPIPE is ignored meanwhile: a closed pipe on stdout/stderr (`| tee` ended by the same
// Ctrl-C) makes writes fail instead of killing the run before its checkpoint.
#include "lrp/train/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <cstring>

#include "lrp/error.h"

namespace lrp::train {

namespace {
std::atomic<int> g_signal{0};
std::atomic<int64_t> g_first_ns{0};  // when the first signal came (CLOCK_MONOTONIC)
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<int64_t>::is_always_lock_free,
              "the signal handler needs lock-free atomics");

int64_t now_ns() {  // clock_gettime is async-signal-safe
    timespec t{};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// The first signal asks for a stop after the current step. A repeat within a second is taken as the same
// request delivered twice (a terminal's Ctrl-C reaches the whole process group, and wrappers such as
// timeout(1) forward it again), not as "quit now"; a later one ends the process with the default action.
extern "C" void on_signal(int sig) {
    const int saved_errno = errno;  // the interrupted code may be about to read it
    if (g_signal.load() == 0) {
        g_first_ns.store(now_ns());
        g_signal.store(sig);
        static const char msg[] = "\nlrpcu: stopping after this step or evaluation batch, with a checkpoint "
                                  "(signal again a second later to quit now)\n";
        const ssize_t w = ::write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        errno = saved_errno;
        return;
    }
    if (now_ns() - g_first_ns.load() < 1000000000) {
        errno = saved_errno;
        return;
    }
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);
    ::raise(sig);
}
}  // namespace

InterruptGuard::InterruptGuard() {
    g_signal.store(0);
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // blocking reads and waits carry on; the trainer checks the flag per step
    struct sigaction ign{};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    // SIGPIPE first (the handler writes to stderr, which may be a closed pipe); a failure puts back what was
    // installed so far, as the destructor would.
    const bool pipe = ::sigaction(SIGPIPE, &ign, &old_pipe_) == 0;
    const bool intr = pipe && ::sigaction(SIGINT, &sa, &old_int_) == 0;
    const bool term = intr && ::sigaction(SIGTERM, &sa, &old_term_) == 0;
    if (!term) {
        const int err = errno;
        if (intr) ::sigaction(SIGINT, &old_int_, nullptr);
        if (pipe) ::sigaction(SIGPIPE, &old_pipe_, nullptr);
        LRP_THROW("cannot install the interrupt handlers: ", std::strerror(err));
    }
}

InterruptGuard::~InterruptGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGPIPE, &old_pipe_, nullptr);
}

int InterruptGuard::received() { return g_signal.load(); }

}  // namespace lrp::train
