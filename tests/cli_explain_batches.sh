#!/usr/bin/env bash
# CLI test: explain --batch-size splits the samples into relevance passes; the maps (relevance.npy, hidden maps of
# --flex-layers) are those of one pass over all samples, and with --target label each batch takes its own labels.
# Usage: cli_explain_batches.sh <out-dir> <lrpcu> <checkpoint>
set -u
out=$1 lrpcu=$2 ckpt=$3
rm -rf "$out"
run() {  # run <subdir> [flags...]
  local d=$1
  shift
  log=$("$lrpcu" explain --weights "$ckpt" --dataset synthetic --samples 7 --device cpu --out "$out/$d" "$@" 2>&1) ||
    { echo "exit $? for $*:"; echo "$log"; exit 1; }
}
for target in label pred 3; do
  run "one-$target" --target "$target"
  run "three-$target" --target "$target" --batch-size 3
  cmp -s "$out/one-$target/relevance.npy" "$out/three-$target/relevance.npy" ||
    { echo "--target $target: batches of 3 gave other maps than one pass"; exit 1; }
done
cmp -s "$out/one-label/relevance.npy" "$out/one-pred/relevance.npy" &&
  { echo "--target label and pred gave the same maps: the test cannot tell the labels apart"; exit 1; }
run flex-one --flex zb --flex-layers default
run flex-two --flex zb --flex-layers default --batch-size 2
for f in "$out"/flex-one/*.npy; do
  cmp -s "$f" "$out/flex-two/$(basename "$f")" || { echo "--flex in batches of 2: $(basename "$f") differs"; exit 1; }
done
"$lrpcu" explain --weights "$ckpt" --dataset synthetic --samples 2 --batch-size 0 --device cpu --out "$out/bad" \
  > "$out/bad.log" 2>&1 && { echo "--batch-size 0 accepted"; exit 1; }
grep -q -- "--batch-size must be >= 1 (got 0)" "$out/bad.log" || { cat "$out/bad.log"; exit 1; }
echo "ok: batches give the maps of one pass"
