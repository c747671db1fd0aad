// Op profile: with LRP_OP_PROFILE set, the time of every op-table call and device copy, by name and device,
// reported when the process ends (LRP_OP_PROFILE=1: on stderr; any other value: written to that file).
// CUDA: device time between events recorded on the device stream around the call; CPU: the call's wall time.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lrp/device.h"

namespace lrp::profile {

// Whether calls are timed: LRP_OP_PROFILE (unset, empty or "0": off), or set_enabled() (tests).
bool enabled();
void set_enabled(bool on);

// Times the work queued between construction and destruction under `name` (a string literal: kept by
// pointer). A CUDA stream in a graph capture is not timed (an event there is a graph node, not a time).
class Scope {
public:
    Scope(const char* name, Device d);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

private:
    const char* name_;
    Device device_;
    int64_t t0_ns_ = -1;      // CPU: the start (-1: not timed)
    void* start_ = nullptr;   // CUDA: the event pair around the call (null: not timed)
    void* stop_ = nullptr;
};

struct Row {
    std::string device;  // "cpu", "cuda:0"
    std::string name;
    int64_t calls = 0;
    double total_ms = 0;
};
// Every row so far, the pending CUDA timings resolved (waits for their events), largest total first.
std::vector<Row> rows();
// rows() as a table with each op's share of its device's total.
std::string report();
void reset();

}  // namespace lrp::profile
