#!/usr/bin/env bash
# The README's main command: installs what is missing (build deps and the Fashion-MNIST package),
# builds lrpcu, then runs the main job: train a small ResNet on Fashion-MNIST (GPU if present,
# otherwise a CPU-sized subset) and evaluate it. Extra arguments go to `lrpcu train` (relative paths among
# them are the caller's: the script does not change directory).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/install-deps.sh" --with-data
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$root/build" -j "$jobs"

exec "$root/scripts/main-job.sh" "$@"
