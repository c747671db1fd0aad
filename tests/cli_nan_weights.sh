#!/usr/bin/env bash
# CLI test: `lrpcu eval` of weights holding NaN refuses to report an accuracy (NaN logits would otherwise
# rank the true class first), naming the file and the tensor; `lrpcu explain` refuses them, a NaN input, and inputs
# so large that the outputs overflow.
# Trains a tiny model, poisons one tensor.
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
echo "$out" | grep -Eq "nan.safetensors: tensor fc.weight holds NaN or Inf \(the weights of a run that diverged\?\)" ||
  { echo "unexpected message:"; echo "$out"; exit 1; }
# lrpcu explain refuses them too, and writes nothing.
set +e
out=$("$lrpcu" explain --weights "$dir/nan.safetensors" --arch resnet18 --width 2 --dataset synthetic --samples 2 \
  --device cpu --out "$dir/explain-nan" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 && ! -e "$dir/explain-nan/relevance.npy" ]] || { echo "explain of NaN weights: exit $rc"; echo "$out"; exit 1; }
echo "$out" | grep -Eq "nan.safetensors: tensor fc.weight holds NaN or Inf" || { echo "unexpected message:"; echo "$out"; exit 1; }
# An input array with a NaN in sample 1 is refused before any pass.
python3 - "$dir/nan-input.npy" <<'PY'
import struct, sys
n, c, h, w = 2, 3, 32, 32
vals = [0.1] * (n * c * h * w)
vals[c * h * w + 5] = float('nan')
head = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }" % (n, c, h, w)
head += ' ' * (63 - (10 + len(head)) % 64) + '\n'
open(sys.argv[1], 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(head)) + head.encode() +
                              struct.pack('<%df' % len(vals), *vals))
PY
set +e
out=$("$lrpcu" explain --weights "$dir/run/checkpoint.safetensors" --input "$dir/nan-input.npy" --device cpu \
  --out "$dir/explain-nan-input" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] || { echo "explain of a NaN input exited 0:"; echo "$out"; exit 1; }
echo "$out" | grep -Eq "input holds NaN or Inf \(samples 1\)" || { echo "unexpected message:"; echo "$out"; exit 1; }
# Finite inputs so large that the logits overflow: no relevance either.
python3 - "$dir/huge-input.npy" <<'PY'
import struct, sys
n, c, h, w = 2, 3, 32, 32
head = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }" % (n, c, h, w)
head += ' ' * (63 - (10 + len(head)) % 64) + '\n'
open(sys.argv[1], 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(head)) + head.encode() +
                              struct.pack('<f', 3e38) * (n * c * h * w))
PY
set +e
out=$("$lrpcu" explain --weights "$dir/run/checkpoint.safetensors" --input "$dir/huge-input.npy" --device cpu \
  --out "$dir/explain-huge" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 && ! -e "$dir/explain-huge/relevance.npy" ]] || { echo "explain of huge inputs: exit $rc"; echo "$out"; exit 1; }
echo "$out" | grep -Eq "outputs hold NaN or Inf \(samples 0, 1\)" || { echo "unexpected message:"; echo "$out"; exit 1; }
# A negative BatchNorm running_var (no statistics give one) is refused by eval and --init-weights, named.
python3 - "$dir/run/model.safetensors" "$dir/negvar.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
head = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])
lo, hi = head['bn1.running_var']['data_offsets']
data[lo:lo + 4] = struct.pack('<f', -1.0)
open(sys.argv[2], 'wb').write(raw[:8 + n] + bytes(data))
PY
for cmd in "eval --weights $dir/negvar.safetensors --arch resnet18 --width 2 --dataset synthetic --subset 16" \
           "train --init-weights $dir/negvar.safetensors --dataset synthetic --train-subset 32 --test-subset 16 --width 2 --epochs 1 --batch-size 16 --out $dir/negvar-run"; do
  set +e
  out=$("$lrpcu" $cmd --device cpu 2>&1)
  rc=$?
  set -e
  [[ $rc -ne 0 ]] || { echo "$cmd exited 0:"; echo "$out"; exit 1; }
  echo "$out" | grep -Eq "negvar.safetensors: tensor bn1.running_var holds a negative variance \(-1\)" ||
    { echo "$cmd: unexpected message:"; echo "$out"; exit 1; }
done
# A classifier scaled by 1e36 keeps the clean outputs finite, but not those of an image with a 1e6 fill: occlusion
# and faithfulness refuse to score an arg-max of Inf (they counted it as a prediction).
python3 - "$dir/run/model.safetensors" "$dir/big.safetensors" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
head = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])
lo, hi = head['fc.weight']['data_offsets']
vals = struct.unpack('<%df' % ((hi - lo) // 4), data[lo:hi])
data[lo:hi] = struct.pack('<%df' % len(vals), *[v * 1e36 for v in vals])
open(sys.argv[2], 'wb').write(raw[:8 + n] + bytes(data))
PY
big="eval --weights $dir/big.safetensors --arch resnet18 --width 2 --dataset synthetic --subset 16 --device cpu"
"$lrpcu" $big > /dev/null  # clean outputs: finite
for metric in "occlusion --occlusion-fill normalized:1e6 --occlusion-out $dir/big-occlusion" \
              "faithfulness --faithfulness-fill normalized:1e6"; do
  set +e
  out=$("$lrpcu" $big --$metric 2>&1)
  rc=$?
  set -e
  [[ $rc -ne 0 ]] || { echo "--$metric of overflowing outputs exited 0:"; echo "$out"; exit 1; }
  echo "$out" | grep -Eq "${metric%% *}: the model's outputs hold NaN or Inf for image 0.*relevance map is finite" ||
    { echo "--$metric: unexpected message:"; echo "$out"; exit 1; }
done
# The unpoisoned weights still evaluate.
"$lrpcu" eval --weights "$dir/run/model.safetensors" --arch resnet18 --width 2 --dataset synthetic --subset 16 \
  --device cpu > /dev/null
echo "ok"
