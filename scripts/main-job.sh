#!/usr/bin/env bash
# The main job (called by scripts/run.sh after the build): trains a ResNet-18 (CIFAR form, 1 input
# channel) on Fashion-MNIST and evaluates it. On a GPU: the full data set; without one: a class-balanced
# subset and a narrower network sized to finish in a few minutes on a CPU. Extra arguments are passed
# to `lrpcu train` (a flag given there overrides the defaults below, --dataset, --arch and --seed included;
# relative paths are the caller's). Ends with LRP heatmaps of 8 test images. The run goes to runs/ in the
# repository unless --out says otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${LRP_BUILD_DIR:-$root/build}/lrpcu  # LRP_BUILD_DIR: another build folder (the GPU suite's build-gpu)
[[ -x $bin ]] || { echo "main-job: $bin not built; run scripts/run.sh" >&2; exit 1; }

# --flag=value is taken as --flag value.
split=()
for a in "$@"; do
  if [[ $a == --*=* ]]; then split+=("${a%%=*}" "${a#*=}"); else split+=("$a"); fi
done
set -- "${split[@]+"${split[@]}"}"

# The GPU path needs a CUDA build that sees a device: ask the binary (a GPU with a CPU-only build runs on the CPU).
if [[ "${LRP_DISABLE_CUDA:-0}" != 1 ]] && "$bin" --version 2>/dev/null | grep -Eq "^CUDA devices: [1-9]"; then
  defaults=(--device cuda --epochs 20 --batch-size 128 --lr 0.1 --width 64 --out "$root/runs/fashion-mnist-resnet18")
  echo "main-job: GPU found: full Fashion-MNIST, ResNet-18, 20 epochs"
else
  # (lr 0.1 and 2-pixel crops reached about 82 % after 3 epochs in a development run; lr 0.05 and 4-pixel crops 78 %)
  defaults=(--device cpu --epochs 3 --batch-size 64 --lr 0.1 --crop-padding 2 --width 16 --train-subset 6000
            --test-subset 2000 --out "$root/runs/fashion-mnist-resnet18-cpu")
  if [[ "${LRP_DISABLE_CUDA:-0}" != 1 ]] && command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L > /dev/null 2>&1; then
    echo "main-job: WARNING: nvidia-smi sees a GPU but $bin does not ($("$bin" --version 2>&1 | tail -1)):" \
         "a CPU-only build, or its CUDA libraries are missing" >&2
    [[ "${LRP_MAIN_REQUIRE_GPU:-0}" != 1 ]] || { echo "main-job: LRP_MAIN_REQUIRE_GPU=1: stopping" >&2; exit 1; }
  fi
  echo "main-job: no usable GPU (or a CPU-only build): CPU run on a 6000-image subset with a width-16 ResNet-18 (a few minutes)"
fi
defaults+=(--dataset fashion-mnist --arch resnet18 --seed 0)
# A flag the caller gives replaces its default (the CLI refuses a flag given twice).
given=" $* "
args=()
for ((i = 0; i < ${#defaults[@]}; i += 2)); do
  [[ $given == *" ${defaults[i]} "* ]] || args+=("${defaults[i]}" "${defaults[i+1]}")
done
args+=("$@")
out="" device="" test_subset=0
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
  [[ ${args[i]} == --out ]] && out=${args[i+1]}
  [[ ${args[i]} == --device ]] && device=${args[i+1]}
  [[ ${args[i]} == --test-subset ]] && test_subset=${args[i+1]}
done
# A previous run in the same directory is continued (finished runs just report again) rather than refused.
resume=()
[[ -f "$out/checkpoint.safetensors" ]] && resume=(--resume)
"$bin" train "${args[@]}" "${resume[@]}"
# Evaluate on the same test images (eval and explain take the dataset and its folder from the checkpoint) the run reported on (all of them unless --test-subset was given).
"$bin" eval --weights "$out/checkpoint.safetensors" --device "$device" --subset "$test_subset" --json > "$out/eval.json"
echo "main-job: evaluation written to $out/eval.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('eval: top-1 %.2f%%  top-5 %.2f%%' % (100*d['top1'], 100*d['top5']))" "$out/eval.json" 2>/dev/null || true
"$bin" explain --weights "$out/checkpoint.safetensors" --samples 8 --target label \
  --composite epsilon_plus_flat --overlay --out "$out/heatmaps" --device "$device" --force
echo "main-job: LRP heatmaps (heatmap_NNNN.png, overlay_NNNN.png, relevance.npy) written to $out/heatmaps"
