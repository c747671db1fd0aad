#!/usr/bin/env bash
# CLI test: a checkpoint trained on an image folder with classes [a, b] is refused by `lrpcu eval` and
# `lrpcu explain --samples` on a folder whose classes are [a, c] (same count: the labels would silently
# name other outputs), and accepted on its own folder (explain learning the class count from the weights);
# bare weights on 1-channel idx images or a folder with more classes: eval names the channel or class counts.
# Usage: cli_class_mismatch.sh <lrpcu> <work-dir>
set -euo pipefail
lrpcu=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
python3 - "$dir" "$(dirname "$0")" <<'PY'
import os, struct, sys
sys.path.insert(0, sys.argv[2])
from png_util import write_png
def png(path, v):
    write_png(path, 8, 8, 3, [[v] * 8 * 3] * 8)
# A class folder whose name is Latin-1, not UTF-8 ("caf\xe9"), next to "dog".
for split in ('train', 'test'):
    for k, c in enumerate(('caf\udce9', 'dog')):  # surrogateescape: the byte 0xE9 in the file name
        for i in range(4):
            png(f'{sys.argv[1]}/latin1/{split}/{c}/{i}.png', 40 * k + 10 * i + 5)
for root, classes in (('ab', 'ab'), ('ac', 'ac'), ('abc', 'abc')):
    for split in ('train', 'test'):
        for k, c in enumerate(classes):
            for i in range(4):
                png(f'{sys.argv[1]}/{root}/{split}/{c}/{i}.png', 30 * k + 10 * i + 5)
# A Fashion-MNIST-shaped idx set (1 x 28 x 28, 10 classes) of 20 test images.
os.makedirs(f'{sys.argv[1]}/fm')
with open(f'{sys.argv[1]}/fm/t10k-images-idx3-ubyte', 'wb') as f:
    f.write(struct.pack('>IIII', 0x803, 20, 28, 28) + bytes((7 * i) % 256 for i in range(20 * 784)))
with open(f'{sys.argv[1]}/fm/t10k-labels-idx1-ubyte', 'wb') as f:
    f.write(struct.pack('>II', 0x801, 20) + bytes(i % 10 for i in range(20)))
PY
"$lrpcu" train --dataset folder --data-dir "$dir/ab" --width 2 --epochs 1 --batch-size 4 --device cpu \
  --out "$dir/run" > "$dir/train.log" 2>&1
ckpt=$dir/run/checkpoint.safetensors
expect_refused() {
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  [[ $rc -ne 0 ]] || { echo "accepted: $*"; echo "$out"; exit 1; }
  echo "$out" | grep -Eq "was trained on the classes \[a, b\], but the test split of .* has \[a, c\]" ||
    { echo "unexpected message from: $*"; echo "$out"; exit 1; }
}
expect_refused "$lrpcu" eval --weights "$ckpt" --data-dir "$dir/ac" --device cpu
expect_refused "$lrpcu" explain --weights "$ckpt" --data-dir "$dir/ac" --samples 2 --device cpu --out "$dir/x"
"$lrpcu" eval --weights "$ckpt" --device cpu > /dev/null  # its own folder (from the checkpoint)
# explain reads the 2 classes from the weights (it used to assume 10 and fail to load them)
"$lrpcu" explain --weights "$ckpt" --samples 2 --device cpu --out "$dir/x-own" > /dev/null
[[ -s "$dir/x-own/relevance.npy" ]] || { echo "explain on its own folder wrote no relevance"; exit 1; }
# Bare weights (no class names) on data of another shape: channel and class counts named, not a shape list.
refused_with() {  # refused_with <regex> <command...>
  local re=$1
  shift
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  [[ $rc -ne 0 ]] || { echo "accepted: $*"; echo "$out"; exit 1; }
  grep -Eq -- "$re" <<<"$out" || { echo "unexpected message from: $*"; echo "$out"; exit 1; }
}
refused_with "fashion-mnist images have 1 channel\(s\), but the weights in .*model.safetensors take 3" \
  "$lrpcu" eval --weights "$dir/run/model.safetensors" --arch resnet18 --width 2 --dataset fashion-mnist \
  --data-dir "$dir/fm" --device cpu
refused_with "has 3 classes, but the weights in .*model.safetensors have 2 outputs \(another dataset\?\)" \
  "$lrpcu" eval --weights "$dir/run/model.safetensors" --arch resnet18 --width 2 --dataset folder \
  --data-dir "$dir/abc" --device cpu
# Class names are recorded in checkpoints (JSON, UTF-8): training on a class folder named in Latin-1 is refused before
# it starts (it used to die at the first checkpoint, after an epoch), leaving no run folder; eval, which records
# none, evaluates such a folder.
refused_with "the class name 'caf\\\\xE9' \(a class folder's name\) is not valid UTF-8" \
  "$lrpcu" train --dataset folder --data-dir "$dir/latin1" --width 2 --epochs 1 --batch-size 4 --device cpu \
  --out "$dir/latin1-run"
[[ ! -e $dir/latin1-run ]] || { echo "the refused run left its folder"; exit 1; }
python3 - "$dir/run/model.safetensors" "$dir/plain.safetensors" <<'PY'  # the weights without lrpcu's metadata
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
h.pop('__metadata__', None)
s = json.dumps(h).encode()
s += b' ' * ((8 - len(s) % 8) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(s)) + s + b[8 + n:])
PY
"$lrpcu" eval --weights "$dir/plain.safetensors" --arch resnet18 --width 2 --dataset folder \
  --data-dir "$dir/latin1" --device cpu > "$dir/latin1-eval.log" 2>&1 || { cat -v "$dir/latin1-eval.log"; exit 1; }
echo "ok"
