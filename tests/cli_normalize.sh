#!/usr/bin/env bash
# CLI test: eval normalises with the statistics the training run recorded (the training split's, which on the
# synthetic set differ from the test split's own), from the checkpoint and from the exported model.safetensors
# alike; --normalize data takes the evaluated split's own statistics instead. model.safetensors needs no flags:
# it records the arch, width and dataset, and evaluates as the checkpoint does.
# Usage: cli_normalize.sh <lrpcu> <run-dir holding checkpoint.safetensors and model.safetensors>
set -u
lrpcu=$1 run=$2
mean() {  # mean <eval args...>: the "mean" eval --json reports, and what it measured
  "$lrpcu" eval --subset 8 --device cpu --json "$@" |
    python3 -c 'import json,sys; j = json.load(sys.stdin); print(j["mean"], j["arch"], j["dataset"], j["loss"], j["top1"])'
}
ckpt=$(mean --weights "$run/checkpoint.safetensors") || exit 1
model=$(mean --weights "$run/model.safetensors") || exit 1
own=$(mean --weights "$run/checkpoint.safetensors" --normalize data) || exit 1
[[ $ckpt == "$model" ]] || { echo "checkpoint $ckpt and model.safetensors $model evaluate differently"; exit 1; }
[[ $ckpt != "$own" ]] || { echo "the recorded statistics equal the test split's own ($own): nothing was checked"; exit 1; }
echo "ok: recorded $ckpt (the test split's own: $own)"
