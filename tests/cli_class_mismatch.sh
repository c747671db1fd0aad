#!/usr/bin/env bash
# CLI test: a checkpoint trained on an image folder with classes [a, b] is refused by `lrpcu eval` and
# `lrpcu explain --samples` on a folder whose classes are [a, c] (same count: the labels would silently
# name other outputs), and accepted on its own folder (explain learning the class count from the weights).
# Usage: cli_class_mismatch.sh <lrpcu> <work-dir>
set -euo pipefail
lrpcu=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
python3 - "$dir" <<'PY'
import os, struct, sys, zlib
def png(path, v):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = b''.join(b'\x00' + bytes([v] * 8 * 3) for _ in range(8))
    ch = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + ch(b'IHDR', struct.pack('>IIBBBBB', 8, 8, 8, 2, 0, 0, 0)) +
                           ch(b'IDAT', zlib.compress(raw)) + ch(b'IEND', b''))
for root, classes in (('ab', 'ab'), ('ac', 'ac')):
    for split in ('train', 'test'):
        for k, c in enumerate(classes):
            for i in range(4):
                png(f'{sys.argv[1]}/{root}/{split}/{c}/{i}.png', 30 * k + 10 * i + 5)
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
echo "ok"
