// InterruptGuard: SIGINT/SIGTERM set a flag for the trainer; a second one gets the default action.
#include "lrp/train/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <cstring>

#include "lrp/error.h"

namespace lrp::train {

namespace {
std::atomic<int> g_signal{0};

extern "C" void on_signal(int sig) {
    g_signal.store(sig);
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);  // the next one ends the process
    static const char msg[] = "\nlrpcu: stopping after this step with a checkpoint (signal again to quit now)\n";
    const ssize_t w = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}
}  // namespace

InterruptGuard::InterruptGuard() {
    g_signal.store(0);
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // blocking reads and waits carry on; the trainer checks the flag per step
    LRP_CHECK(::sigaction(SIGINT, &sa, &old_int_) == 0 && ::sigaction(SIGTERM, &sa, &old_term_) == 0,
              "cannot install the interrupt handlers: ", std::strerror(errno));
}

InterruptGuard::~InterruptGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
}

int InterruptGuard::received() { return g_signal.load(); }

}  // namespace lrp::train
