#!/usr/bin/env bash
# The README's test command: installs missing build dependencies, builds, and runs every test with ctest.
# Usage: scripts/test.sh [--cpu-only] [--sanitize] [--thread-sanitizer] [--cuda-emulation] [--build-dir DIR]
#   --cpu-only   configure with -DLRP_ENABLE_CUDA=OFF (the no-nvcc path), in build-cpu/ by default
#   --sanitize   CPU-only build with AddressSanitizer, LeakSanitizer and UBSan (any report fails the test),
#                in build-asan/ by default; the CUDA runtime does not run under ASan, hence CPU-only. Without
#                OpenBLAS, so the whole suite also runs on lrpcu's own GEMM (as the GPU machine's build does)
#   --thread-sanitizer  CPU-only build with ThreadSanitizer, in build-tsan/ by default; runs the tests of the code
#                that starts threads (CPU pool, streaming loader, folder statistics, interrupts, training runs that
#                stream) and the kernels' tests with every loop split over three threads. Not part of CI (the build
#                alone takes about 25 minutes on 2 cores); run it after changing threaded code
#   --cuda-emulation  the CUDA backend built by the host compiler against tests/cuda_emu (kernels run as CPU
#                fibers, cudart/cuBLAS/cuDNN emulated on host memory), in build-emu/ by default, with
#                LRP_REQUIRE_CUDA=1: every CUDA test runs without a GPU, then the CUDA tests again with each
#                block's threads in reverse order (LRP_EMU_ORDER=reverse); multiply-adds are fused as nvcc
#                fuses them where the CPU has FMA (LRP_EMU_FMA). It checks kernel logic, launch
#                configurations, library arguments and graph capture rules; it is no substitute for a GPU run
# CUDA comparisons skip without a GPU; set LRP_REQUIRE_CUDA=1 on a GPU machine to make them mandatory.
set -euo pipefail
cd "$(dirname "$0")/.."

cpu_only=0
sanitize=0
tsan=0
emulation=0
build=""
while (($#)); do
  case "$1" in
    --cpu-only) cpu_only=1 ;;
    --sanitize) sanitize=1 ;;
    --thread-sanitizer) tsan=1 ;;
    --cuda-emulation) emulation=1 ;;
    --build-dir)
      (($# >= 2)) || { echo "test.sh: --build-dir needs a directory" >&2; exit 2; }
      build="$2"; shift ;;
    *) echo "test.sh: unknown option '$1' (expected --cpu-only, --sanitize, --thread-sanitizer, --cuda-emulation," \
            "--build-dir DIR)" >&2; exit 2 ;;
  esac
  shift
done
# One build kind per call: each configures its own folder, and the tests of one on another's build prove nothing.
((cpu_only + sanitize + tsan + emulation <= 1)) || {
  echo "test.sh: --cpu-only, --sanitize, --thread-sanitizer and --cuda-emulation each configure their own build;" \
       "give one of them per call" >&2
  exit 2
}

scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
if ((sanitize)); then
  # No -Werror here: GCC 12 warns about libstdc++'s own <regex> under -O1 with sanitizers.
  build=${build:-build-asan}
  san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  # No benchmarks: timing is meaningless under the sanitizers, and their smoke test would take many minutes there.
  # -g1 (line tables: the reports' stacks keep functions, files and lines) builds about a quarter faster than -g.
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DLRP_ENABLE_CUDA=OFF -DLRP_ENABLE_CBLAS=OFF -DLRP_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="$san -O1" -DCMAKE_C_FLAGS="$san -O1" -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1 \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
elif ((tsan)); then
  build=${build:-build-tsan}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLRP_ENABLE_CUDA=OFF -DLRP_ENABLE_CBLAS=OFF \
    -DLRP_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS="-fsanitize=thread -O1" -DCMAKE_C_FLAGS="-fsanitize=thread -O1" \
    -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
elif ((emulation)); then
  build=${build:-build-emu}
  # Multiply-adds contracted as nvcc contracts them, where this CPU can run FMA instructions.
  fma=OFF
  grep -qw fma /proc/cpuinfo 2>/dev/null && fma=ON
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLRP_CUDA_EMULATION=ON -DLRP_EMU_FMA=$fma -DLRP_BUILD_BENCH=OFF \
    -DLRP_WERROR=ON
  export LRP_REQUIRE_CUDA=1
elif ((cpu_only)); then
  build=${build:-build-cpu}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLRP_ENABLE_CUDA=OFF -DLRP_WERROR=ON
else
  build=${build:-build}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLRP_WERROR=ON
fi
cmake --build "$build" -j "$jobs"
cd "$build"
if ((sanitize)); then
  # LeakSanitizer stops the world with ptrace; where a sandbox forbids that, it cannot run at all.
  # Then leaks go unchecked (said loudly) rather than every test failing for the sandbox's sake.
  probe=$(./tests/lrp_tests --gtest_filter=CachingAllocatorCpu.RoundsSizes 2>&1) || {
    if grep -q "LeakSanitizer has encountered a fatal error" <<<"$probe"; then
      echo "test.sh: LeakSanitizer cannot run in this sandbox; leak checks are OFF for this run" >&2
      export ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}"
    else
      echo "$probe" >&2
      exit 1
    fi
  }
fi
if ((tsan)); then
  # The threaded code's tests, then the kernels' with every loop split (as CpuParallel.KernelAndLayerTests... does).
  ./tests/lrp_tests --gtest_brief=1 \
    --gtest_filter='CpuParallel.*:StreamingLoaderCpu.*:InterruptCpu.*:*Stream*:*Folder*:FolderMasks.*:TrainerCpu.*Stop*:TrainerCpu.*Resume*'
  LRP_CPU_THREADS=3 LRP_CPU_MIN_WORK=1 LRP_CPU_TILE_WORK=4096 ./tests/lrp_tests --gtest_brief=1 \
    --gtest_filter='Conv2dCpu.*:BatchNormCpu.*:PoolCpu.*:GemmCpu.*:LayersCpu.*:LrpCpuAttribution.*:ReduceCpu.*:RelDropCpu.*:SgtOpsCpu.*:EddaOps.*:OcclusionCpu.*:ElementwiseCpu.*:AugmentCpu.*:ResizedCrop*'
elif ((emulation)); then
  # The GoogleTest cases only: the command-line and script tests would train through the emulated device
  # for many minutes each, and the other configurations run them.
  ctest --output-on-failure -j "$jobs" -E '^(Cli|Scripts)\.'
  # Once more with each block's threads run last-first: a kernel that reads what another thread writes
  # without a barrier between them sees the write in one of the two orders and not in the other.
  LRP_EMU_ORDER=reverse ctest --output-on-failure -j "$jobs" -R 'Cuda'
else
  ctest --output-on-failure -j "$jobs"
fi
