#!/usr/bin/env bash
# CLI test: segmentation masks from files (--masks). ISNet trains with them as its foreground (auto), eval
# --background measures against them, a missing mask is named before training, and --masks without ISNet
# (train) or without --background (eval) is reported.
# Usage: cli_masks.sh <out-dir> <lrpcu>
set -u
out=$1 lrpcu=$2
rm -rf "$out" && mkdir -p "$out"
python3 - "$out" "$(dirname "$0")" <<'PY' || exit 1
import sys
sys.path.insert(0, sys.argv[2])
from png_util import write_png as png
root = sys.argv[1]
for split, n in (('train', 8), ('test', 4)):
    for c in 'ab':
        for i in range(n):
            x0, y0 = 2 + i % 5, 3 + (i * 3) % 6  # an object square; class b's is brighter
            inside = lambda x, y: x0 <= x < x0 + 6 and y0 <= y < y0 + 6
            v = 160 if c == 'a' else 240
            img = [[(v if inside(x, y) else (x * 7 + y * 3 + i) % 40) for x in range(16) for _ in range(3)] for y in range(16)]
            mask = [[(255 if inside(x, y) else 0) for x in range(16)] for y in range(16)]
            png(f'{root}/data/{split}/{c}/{i:03d}.png', 16, 16, 3, img)
            png(f'{root}/masks/{split}/{c}/{i:03d}.png', 16, 16, 1, mask)
PY
args=(train --dataset folder --data-dir "$out/data" --width 2 --epochs 1 --batch-size 8 --device cpu)
fail() { echo "$1"; cat "$2"; exit 1; }

"$lrpcu" "${args[@]}" --augment isnet --masks "$out/masks" --out "$out/run" > "$out/train.log" 2>&1 ||
  fail "ISNet with --masks failed:" "$out/train.log"
grep -aq "train split resident on cpu: 16 images (.*); masks from $out/masks/train" "$out/train.log" ||
  fail "the training split does not say where its masks came from:" "$out/train.log"
grep -aq "; foreground the dataset's masks" "$out/train.log" || fail "ISNet's foreground is not the masks:" "$out/train.log"
grep -aq '"isnet-mask": "data"' "$out/run/config.json" || fail "auto not recorded as data:" "$out/run/config.json"

"$lrpcu" eval --weights "$out/run/model.safetensors" --data-dir "$out/data" --device cpu --background --masks "$out/masks" > "$out/eval.log" 2>&1 ||
  fail "eval --background --masks failed:" "$out/eval.log"
grep -aEq "background relevance \(foreground data: [0-9.]+% of the pixels; 8 images" "$out/eval.log" ||
  fail "eval --background did not take the masks:" "$out/eval.log"
"$lrpcu" eval --weights "$out/run/model.safetensors" --data-dir "$out/data" --device cpu --background > "$out/eval-plain.log" 2>&1 ||
  fail "eval --background failed:" "$out/eval-plain.log"
grep -aq "foreground threshold:0.02:" "$out/eval-plain.log" || fail "without --masks, auto is not the threshold:" "$out/eval-plain.log"
"$lrpcu" eval --weights "$out/run/model.safetensors" --data-dir "$out/data" --device cpu --masks "$out/masks" > "$out/eval-bad.log" 2>&1 &&
  fail "eval --masks without --background was accepted:" "$out/eval-bad.log"
grep -aq -- "--masks requires --background" "$out/eval-bad.log" || fail "no error naming --background:" "$out/eval-bad.log"

rm "$out/masks/train/b/005.png"
"$lrpcu" "${args[@]}" --augment isnet --masks "$out/masks" --out "$out/missing" > "$out/missing.log" 2>&1 &&
  fail "a missing mask was accepted:" "$out/missing.log"
grep -aq "1 of the 16 images have no mask: $out/masks/train/b/005.png (of $out/data/train/b/005.png)" "$out/missing.log" ||
  fail "the error does not name the missing mask:" "$out/missing.log"
[[ ! -e $out/missing/checkpoint.safetensors ]] || fail "a run started without its masks:" "$out/missing.log"

"$lrpcu" "${args[@]}" --masks "$out/masks" --out "$out/unused" > "$out/unused.log" 2>&1 ||
  fail "--masks with --augment none failed (the masks are not read, one is missing):" "$out/unused.log"
grep -aq -- "--masks gives ISNet (or RRR) its foreground; with --augment none they are not read" "$out/unused.log" ||
  fail "no warning that the masks are unused:" "$out/unused.log"
echo "ok: --masks is ISNet's foreground and eval's, a missing mask is named, unused --masks reported"
