// InterruptGuard, the Ctrl-C handling of `lrpcu train`: signals set a flag while it lives, a repeat within a
// second is the same request, a later one quits, and the handlers from before come back.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include "lrp/train/interrupt.h"

using lrp::train::InterruptGuard;

// InterruptGuard: SIGINT and SIGTERM only set the flag while it lives (the process goes on), the first
// signal is the one reported, and the handlers that were there before come back when it goes.
namespace {
volatile std::sig_atomic_t g_previous_handler_calls = 0;
extern "C" void count_signal(int) { g_previous_handler_calls = g_previous_handler_calls + 1; }
}  // namespace

TEST(InterruptCpu, SignalsSetTheFlagAndTheOldHandlersComeBack) {
    auto old_int = std::signal(SIGINT, count_signal), old_term = std::signal(SIGTERM, count_signal);
    {
        InterruptGuard guard;
        EXPECT_EQ(InterruptGuard::received(), 0);
        ::testing::internal::CaptureStderr();
        std::raise(SIGTERM);
        const std::string err = ::testing::internal::GetCapturedStderr();
        EXPECT_EQ(InterruptGuard::received(), SIGTERM);
        EXPECT_NE(err.find("signal again a second later to quit now"), std::string::npos) << err;
        EXPECT_EQ(g_previous_handler_calls, 0) << "the old handler ran while the guard lived";
        std::raise(SIGINT);  // a repeat within a second is the same request: the process goes on
        EXPECT_EQ(InterruptGuard::received(), SIGTERM);
        std::raise(SIGPIPE);  // ignored while the guard lives: a closed output pipe fails writes instead
    }
    {
        InterruptGuard again;  // a new guard starts clear
        EXPECT_EQ(InterruptGuard::received(), 0);
        std::raise(SIGINT);
        EXPECT_EQ(InterruptGuard::received(), SIGINT);
    }
    std::raise(SIGINT);
    std::raise(SIGTERM);
    EXPECT_EQ(g_previous_handler_calls, 2) << "the handlers from before the guard did not come back";
    struct sigaction pipe_now{};
    ::sigaction(SIGPIPE, nullptr, &pipe_now);
    EXPECT_EQ(pipe_now.sa_handler, SIG_DFL) << "SIGPIPE's handler from before the guard did not come back";
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
}

// A second signal more than a second after the first ends the process with the signal's default action.
TEST(InterruptCpuDeathTest, ASecondSignalLaterQuitsNow) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(
        {
            InterruptGuard guard;
            std::raise(SIGINT);
            std::this_thread::sleep_for(std::chrono::milliseconds(1100));
            std::raise(SIGINT);
            std::exit(0);  // not reached
        },
        ::testing::KilledBySignal(SIGINT), "");
}
