#!/usr/bin/env bash
# The README's test command: installs missing build dependencies, builds, and runs every test with ctest.
# Usage: scripts/test.sh [--cpu-only] [--build-dir DIR]
#   --cpu-only   configure with -DLRP_ENABLE_CUDA=OFF (the no-nvcc path), in build-cpu/ by default
# CUDA comparisons skip without a GPU; set LRP_REQUIRE_CUDA=1 on a GPU machine to make them mandatory.
set -euo pipefail
cd "$(dirname "$0")/.."

cpu_only=0
build=""
while (($#)); do
  case "$1" in
    --cpu-only) cpu_only=1 ;;
    --build-dir) build="$2"; shift ;;
    *) echo "test.sh: unknown option '$1' (expected --cpu-only, --build-dir DIR)" >&2; exit 2 ;;
  esac
  shift
done

scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
if ((cpu_only)); then
  build=${build:-build-cpu}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLRP_ENABLE_CUDA=OFF -DLRP_WERROR=ON
else
  build=${build:-build}
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLRP_WERROR=ON
fi
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure -j "$jobs"
