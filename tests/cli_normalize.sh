#!/usr/bin/env bash
# CLI test: eval normalises with the statistics the training run recorded (the training split's, which on the
# synthetic set differ from the test split's own), from the checkpoint and from the exported model.safetensors
# alike; --normalize data takes the evaluated split's own statistics instead.
# Usage: cli_normalize.sh <lrpcu> <run-dir holding checkpoint.safetensors and model.safetensors>
set -u
lrpcu=$1 run=$2
mean() {  # mean <eval args...>: the "mean" eval --json reports
  "$lrpcu" eval --subset 8 --device cpu --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mean"])'
}
ckpt=$(mean --weights "$run/checkpoint.safetensors") || exit 1
model=$(mean --weights "$run/model.safetensors" --arch resnet18 --dataset synthetic --width 2) || exit 1
own=$(mean --weights "$run/checkpoint.safetensors" --normalize data) || exit 1
[[ $ckpt == "$model" ]] || { echo "checkpoint $ckpt and model.safetensors $model record other statistics"; exit 1; }
[[ $ckpt != "$own" ]] || { echo "the recorded statistics equal the test split's own ($own): nothing was checked"; exit 1; }
echo "ok: recorded $ckpt (the test split's own: $own)"
