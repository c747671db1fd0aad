#!/usr/bin/env bash
# CLI test: `lrpcu eval` of weights holding NaN refuses to report an accuracy (NaN logits would otherwise
# rank the true class first) and names the weights file. Trains a tiny model, poisons one tensor.
# Usage: cli_nan_weights.sh <lrpcu> <work-dir>
set -euo pipefail
lrpcu=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
"$lrpcu" train --dataset synthetic --train-subset 32 --test-subset 16 --width 2 --epochs 1 --batch-size 16 \
  --device cpu --out "$dir/run" > "$dir/train.log" 2>&1
# Every float of fc.weight becomes NaN (safetensors: 8-byte header length, JSON header, raw data).
python3 - "$dir/run/model.safetensors" "$dir/nan.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
head = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])
lo, hi = head['fc.weight']['data_offsets']
assert head['fc.weight']['dtype'] == 'F32'
data[lo:hi] = struct.pack('<f', float('nan')) * ((hi - lo) // 4)
open(sys.argv[2], 'wb').write(raw[:8 + n] + bytes(data))
PY
set +e
out=$("$lrpcu" eval --weights "$dir/nan.safetensors" --arch resnet18 --width 2 --dataset synthetic --subset 16 \
  --device cpu 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] || { echo "eval of NaN weights exited 0:"; echo "$out"; exit 1; }
echo "$out" | grep -Eq "outputs hold NaN or Inf for 16 of 16 images: the weights in .*nan.safetensors" ||
  { echo "unexpected message:"; echo "$out"; exit 1; }
# The unpoisoned weights still evaluate.
"$lrpcu" eval --weights "$dir/run/model.safetensors" --arch resnet18 --width 2 --dataset synthetic --subset 16 \
  --device cpu > /dev/null
echo "ok"
