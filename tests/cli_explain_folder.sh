#!/usr/bin/env bash
# CLI test: explain on an image folder decodes only the images it explains. With one image of the folder unreadable,
# --samples N of the first images and --input files sized by the folder give the maps of the intact folder, bit for
# bit (the whole split used to be decoded, and failed); --normalize data (the split's own statistics) still reads
# every image and names the broken one. --samples N takes eval --subset N's images (evenly spaced over the
# class-sorted files). explain --split val of a folder explains eval --split val's images. A run's model.safetensors,
# which does not record the folder, needs --data-dir for the dataset's images (and says so), not for --input files.
# With two classes, train and eval print no top-5 accuracy.
# Usage: cli_explain_folder.sh <out-dir> <lrpcu>
set -u
out=$1 lrpcu=$2
rm -rf "$out" && mkdir -p "$out"
python3 - "$out/data" "$(dirname "$0")" <<'PY' || exit 1
import sys
sys.path.insert(0, sys.argv[2])
from png_util import write_png
def png(path, seed):
    write_png(path, 16, 16, 3, [[(seed * 31 + y * 7 + x * (13 + seed % 5)) % 256 for x in range(16 * 3)]
                                for y in range(16)])
for split, n in (('train', 24), ('test', 6)):
    for c in 'ab':
        for i in range(n):
            png(f'{sys.argv[1]}/{split}/{c}/{i:04d}.png', i * 2 + (c == 'b') * 101)
PY
fail() { echo "$1"; [[ -f ${2:-} ]] && cat "$2"; exit 1; }
"$lrpcu" train --dataset folder --data-dir "$out/data" --width 2 --epochs 2 --batch-size 8 --device cpu \
  --val-split 8 --out "$out/run" > "$out/train.log" 2>&1 || fail "train failed:" "$out/train.log"
# Two classes: every label is in the top 5, so no top-5 accuracy is printed (it would read 100%).
grep -Eq "^epoch 2: .* \| test loss [0-9.]+ acc [0-9.]+% \| [0-9]+ img/s$" "$out/train.log" ||
  fail "the epoch line of a 2-class run is not as expected (a top-5 figure?):" "$out/train.log"
e=$("$lrpcu" eval --weights "$out/run/checkpoint.safetensors" --device cpu 2>&1) || fail "eval failed: $e"
grep -Eq "top-1 [0-9.]+%$" <<<"$e" || fail "eval of a 2-class run printed a top-5 figure: $e"
w=$out/run/checkpoint.safetensors
ex=(explain --weights "$w" --device cpu)
"$lrpcu" "${ex[@]}" --samples 4 --out "$out/whole" > "$out/whole.log" 2>&1 || fail "explain failed:" "$out/whole.log"
# Four evenly spaced images of the class-sorted folder (a/0, a/3, b/0, b/3), as eval --subset 4 takes them.
[[ $(grep -c "(label 0)" "$out/whole.log") == 2 && $(grep -c "(label 1)" "$out/whole.log") == 2 ]] ||
  fail "--samples 4 did not take two images of each class:" "$out/whole.log"
j4=$("$lrpcu" eval --weights "$w" --subset 4 --device cpu --json 2>&1) || fail "eval --subset 4 failed: $j4"
for stream in on off; do  # eval --subset 4 takes images of both classes, resident or streamed
  js=$("$lrpcu" eval --weights "$w" --subset 4 --stream $stream --device cpu --json 2>&1) || fail "eval --stream $stream failed: $js"
  python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); sys.exit(None in j["per_class"])' <<<"$js" ||
    fail "eval --subset 4 --stream $stream left a class without images: $js"
done
c4=$(python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print(round(j["top1"]*j["samples"]))' <<<"$j4")
grep -q "^$c4 of 4 samples predicted as labelled$" "$out/whole.log" ||
  fail "eval --subset 4: $c4 of 4 correct; explain --samples 4 says:" "$out/whole.log"
"$lrpcu" "${ex[@]}" --input "$out/data/test/b/0002.png" --out "$out/whole-input" > "$out/whole-input.log" 2>&1 ||
  fail "explain --input failed:" "$out/whole-input.log"

cp -r "$out/data" "$out/broken"
echo "not a png" > "$out/broken/test/b/0005.png"
"$lrpcu" "${ex[@]}" --data-dir "$out/broken" --samples 4 --out "$out/first" > "$out/first.log" 2>&1 ||
  fail "explain --samples 4 read beyond its images (test/b/0005.png is broken):" "$out/first.log"
cmp -s "$out/whole/relevance.npy" "$out/first/relevance.npy" || fail "the maps differ from the intact folder's"
"$lrpcu" "${ex[@]}" --data-dir "$out/broken" --dataset folder --input "$out/data/test/b/0002.png" \
  --out "$out/input" > "$out/input.log" 2>&1 || fail "explain --input decoded the folder's images:" "$out/input.log"
cmp -s "$out/whole-input/relevance.npy" "$out/input/relevance.npy" || fail "the --input maps differ from the intact folder's"
"$lrpcu" "${ex[@]}" --data-dir "$out/broken" --samples 4 --normalize data --out "$out/own" > "$out/own.log" 2>&1 &&
  fail "--normalize data took the statistics without the broken image:" "$out/own.log"
grep -q "0005.png" "$out/own.log" || fail "the error does not name the broken image:" "$out/own.log"
"$lrpcu" "${ex[@]}" --samples 4 --normalize data --out "$out/own-intact" > "$out/own-intact.log" 2>&1 ||
  fail "explain --normalize data failed:" "$out/own-intact.log"

# The run's model.safetensors does not record the folder: eval and explain of it need --data-dir, and say so.
m=$out/run/model.safetensors
for cmd in eval explain; do
  extra=(); [[ $cmd == explain ]] && extra=(--samples 2 --out "$out/m")
  "$lrpcu" "$cmd" --weights "$m" "${extra[@]}" --device cpu > "$out/nodir.log" 2>&1 &&
    fail "$cmd of model.safetensors without --data-dir succeeded:" "$out/nodir.log"
  grep -q "a run's model.safetensors does not record the folder" "$out/nodir.log" ||
    fail "$cmd of model.safetensors without --data-dir: no error that says why:" "$out/nodir.log"
done
"$lrpcu" explain --weights "$m" --data-dir "$out/data" --samples 4 --device cpu --out "$out/m" > "$out/m.log" 2>&1 ||
  fail "explain of model.safetensors with --data-dir failed:" "$out/m.log"
"$lrpcu" explain --weights "$m" --input "$out/data/test/b/0002.png" --device cpu --out "$out/m-input" > "$out/m-input.log" 2>&1 ||
  fail "explain --input of model.safetensors (no dataset needed) failed:" "$out/m-input.log"

json=$("$lrpcu" eval --weights "$w" --split val --device cpu --json 2>&1) || fail "eval --split val failed: $json"
read -r n top1 < <(python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); print(j["samples"], round(j["top1"]*j["samples"]))' <<<"$json") \
  || fail "eval --json unreadable: $json"
"$lrpcu" "${ex[@]}" --split val --samples "$n" --out "$out/val" > "$out/val.log" 2>&1 || fail "explain --split val failed:" "$out/val.log"
grep -q "^$top1 of $n samples predicted as labelled$" "$out/val.log" ||
  fail "eval --split val: $top1 of $n correct; explain --split val says:" "$out/val.log"
echo "ok"
