#!/usr/bin/env bash
# CLI test: `lrpcu train --dataset mnist` does not flip digits unless asked (a note says so and config.json
# records flip false); --flip true, or an MNIST run's --config file that records flip true, is kept as given (another
# dataset's file records its own default).
# Usage: cli_mnist_flip.sh <lrpcu> <work-dir>
set -euo pipefail
lrpcu=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir/mnist"
python3 - "$dir/mnist" <<'PY'
import struct, sys
for stem, n in (("train", 32), ("t10k", 16)):
    with open(f"{sys.argv[1]}/{stem}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes((7 * i + 3) % 256 for i in range(n * 784)))
    with open(f"{sys.argv[1]}/{stem}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
PY
train() {
  local out=$1
  shift
  "$lrpcu" train --dataset mnist --data-dir "$dir/mnist" --width 2 --epochs 1 --batch-size 16 --device cpu \
    --out "$dir/$out" "$@" > "$dir/$out.log" 2>&1 || { echo "training $out failed:"; cat "$dir/$out.log"; exit 1; }
}
flip_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["flip"])' "$dir/$1/config.json"; }
train default
grep -q -- "--flip false (MNIST: a mirrored digit is no digit; give --flip true to flip)" "$dir/default.log" ||
  { echo "no note about flips:"; cat "$dir/default.log"; exit 1; }
[[ $(flip_of default) == False ]] || { echo "config.json records flip $(flip_of default)"; exit 1; }
train asked --flip true
! grep -q -- "--flip false" "$dir/asked.log" || { echo "--flip true was replaced"; exit 1; }
[[ $(flip_of asked) == True ]] || { echo "--flip true recorded as $(flip_of asked)"; exit 1; }
train from-file --config "$dir/asked/config.json"
[[ $(flip_of from-file) == True ]] || { echo "the --config file's flip true became $(flip_of from-file)"; exit 1; }
# Another dataset's file records flip true as its default: an MNIST run from it still does not flip.
"$lrpcu" train --dataset synthetic --train-subset 32 --test-subset 16 --width 2 --epochs 1 --batch-size 16 \
  --device cpu --out "$dir/synthetic" > "$dir/synthetic.log" 2>&1 || { echo "synthetic run failed"; exit 1; }
train other-file --config "$dir/synthetic/config.json"
[[ $(flip_of other-file) == False ]] || { echo "a synthetic run's recorded flip made MNIST flip"; exit 1; }
echo "ok: MNIST digits are not flipped unless asked"
