#!/usr/bin/env bash
# Runs scripts/main-job.sh (the README's main job) on a tiny Fashion-MNIST-shaped idx set written here,
# with flags that replace the job's defaults: the job must accept them and finish train, eval and explain.
# Usage: main_job_test.sh <folder holding the lrpcu binary> <scratch folder>
set -euo pipefail
bindir=$1 tmp=$2
rm -rf "$tmp" && mkdir -p "$tmp/data"
python3 - "$tmp/data" <<'PY'
import gzip, os, random, struct, sys
random.seed(0)
def write(stem, n):
    with gzip.open(os.path.join(sys.argv[1], stem + "-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(random.randrange(256) for _ in range(n * 784)))
    with gzip.open(os.path.join(sys.argv[1], stem + "-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
write("train", 120)
write("t10k", 40)
PY
job=$(cd "$(dirname "$0")/.." && pwd)/scripts/main-job.sh
bindir=$(cd "$bindir" && pwd)
# --flag=value and --flag value both work (--test-subset= and --out= feed the eval after training); --dataset,
# --seed replace the job's own; relative paths are the caller's (run from the scratch folder).
out=$(cd "$tmp" && LRP_DISABLE_CUDA=1 LRP_BUILD_DIR="$bindir" "$job" --data-dir data --epochs 1 \
      --train-subset 100 --test-subset=30 --width 4 --batch-size 25 --out=run --dataset mnist --seed 3 2>&1) ||
  { echo "$out"; echo "main job failed"; exit 1; }
for f in metrics.jsonl eval.json heatmaps/relevance.npy heatmaps/heatmap_0000.png; do
  [[ -s $tmp/run/$f ]] || { echo "$out"; echo "missing $tmp/run/$f"; exit 1; }
done
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['samples'] == 30, d" "$tmp/run/eval.json" ||
  { echo "eval.json does not report the 30 test images asked for"; exit 1; }
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert (d['dataset'], d['seed']) == ('mnist', 3), d" \
  "$tmp/run/config.json" || { echo "the run's config.json does not record --dataset mnist --seed 3"; exit 1; }
echo "ok"
