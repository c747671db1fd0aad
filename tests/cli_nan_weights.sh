#!/usr/bin/env bash
# CLI test: `lrpcu eval` of weights holding NaN refuses to report an accuracy (NaN logits would otherwise
# rank the true class first), naming the file and the tensor; `lrpcu explain` refuses them, a NaN input, and inputs
# so large that the outputs overflow.
# Trains a tiny model, poisons one tensor.
# Also: a negative BatchNorm variance, and overflowing outputs in occlusion and faithfulness.
# Usage: cli_nan_weights.sh <lrpcu> <work-dir>
set -euo pipefail
lrpcu=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
"$lrpcu" train --dataset synthetic --train-subset 32 --test-subset 16 --width 2 --epochs 1 --batch-size 16 \
  --device cpu --out "$dir/run" > "$dir/train.log" 2>&1
# edit <out> <tensor> <python expression of v, i>: a copy of the run's model.safetensors whose F32 tensor has each
# value v (its i-th) replaced by the expression (safetensors: 8-byte header length, JSON header, raw data).
edit() {
  python3 - "$dir/run/model.safetensors" "$dir/$1" "$2" "$3" <<'PY'
import json, struct, sys
src, dst, name, expr = sys.argv[1:]
raw = open(src, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
head = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])
lo, hi = head[name]['data_offsets']
assert head[name]['dtype'] == 'F32'
vals = struct.unpack('<%df' % ((hi - lo) // 4), data[lo:hi])
data[lo:hi] = struct.pack('<%df' % len(vals), *[eval(expr, {'v': v, 'i': i}) for i, v in enumerate(vals)])
open(dst, 'wb').write(raw[:8 + n] + bytes(data))
PY
}
# refused <extended regex> <lrpcu arguments...>: the command exits non-zero with a message matching the regex.
refused() {
  local re=$1 out rc
  shift
  set +e
  out=$("$lrpcu" "$@" 2>&1)
  rc=$?
  set -e
  [[ $rc -ne 0 ]] || { echo "lrpcu $* exited 0:"; echo "$out"; exit 1; }
  echo "$out" | grep -Eq -- "$re" || { echo "lrpcu $*: unexpected message:"; echo "$out"; exit 1; }
}
edit nan.safetensors fc.weight "float('nan')"  # every float of fc.weight
refused "nan.safetensors: tensor fc.weight holds NaN or Inf \(the weights of a run that diverged\?\)" \
  eval --weights "$dir/nan.safetensors" --arch resnet18 --width 2 --dataset synthetic --subset 16 --device cpu
# lrpcu explain refuses them too, and writes nothing.
refused "nan.safetensors: tensor fc.weight holds NaN or Inf" explain --weights "$dir/nan.safetensors" --arch resnet18 \
  --width 2 --dataset synthetic --samples 2 --device cpu --out "$dir/explain-nan"
[[ ! -e "$dir/explain-nan/relevance.npy" ]] || { echo "explain of NaN weights wrote relevance.npy"; exit 1; }
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
refused "input holds NaN or Inf \(samples 1\)" explain --weights "$dir/run/checkpoint.safetensors" \
  --input "$dir/nan-input.npy" --device cpu --out "$dir/explain-nan-input"
# Finite inputs so large that the logits overflow: no relevance either.
python3 - "$dir/huge-input.npy" <<'PY'
import struct, sys
n, c, h, w = 2, 3, 32, 32
head = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }" % (n, c, h, w)
head += ' ' * (63 - (10 + len(head)) % 64) + '\n'
open(sys.argv[1], 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(head)) + head.encode() +
                              struct.pack('<f', 3e38) * (n * c * h * w))
PY
refused "outputs hold NaN or Inf \(samples 0, 1\)" explain --weights "$dir/run/checkpoint.safetensors" \
  --input "$dir/huge-input.npy" --device cpu --out "$dir/explain-huge"
[[ ! -e "$dir/explain-huge/relevance.npy" ]] || { echo "explain of huge inputs wrote relevance.npy"; exit 1; }
# A negative BatchNorm running_var (no statistics give one) is refused by eval and --init-weights, named.
edit negvar.safetensors bn1.running_var "-1.0 if i == 0 else v"
negvar="negvar.safetensors: tensor bn1.running_var holds a negative variance \(-1\)"
refused "$negvar" eval --weights "$dir/negvar.safetensors" --arch resnet18 --width 2 --dataset synthetic --subset 16 \
  --device cpu
refused "$negvar" train --init-weights "$dir/negvar.safetensors" --dataset synthetic --train-subset 32 \
  --test-subset 16 --width 2 --epochs 1 --batch-size 16 --device cpu --out "$dir/negvar-run"
# A classifier scaled by 1e36 keeps the clean outputs finite, but not those of an image with a 1e6 fill: occlusion
# and faithfulness refuse to score an arg-max of Inf (they counted it as a prediction).
edit big.safetensors fc.weight "v * 1e36"
big=(eval --weights "$dir/big.safetensors" --arch resnet18 --width 2 --dataset synthetic --subset 16 --device cpu)
"$lrpcu" "${big[@]}" > /dev/null  # clean outputs: finite
refused "occlusion: the model's outputs hold NaN or Inf for image 0.*relevance map is finite" "${big[@]}" \
  --occlusion --occlusion-fill normalized:1e6 --occlusion-out "$dir/big-occlusion"
refused "faithfulness: the model's outputs hold NaN or Inf for image 0.*relevance map is finite" "${big[@]}" \
  --faithfulness --faithfulness-fill normalized:1e6
# The unpoisoned weights still evaluate.
"$lrpcu" eval --weights "$dir/run/model.safetensors" --arch resnet18 --width 2 --dataset synthetic --subset 16 \
  --device cpu > /dev/null
echo "ok"
