#!/usr/bin/env bash
# CLI test: explain --split val explains the images eval --split val evaluates (the run's held-out validation
# images): over all of them, explain's count of samples predicted as labelled equals eval's top-1 count.
# The run trains for 3 epochs, so that its predictions differ from image to image.
# Usage: cli_explain_val.sh <out-dir> <lrpcu>
set -u
out=$1 lrpcu=$2
rm -rf "$out"
log=$("$lrpcu" train --dataset synthetic --train-subset 256 --test-subset 32 --width 4 --epochs 3 --batch-size 32 \
      --device cpu --val-split 32 --out "$out/run" 2>&1) || { echo "train failed:"; echo "$log"; exit 1; }
weights=$out/run/checkpoint.safetensors
json=$("$lrpcu" eval --weights "$weights" --split val --device cpu --json 2>&1) || { echo "eval failed:"; echo "$json"; exit 1; }
read -r n top1 < <(python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print(j["samples"], round(j["top1"]*j["samples"]))' <<<"$json") \
  || { echo "eval --json unreadable:"; echo "$json"; exit 1; }
log=$("$lrpcu" explain --weights "$weights" --split val --samples "$n" --device cpu --out "$out/maps" 2>&1) \
  || { echo "explain failed:"; echo "$log"; exit 1; }
grep -q "^$top1 of $n samples predicted as labelled$" <<<"$log" \
  || { echo "eval --split val: $top1 of $n correct; explain --split val says:"; echo "$log"; exit 1; }
echo "ok: $top1 of $n in both"
