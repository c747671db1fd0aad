#!/usr/bin/env bash
# CLI test: a run's results do not depend on the CPU thread count. The same RelDrop training run and LRP heatmaps
# on one thread and on three with every parallel loop split (LRP_CPU_MIN_WORK=1) give byte-identical weights and
# relevance; the run is large enough for products to split into GEMM tiles.
# Usage: cli_threads_reproduce.sh <lrpcu> <work-dir>
set -euo pipefail
lrpcu=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
for t in 1 3; do
  work=32768
  [[ $t == 1 ]] || work=1
  LRP_CPU_THREADS=$t LRP_CPU_MIN_WORK=$work "$lrpcu" train --dataset synthetic --train-subset 64 --test-subset 32 \
    --width 16 --epochs 1 --batch-size 32 --augment reldrop-pixel --device cpu --seed 3 --out "$dir/t$t" \
    > "$dir/train$t.log" 2>&1 || { cat "$dir/train$t.log"; exit 1; }
  LRP_CPU_THREADS=$t LRP_CPU_MIN_WORK=$work "$lrpcu" explain --weights "$dir/t$t/model.safetensors" \
    --dataset synthetic --samples 4 --target label --composite epsilon_plus_flat --out "$dir/t$t/heat" --device cpu \
    > "$dir/explain$t.log" 2>&1 || { cat "$dir/explain$t.log"; exit 1; }
done
grep -q "device cpu (3 threads)" "$dir/train3.log" ||
  { echo "the run did not use 3 threads:"; cat "$dir/train3.log"; exit 1; }
cmp "$dir/t1/model.safetensors" "$dir/t3/model.safetensors" ||
  { echo "weights differ between 1 and 3 threads"; exit 1; }
cmp "$dir/t1/heat/relevance.npy" "$dir/t3/heat/relevance.npy" ||
  { echo "relevance differs between 1 and 3 threads"; exit 1; }
echo "same weights and relevance on 1 and 3 threads"
