#!/usr/bin/env bash
# The README's main command: installs what is missing (build deps and the Fashion-MNIST package),
# builds lrpcu, then runs the main job: train a small ResNet on Fashion-MNIST (GPU if present,
# otherwise a CPU-sized subset) and evaluate it. Extra arguments go to `lrpcu train`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --with-data
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"

exec scripts/main-job.sh "$@"
