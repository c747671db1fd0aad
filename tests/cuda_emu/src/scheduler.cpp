// CUDA emulation (tests only): runs a grid block by block; a block's threads are fibers that switch only at
// barriers (on x86-64 a register-only switch, no system call; elsewhere ucontext). Misuse a GPU would punish (a
// barrier some threads never reach, a shuffle with a lane that left) is reported as a launch failure naming
// it. LRP_EMU_ORDER=reverse runs threads last-first.
#include "lrp_emu/scheduler.h"

#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace lrp_emu {
namespace {

constexpr size_t kStack = 256 * 1024, kGuard = 4096;

struct Stack {
    char* base = nullptr;
    Stack() {
        void* p = mmap(nullptr, kStack + kGuard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::runtime_error("lrp_emu: cannot map a fiber stack");
        base = static_cast<char*>(p);
        mprotect(base, kGuard, PROT_NONE);  // an overflow faults instead of corrupting a neighbour
    }
    ~Stack() { munmap(base, kStack + kGuard); }
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;
};

// A suspended fiber (or the scheduler). On x86-64: its stack pointer, below which lrp_emu_switch saved the
// callee-saved registers and the SSE/x87 control words (the System V ABI's preserved state); swapcontext
// would also save the signal mask, two system calls per switch.
#if defined(__x86_64__)
#define LRP_EMU_FAST_SWITCH 1
struct Context {
    void* sp = nullptr;
};
extern "C" void lrp_emu_switch(void** save_sp, void* to_sp);
asm(R"(
    .text
    .p2align 4
    .globl lrp_emu_switch
    .hidden lrp_emu_switch
    .type lrp_emu_switch, @function
lrp_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size lrp_emu_switch, .-lrp_emu_switch
)");
#else
struct Context {
    ucontext_t uc;
};
#endif

void switch_to(Context& from, Context& to) {
#if LRP_EMU_FAST_SWITCH
    lrp_emu_switch(&from.sp, to.sp);
#else
    swapcontext(&from.uc, &to.uc);
#endif
}

enum class State { Runnable, Waiting, Done };

struct Warp {
    uint64_t slot[32] = {};
    unsigned arrived = 0;    // lanes waiting at the warp barrier
    unsigned mask = 0;       // the exchange's participants
};

struct Block {
    int n = 0;
    std::vector<Context> ctx;
    std::vector<State> state;
    std::vector<char> at_block;  // waiting at the block barrier (else at a warp barrier)
    int done = 0, arrived = 0;
    int or_acc = 0, or_result = 0;
    std::vector<Warp> warps;
    std::string error;
    Context sched;
    int cur = 0;
    const std::function<void()>* body = nullptr;
};

thread_local Block* g_block = nullptr;
thread_local std::vector<std::unique_ptr<Stack>> g_stacks;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

void set_thread(int t) {
    threadIdx.x = static_cast<unsigned>(t) % blockDim.x;
    threadIdx.y = (static_cast<unsigned>(t) / blockDim.x) % blockDim.y;
    threadIdx.z = static_cast<unsigned>(t) / (blockDim.x * blockDim.y);
}

// Suspends the running fiber until the barrier it waits at is released.
void wait_here(Block& b) {
    const int me = b.cur;
    b.state[me] = State::Waiting;
    switch_to(b.ctx[me], b.sched);
    if (!b.error.empty()) fail("aborted");  // another thread failed: unwind this one
}

void release_block(Block& b) {
    b.or_result = b.or_acc;
    b.or_acc = 0;
    b.arrived = 0;
    for (int t = 0; t < b.n; ++t)
        if (b.state[t] == State::Waiting && b.at_block[t]) b.state[t] = State::Runnable;
}

unsigned lanes_present(const Block& b, int w) {
    const int lanes = std::min(32, b.n - 32 * w);
    return lanes >= 32 ? 0xFFFFFFFFu : ((1u << lanes) - 1u);
}

// A warp barrier among the lanes of `mask`; every one of them must arrive.
void warp_barrier(Block& b, unsigned mask) {
    const int me = b.cur, w = me / 32, lane = me % 32;
    Warp& wp = b.warps[w];
    const unsigned want = mask & lanes_present(b, w);
    if (!(want >> lane & 1u)) fail("a lane outside the mask it passed took part in a warp exchange");
    if (wp.arrived == 0) wp.mask = want;
    else if (wp.mask != want) fail("lanes of one warp exchange passed different masks");
    wp.arrived |= 1u << lane;
    if (wp.arrived == want) {
        wp.arrived = 0;
        for (int l = 0; l < 32; ++l) {
            const int t = 32 * w + l;
            if ((want >> l & 1u) && t != me && b.state[t] == State::Waiting && !b.at_block[t])
                b.state[t] = State::Runnable;
        }
        return;
    }
    b.at_block[me] = 0;
    wait_here(b);
}

void trampoline() {
    Block& b = *g_block;
    try {
        (*b.body)();
    } catch (const std::exception& e) {
        if (b.error.empty()) b.error = e.what();
    }
    b.state[b.cur] = State::Done;
    ++b.done;
    // An exited thread counts as arrived at the block barrier (as on the hardware).
    if (b.arrived > 0 && b.arrived == b.n - b.done) release_block(b);
    const Warp& wp = b.warps[b.cur / 32];
    if (wp.arrived != 0 && (wp.mask >> (b.cur % 32) & 1u) && b.error.empty())
        b.error = "a thread exited while lanes of its warp waited for it in a warp exchange";
}

#if LRP_EMU_FAST_SWITCH
// A fiber's first frame: the body, then back to the scheduler for good (it never resumes a finished fiber).
[[noreturn]] void fiber_entry() {
    trampoline();
    Block& b = *g_block;
    switch_to(b.ctx[b.cur], b.sched);
    __builtin_trap();
}
#endif

// Prepares fiber t of `b` to start at the trampoline on `stack` when first switched to.
void start_fiber(Block& b, int t, Stack& stack) {
#if LRP_EMU_FAST_SWITCH
    // What lrp_emu_switch pops, from the lowest address: control words, r15..rbx, rbp (zero), the return address
    // (fiber_entry), and a null return address for fiber_entry itself, which so starts with rsp = 8 (mod 16).
    auto top = reinterpret_cast<uintptr_t>(stack.base + kGuard + kStack) & ~uintptr_t{15};
    auto* slot = reinterpret_cast<uint64_t*>(top);
    slot[-1] = 0;
    slot[-2] = reinterpret_cast<uint64_t>(&fiber_entry);
    for (int r = 3; r <= 8; ++r) slot[-r] = 0;
    uint32_t mxcsr = 0;
    uint16_t fpcw = 0;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpcw));
    slot[-9] = mxcsr | static_cast<uint64_t>(fpcw) << 32;
    b.ctx[t].sp = &slot[-9];
#else
    ucontext_t& uc = b.ctx[t].uc;
    getcontext(&uc);
    uc.uc_stack.ss_sp = stack.base + kGuard;
    uc.uc_stack.ss_size = kStack;
    uc.uc_link = &b.sched.uc;
    makecontext(&uc, trampoline, 0);
#endif
}

bool reverse_order() {
    static const bool r = [] {
        const char* e = std::getenv("LRP_EMU_ORDER");
        return e && std::string(e) == "reverse";
    }();
    return r;
}

std::string run_block(Block& b) {
    while (static_cast<int>(g_stacks.size()) < b.n) g_stacks.push_back(std::make_unique<Stack>());
    for (int t = 0; t < b.n; ++t) {
        start_fiber(b, t, *g_stacks[t]);
        b.state[t] = State::Runnable;
    }
    int live = b.n;
    while (live > 0) {
        bool ran = false;
        for (int k = 0; k < b.n; ++k) {
            const int t = reverse_order() ? b.n - 1 - k : k;
            if (b.state[t] != State::Runnable) continue;
            b.cur = t;
            set_thread(t);
            switch_to(b.sched, b.ctx[t]);
            ran = true;
            if (b.state[t] == State::Done) --live;
        }
        if (!ran && live > 0) {
            if (!b.error.empty()) return b.error;  // waiting fibers are abandoned
            return std::to_string(b.arrived) + " thread(s) wait at __syncthreads and " + std::to_string(live - b.arrived) +
                   " at a warp exchange that can never complete (a barrier inside divergent code?)";
        }
        if (!b.error.empty()) {
            // Let the others unwind: each resumes, sees the error and throws out of its body.
            for (int t = 0; t < b.n; ++t)
                if (b.state[t] == State::Waiting) b.state[t] = State::Runnable;
        }
    }
    return b.error;
}

}  // namespace

int block_barrier(int value) {
    Block& b = *g_block;
    const int me = b.cur;
    b.or_acc |= value;
    ++b.arrived;
    if (b.arrived == b.n - b.done) {
        release_block(b);
        return b.or_result;
    }
    b.at_block[me] = 1;
    wait_here(b);
    return b.or_result;
}

uint64_t warp_shfl_down(unsigned mask, uint64_t bits, unsigned delta, int width) {
    Block& b = *g_block;
    const int me = b.cur, w = me / 32, lane = me % 32;
    if (width <= 0 || width > 32 || (width & (width - 1))) fail("__shfl_down_sync width must be a power of two <= 32");
    Warp& wp = b.warps[w];
    wp.slot[lane] = bits;
    warp_barrier(b, mask);
    uint64_t out = bits;
    const int src = lane + static_cast<int>(delta);
    if ((lane % width) + static_cast<int>(delta) < width && src < 32) {
        if (!(wp.mask >> src & 1u)) fail("__shfl_down_sync read a lane that is not in the mask");
        out = wp.slot[src];
    }
    warp_barrier(b, mask);  // no lane overwrites its slot before every lane has read
    return out;
}

unsigned warp_match_any(unsigned mask, uint64_t bits) {
    Block& b = *g_block;
    const int me = b.cur;
    Warp& wp = b.warps[me / 32];
    wp.slot[me % 32] = bits;
    warp_barrier(b, mask);
    unsigned r = 0;
    for (int l = 0; l < 32; ++l)
        if ((wp.mask >> l & 1u) && wp.slot[l] == bits) r |= 1u << l;
    warp_barrier(b, mask);
    return r;
}

cudaError_t run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
    const uint64_t threads = static_cast<uint64_t>(block.x) * block.y * block.z;
    if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 ||
        grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
        return cudaErrorInvalidConfiguration;
    Block b;
    b.n = static_cast<int>(threads);
    b.ctx.resize(b.n);
    b.state.resize(b.n);
    b.at_block.resize(b.n);
    b.body = &body;
    Block* outer = g_block;
    g_block = &b;
    gridDim = grid;
    blockDim = block;
    std::string err;
    for (unsigned z = 0; z < grid.z && err.empty(); ++z)
        for (unsigned y = 0; y < grid.y && err.empty(); ++y)
            for (unsigned x = 0; x < grid.x && err.empty(); ++x) {
                blockIdx.x = x;
                blockIdx.y = y;
                blockIdx.z = z;
                b.warps.assign((b.n + 31) / 32, Warp{});
                b.done = b.arrived = b.or_acc = 0;
                err = run_block(b);
            }
    g_block = outer;
    if (!err.empty()) {
        std::fprintf(stderr, "lrp_emu: kernel failed in block (%u,%u,%u): %s\n", blockIdx.x, blockIdx.y, blockIdx.z,
                     err.c_str());
        return cudaErrorLaunchFailure;
    }
    return cudaSuccess;
}

}  // namespace lrp_emu
