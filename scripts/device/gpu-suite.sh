#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool, carrying the .deps paths prebuild.sh lists for the call): uses the
# build prebuild.sh made when it matches the tree (PREBUILT=0: not), else builds lrpcu for the local GPU
# against the carried packages and the image's cuDNN; runs the whole test suite with LRP_REQUIRE_CUDA=1,
# the benchmarks, and writes logs + a results summary to $OUT (or ./out).
# Usage: scripts/device/gpu-suite.sh [JOBS]   JOBS: comma list of tests, bench, sanitize (compute-sanitizer
#   memcheck/racecheck over the kernel tests), main (the main job on the full
#   Fashion-MNIST carried in .deps/data), reldrop (scripts/reldrop-results.sh --protocol gpu, RELDROP_SEEDS
#   seeds, default "0"; RELDROP_EXTRA=1 adds the extra rows of docs/reldrop-results.md), profile (the op profile,
#   LRP_OP_PROFILE, of a ResNet-18 training step, RelDrop step and LRP pass at batch 128: where the device time
#   goes); all = tests,bench,profile.
#   Small result files of main/reldrop are copied to $OUT.
#   SUITE_DEADLINE (seconds, default 480): each step after the build gets at most what is left of it minus
#   a reserve, so the summary is written before the device tool's time limit cuts the call (run it with
#   timeout_s about 60 s above the deadline). TESTS_BUDGET (seconds, default 300) caps the test step, so one
#   hung test cannot starve the benchmarks.
# The device tool returns at most 8 files from $OUT: whatever happens (a failed build too), the suite ends by
# writing summary.md, packing every other file into logs.tgz and printing the summary.
set -uo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
[[ $what == all ]] && what=tests,bench,profile
has() { [[ ",$what," == *",$1,"* ]]; }
out=${OUT:-out}
deadline=${SUITE_DEADLINE:-480}
# Seconds a step may take: what is left of the deadline minus 15 s for the summary (at least 1).
left() { local l=$((deadline - SECONDS - 15)); echo $((l > 1 ? l : 1)); }
# Runs a step under the remaining budget; a step cut short says so in the log and fails the suite.
budget() { timeout --kill-after=5 "$(left)" "$@"; local rc=$?; [[ $rc == 124 || $rc == 137 ]] && echo "TIMED OUT (SUITE_DEADLINE): $*"; return $rc; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
rc=0
# On every exit: the summary (summarize.py reads what the steps left), then everything else in one archive.
finish() {
  local status=$?  # an exit the script did not plan (set -u, a signal) fails the suite too
  ((status != 0)) && rc=1
  python3 scripts/device/summarize.py "$out" > "$out/summary.md" 2>&1 || rc=1
  (cd "$out" && find . -mindepth 1 -maxdepth 1 ! -name summary.md ! -name logs.tgz -printf '%P\0' |
     tar czf logs.tgz --null -T - && find . -mindepth 1 -maxdepth 1 ! -name summary.md ! -name logs.tgz \
     -exec rm -rf {} +) || echo "packing the logs failed: $out holds them loose"
  echo "===== summary.md ====="
  cat "$out/summary.md"
  exit $rc
}
trap finish EXIT
prefix=$PWD/.deps/prefix
# The image's own library path, for its Python (torch, zennit): the carried Debian zlib is older than the image's.
image_ld=${LD_LIBRARY_PATH:-}
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:$prefix/usr/lib/x86_64-linux-gnu/openblas-pthread:${LD_LIBRARY_PATH:-}"
# The toolkit's libraries (cuBLAS, cudart) wherever this image keeps them: a prebuilt binary's RUNPATH
# names the dev machine's folders.
if nvcc_bin=$(command -v nvcc); then
  cuda_root=$(dirname "$(dirname "$(readlink -f "$nvcc_bin")")")
  for d in "$cuda_root/lib64" "$cuda_root/lib" "$cuda_root/targets/x86_64-linux/lib"; do
    [[ -d $d ]] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
  done
fi

# cuDNN: the toolkit's if present, else the one PyTorch's image ships as a Python package (a namespace
# package: __path__, not __file__), else any cudnn.h found under the Python installations.
if [[ -z "${CUDNN_PATH:-}" && ! -f /usr/local/cuda/include/cudnn.h ]]; then
  CUDNN_PATH=$(python3 -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null || true)
  if [[ -z "$CUDNN_PATH" || ! -f "$CUDNN_PATH/include/cudnn.h" ]]; then
    h=$(find / -xdev -name cudnn.h -path '*nvidia*' 2>/dev/null | head -1)
    CUDNN_PATH=${h:+$(dirname "$(dirname "$h")")}
  fi
  export CUDNN_PATH
  echo "cuDNN from: ${CUDNN_PATH:-not found}"
  [[ -n "$CUDNN_PATH" ]] && export LD_LIBRARY_PATH="$CUDNN_PATH/lib:$LD_LIBRARY_PATH"
  # the wheel ships libcudnn.so.9 only: give the linker an unversioned name
  if [[ -n "$CUDNN_PATH" && ! -e "$CUDNN_PATH/lib/libcudnn.so" ]]; then
    so=$(ls "$CUDNN_PATH"/lib/libcudnn.so.* 2>/dev/null | head -1)
    mkdir -p /tmp/cudnn-link && ln -sf "$so" /tmp/cudnn-link/libcudnn.so
    export LIBRARY_PATH="/tmp/cudnn-link:${LIBRARY_PATH:-}"
    export CUDNN_LIBRARY_HINT=/tmp/cudnn-link/libcudnn.so
  fi
fi

{
  echo "date: $(date -u +%FT%TZ)"
  # .deps/source-commit: written by prepare.sh here (the device's copy of the tree has no .git)
  echo "commit: $(git describe --always --dirty --abbrev=40 2>/dev/null || cat .deps/source-commit 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
  nvcc --version | tail -1 | sed 's/^/nvcc: /'
  echo "cudnn: ${CUDNN_PATH:-/usr/local/cuda}"
} | tee "$out/env.txt"

# The build prebuild.sh made on the dev machine (.deps/build-gpu), when the carried tree is the one it was
# built from and its binaries start: the device's minutes go to tests, not to nvcc. PREBUILT=0 builds here.
use_prebuilt() {
  local pre=.deps/build-gpu origin_build origin_src
  [[ ${PREBUILT:-1} == 1 && -f $pre/ORIGIN ]] || return 1
  origin_build=$(sed -n 's/^build_dir=//p' "$pre/ORIGIN")
  origin_src=$(sed -n 's/^source_dir=//p' "$pre/ORIGIN")
  sha256sum --quiet -c "$pre/sources.sha256" > "$out/prebuilt-check.log" 2>&1 ||
    { echo "prebuilt: this tree is not the one built (prebuilt-check.log)"; return 1; }
  # The CTest files and the tests' data paths name the folders of the machine that built them.
  # A second call on a warm machine finds the link the first one made.
  if [[ $origin_src != "$PWD" && $(readlink -f "$origin_src" 2>/dev/null) != "$(pwd -P)" ]]; then
    [[ -e $origin_src ]] && { echo "prebuilt: $origin_src exists here and is not this tree"; return 1; }
    mkdir -p "$(dirname "$origin_src")" && ln -s "$PWD" "$origin_src" || return 1
  fi
  # The CTest files run the dev machine's cmake by its absolute path.
  if [[ ! -x /usr/bin/cmake ]] && command -v cmake > /dev/null; then ln -s "$(command -v cmake)" /usr/bin/cmake; fi
  rm -rf "$origin_build" && mkdir -p "$(dirname "$origin_build")" && ln -s "$PWD/$pre" "$origin_build" || return 1
  rm -rf build-gpu && ln -s "$pre" build-gpu
  build-gpu/lrpcu --version > "$out/prebuilt-version.log" 2>&1 ||
    { echo "prebuilt: lrpcu does not start (prebuilt-version.log)"; rm -f build-gpu; return 1; }
  echo "prebuilt: using the build of $(sed -n 's/^commit=//p' "$pre/ORIGIN")" | tee -a "$out/env.txt"
}
if ! use_prebuilt; then
  [[ -L build-gpu ]] && rm -f build-gpu  # not into the carried prebuilt folder
  extra=()
  [[ -n "${CUDNN_LIBRARY_HINT:-}" ]] && extra+=(-DCUDNN_LIBRARY="$CUDNN_LIBRARY_HINT" -DCUDNN_INCLUDE_DIR="$CUDNN_PATH/include")
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix/usr" \
    -DLRP_REQUIRE_CUDA_BUILD=ON "${extra[@]}" > "$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; rc=1; exit; }
  budget cmake --build build-gpu -j 16 > "$out/build.log" 2>&1 ||
    { grep -E "error:|Error [0-9]|TIMED OUT" "$out/build.log" | head -40; rc=1; exit; }
  echo "build ok"
fi
build-gpu/lrpcu --version | tee -a "$out/env.txt"  # the backends built and the device the process sees

if has tests; then
  command -v ctest > /dev/null || echo "ctest is not on this machine's PATH: the tests cannot run"
  t=$(left); ((t > ${TESTS_BUDGET:-300})) && t=${TESTS_BUDGET:-300}
  (cd build-gpu && LRP_REQUIRE_CUDA=1 timeout --kill-after=5 "$t" ctest --output-on-failure -j 8 > "$out/tests.log" 2>&1 ||
     { r=$?; [[ $r == 124 || $r == 137 ]] && echo "TIMED OUT (TESTS_BUDGET $t s): ctest" | tee -a "$out/tests.log"; exit $r; }) || rc=1
  tail -25 "$out/tests.log"
  # The accuracy-bound CUDA tests again without FFT/Winograd algorithms: if the default run fails them, this
  # tells whether the transforms' rounding is why (informational: its result does not fail the suite).
  LRP_REQUIRE_CUDA=1 LRP_CONV_NO_TRANSFORMS=1 budget build-gpu/tests/lrp_tests \
    --gtest_filter='LrpCudaGolden.*:TorchParityCuda.*:LrpCudaRules.*:Conv2dCuda.*' > "$out/tests-no-transforms.log" 2>&1
  echo "without FFT/Winograd: $(grep -E '^\[  (PASSED|FAILED)  \]' "$out/tests-no-transforms.log" | head -2 | tr '\n' ' ')"
fi
if has bench; then
  for b in build-gpu/bench/bench_*; do
    [[ -x $b ]] || continue
    n=$(basename "$b")
    # 0.2 s per case, 0.3 s for the model cases, whose own minimum outranks the flag (bench_gemm_conv's CUDA
    # cases time 5 launches per iteration with events): the device time is short.
    LRP_BENCH_CUDA_MIN_TIME=${BENCH_MODEL_MIN_TIME:-0.3} budget "$b" --benchmark_filter="${BENCH_FILTER:-cuda}" \
      --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" --benchmark_format=console --benchmark_out="$out/$n.json" \
      --benchmark_out_format=json > "$out/$n.txt" 2>&1 || rc=1
    grep -E "^BM_|Run on|ERROR" "$out/$n.txt" | head -60
  done
  # lrpcu with PyTorch's defaults (TF32 convolutions, any cuDNN algorithm) for the comparison below.
  LRP_ALLOW_TF32=1 LRP_NONDETERMINISTIC=1 LRP_BENCH_CUDA_MIN_TIME=${BENCH_MODEL_MIN_TIME:-0.3} budget build-gpu/bench/bench_models --benchmark_filter="${BENCH_FILTER:-cuda}" \
    --benchmark_format=json --benchmark_out="$out/bench_models_tf32.json" --benchmark_out_format=json \
    > "$out/bench_models_tf32.txt" 2>&1 || rc=1
  # PyTorch eager on the same GPU in the same run, for the training-step comparison.
  LD_LIBRARY_PATH=$image_ld budget python3 bench/torch_train_bench.py --device cuda > "$out/torch_train_bench.jsonl" 2>&1 || rc=1
  tail -14 "$out/torch_train_bench.jsonl"
  # zennit (from .deps/py, see prepare.sh) on the same GPU: the LRP pass comparison of issue #6.
  PYTHONPATH=$PWD/.deps/py LD_LIBRARY_PATH=$image_ld budget python3 bench/zennit_lrp_bench.py > "$out/zennit_lrp_bench.jsonl" 2>&1 || rc=1
  tail -10 "$out/zennit_lrp_bench.jsonl"
fi
if has profile; then
  # One benchmark case per profile, timed op by op (its own figure is not a benchmark result: the profile waits
  # for its events every 1024 calls). Warm-up calls (cuDNN's algorithm search) count in: short runs show them.
  # Diagnostic: at most 60 s each, and a case cut short (its report is written at a normal exit only) or failing
  # does not fail the suite.
  for c in resnet18_train_step_cuda/batch:128 resnet18_reldrop_block_p1_step_cuda resnet18_attribute_reldrop_cuda \
           resnet18_attribute_epsilon_plus_flat_cuda; do
    b=build-gpu/bench/bench_models
    [[ $c == *reldrop_block* ]] && b=build-gpu/bench/bench_reldrop
    [[ $c == *attribute* ]] && b=build-gpu/bench/bench_lrp
    n=${c%%/*}
    t=$(left); ((t > 60)) && t=60
    LRP_OP_PROFILE="$out/op-profile-$n.txt" LRP_BENCH_CUDA_MIN_TIME=0.3 timeout --kill-after=5 "$t" "$b" \
      --benchmark_filter="^BM_$c" > "$out/op-profile-$n.log" 2>&1 || echo "op profile $n: exit $? (see its log)"
    echo "op profile $n:"; sed -n 3,8p "$out/op-profile-$n.txt" 2>/dev/null
  done
fi
if has sanitize; then
  # compute-sanitizer over the kernel-level CUDA tests: memcheck and initcheck (reads of memory no one wrote,
  # which the emulation's poisoned allocations only partly show) on all of them, racecheck on the kernels that
  # share memory within a block (reductions, top-k, batch norm, softmax, RelDrop boxes, EDDA windows, ISNet's
  # sort, occlusion's patch metrics).
  kernels='AugmentCuda.*:BatchNormCuda.*:ElementwiseCuda.*:OcclusionCuda.*:PoolCuda.*:AdaptivePoolCuda.*'
  kernels+=':ReduceCuda.*:RelDropCuda.*:RngCuda.*:SoftmaxXentCuda.*:OptimCuda.*:ClipGradNormCuda.*:GemmCuda.*'
  kernels+=':Conv2dCuda.*:IsnetLossCuda.*:EddaCuda.*:ResizedCropCuda.*:SgtOpsCuda.*:ChannelOpsCuda.*'
  shared='ReduceCuda.*:RelDropCuda.*:SoftmaxXentCuda.*:BatchNormCuda.*:AugmentCuda.*:EddaCuda.*:IsnetLossCuda.*'
  shared+=':OcclusionCuda.*:SgtOpsCuda.*'
  # initcheck leaves out the cuBLAS/cuDNN cases (the libraries' own reads) and only reports for now: a first run
  # must show what it flags (a device-to-host copy of a partly written buffer counts) before it can fail the suite.
  for tool in memcheck initcheck racecheck; do
    filter=$kernels
    [[ $tool == racecheck ]] && filter=$shared
    [[ $tool == initcheck ]] && filter=${kernels//:GemmCuda.\*/} && filter=${filter//:Conv2dCuda.\*/}
    (LRP_REQUIRE_CUDA=1 budget compute-sanitizer --tool "$tool" --error-exitcode 3 build-gpu/tests/lrp_tests \
       --gtest_filter="$filter" > "$out/sanitize-$tool.log" 2>&1) || [[ $tool == initcheck ]] || rc=1
    echo "sanitize $tool: $(grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/sanitize-$tool.log" | tail -3 | tr '\n' ' ')"
  done
fi
data=$PWD/.deps/data/fashion-mnist
if has main; then
  # scripts/main-job.sh trains on the GPU (20 epochs, full data), evaluates and writes heatmaps.
  (set -o pipefail; LRP_BUILD_DIR=build-gpu LRP_MAIN_REQUIRE_GPU=1 budget scripts/main-job.sh --data-dir "$data" --log-every 100 2>&1 |
     tee "$out/main-job.log" | tail -30) || rc=1
  r=runs/fashion-mnist-resnet18
  mkdir -p "$out/main-job" && cp "$r"/*.jsonl "$r"/*.json "$out/main-job/" 2>/dev/null
  cp "$r"/heatmaps/*.png "$out/main-job/" 2>/dev/null
fi
if has reldrop; then
  extra=()  # RELDROP_EXTRA=1: also the rows of docs/reldrop-results.md beyond the issue's four
  [[ ${RELDROP_EXTRA:-0} == 1 ]] && extra=(
    --extra "reldrop-block-egb|--augment reldrop-block --reldrop-composite epsilon_gamma_box"
    --extra "reldrop-block-meanfill|--augment reldrop-block --reldrop-fill mean"
    --extra "reldrop-pixel-meanfill|--augment reldrop-pixel --reldrop-fill mean")
  (LRPCU=build-gpu/lrpcu budget scripts/reldrop-results.sh --protocol gpu --seeds "${RELDROP_SEEDS:-0}" \
     --data-dir "$data" "${extra[@]}" > "$out/reldrop.log" 2>&1) || rc=1
  tail -30 "$out/reldrop.log"
  (cd runs && find reldrop-gpu \( -name '*.json' -o -name '*.jsonl' -o -name '*.md' -o -name '*.log' -o -name '*.png' \) \
     -size -2M -print0 | xargs -0 -r tar cf - | tar xf - -C "$out")
fi
# The Markdown record for bench/results/ (targets computed from what was measured above): finish, on exit.
exit $rc
