#!/usr/bin/env bash
# Fuzzes lrpcu's file parsers (safetensors, .npy, idx, CIFAR, checkpoint metadata) with libFuzzer, ASan and
# UBSan: builds tests/fuzz with clang in a separate CPU-only directory, then runs each harness for a while on
# seeds from tests/data. Findings (crash-*, leak-*, timeout-*, oom-*) go to $FUZZ_DIR/artifacts/<target>/;
# the script exits 1 when there are any. Not part of CI (open-ended); run it after changing a parser.
# Usage: scripts/fuzz.sh [target...]   (default: all five; env: FUZZ_DIR, SECONDS_PER_TARGET=60, JOBS=2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${FUZZ_DIR:-$root/build-fuzz}
secs=${SECONDS_PER_TARGET:-60}
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(safetensors npy idx cifar checkpoint)
command -v clang++ > /dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }

san="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined"
CC=clang CXX=clang++ cmake -S "$root" -B "$dir" -DLRP_ENABLE_CUDA=OFF -DLRP_BUILD_TESTS=OFF -DLRP_BUILD_BENCH=OFF \
  -DLRP_BUILD_FUZZERS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$san" -DCMAKE_C_FLAGS="$san" > /dev/null
cmake --build "$dir" -j"${JOBS:-2}" --target "${targets[@]/#/fuzz_}"

# Seeds: the committed test files; idx, CIFAR and checkpoint inputs carry a leading selector byte.
seeds() {  # seeds <target> <dir>
  mkdir -p "$2"
  case $1 in
    safetensors) cp "$root"/tests/data/safetensors/*.safetensors "$2"/ ;;
    npy) cp "$root"/tests/data/npy/*.npy "$2"/ ;;
    checkpoint) for f in "$root"/tests/data/safetensors/*.safetensors; do
                  { printf '\x00'; cat "$f"; } > "$2/$(basename "$f")"; done ;;
    idx) # 2 images of 2x2 and 2 labels, split in the middle
         printf '\xb4\x00\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x08\x01\x00\x00\x00\x02\x03\x07' > "$2/two" ;;
    cifar) { printf '\x00\x03'; head -c 3072 /dev/zero; } > "$2/one" ;;  # one CIFAR-10 record, label 3
  esac
}

found=0
for t in "${targets[@]}"; do
  corpus=$dir/corpus/$t artifacts=$dir/artifacts/$t
  seeds "$t" "$corpus"
  # This run's findings only: an earlier run's are moved aside (kept for reference, not counted again).
  if compgen -G "$artifacts/*" > /dev/null; then
    mkdir -p "$dir/artifacts-old/$t" && mv "$artifacts"/* "$dir/artifacts-old/$t/"
  fi
  mkdir -p "$artifacts"
  echo "fuzzing $t for ${secs}s"
  "$dir/tests/fuzz/fuzz_$t" "$corpus" -artifact_prefix="$artifacts/" -max_total_time="$secs" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 > "$dir/fuzz_$t.log" 2>&1 || true
  grep -E "stat::number_of_executed_units|cov:" "$dir/fuzz_$t.log" | tail -2 || true
  if compgen -G "$artifacts/*" > /dev/null; then
    echo "$t: findings in $artifacts (log: $dir/fuzz_$t.log)"
    found=1
  elif ! grep -q "^Done [0-9]* runs" "$dir/fuzz_$t.log"; then
    # no finding and no "Done N runs": the harness did not start or did not finish (a sanitizer that cannot run)
    echo "$t: the fuzzer did not run to its end (log: $dir/fuzz_$t.log):"; tail -5 "$dir/fuzz_$t.log"
    found=1
  fi
done
exit $found
