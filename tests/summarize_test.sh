#!/usr/bin/env bash
# scripts/device/summarize.py on a fixture of a GPU-suite output (tests/data/gpu-suite-sample: invented
# figures, labelled as such in its env.txt): every target row is computed from the right files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(python3 "$root/scripts/device/summarize.py" "$root/tests/data/gpu-suite-sample")
want=(
  "370 tests, 1 failed."
  "- Conv2dCuda.DeterministicAlgorithmsByDefault (Failed)"
  "- compute-sanitizer memcheck: 0 errors"
  "| resnet18 | train_step | 128 | 40.00 | 25.00 | 30.00 | 1.20x |"
  "| resnet18_reldrop_block_ref_step | 64.00 | 1.60x | met |"
  "| resnet18_reldrop_pixel_step | 80.00 | 2.00x | **not met** |"
  "| resnet18 | reldrop | 22.00 | 1.10x (met) | 88.00 | 4.00x (**not met**) |"
  "| conv2d_fwd | c64to64_32px | 0.500 | 20.0 | 0.400 |"
  "final test accuracy 94.61 %, best 94.61 %"
  "top-1 94.61 % (met for >= 94.5 %)"
  "## Op profiles (LRP_OP_PROFILE"
  "cuda:0   conv2d_wgrad                        400      300.000      750.00   30.0%"
  "cuda:0   copy_h2d                              1        3.000     3000.00    0.3%"
)
for w in "${want[@]}"; do
  grep -qF -- "$w" <<< "$out" || { echo "missing: $w"; echo "$out"; exit 1; }
done
# The op profiles list CUDA rows only, ten of them.
grep -qE "rng_normal|argmax_rows" <<< "$out" && { echo "a CPU row or an eleventh row in an op profile:"; echo "$out"; exit 1; }
grep -q "cut short" <<< "$out" && { echo "a complete run reported cut steps:"; echo "$out"; exit 1; }
# A step that gpu-suite.sh's deadline cut is listed.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/tests/data/gpu-suite-sample/." "$tmp/"
echo "TIMED OUT (SUITE_DEADLINE): build-gpu/bench/bench_lrp --benchmark_filter=cuda" >> "$tmp/bench_lrp.txt"
out=$(python3 "$root/scripts/device/summarize.py" "$tmp")
grep -qF -- '- `build-gpu/bench/bench_lrp --benchmark_filter=cuda`' <<< "$out" ||
  { echo "the cut step is not listed:"; echo "$out"; exit 1; }
# Every outcome ctest names is listed (a test that could not start: Not Run), but not the skipped ones.
cat > "$tmp/tests.log" <<'LOG'
98% tests passed, 2 tests failed out of 370

The following tests did not run:
	121 - Decoy.LoaderMasksCudaEqualCpu (Skipped)

The following tests FAILED:
	 12 - Conv2dCuda.DeterministicAlgorithmsByDefault (Failed)
	 30 - Cli.CleanRuns (Not Run)
Errors while running CTest
LOG
out=$(python3 "$root/scripts/device/summarize.py" "$tmp")
grep -qF -- "- Cli.CleanRuns (Not Run)" <<< "$out" || { echo "a test that did not start is not listed:"; echo "$out"; exit 1; }
grep -qF -- "Decoy.LoaderMasksCudaEqualCpu" <<< "$out" && { echo "a skipped test is listed:"; echo "$out"; exit 1; }
echo ok
