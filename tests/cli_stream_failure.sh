#!/usr/bin/env bash
# CLI test: a streamed image that becomes unreadable in the middle of an epoch stops `lrpcu train` with an
# error naming the file and a mid-epoch checkpoint of the steps done; once the data is fixed, --resume ends
# on the weights of an uninterrupted run, bit for bit. So does a test image that cannot be read when the epoch is
# evaluated (the checkpoint then follows the epoch's last step).
# Usage: cli_stream_failure.sh <out-dir> <lrpcu>
set -u
out=$1 lrpcu=$2
pid=
trap '[[ -n $pid ]] && kill -KILL "$pid" 2> /dev/null' EXIT
rm -rf "$out" && mkdir -p "$out"
python3 - "$out/data" "$(dirname "$0")" <<'PY' || exit 1
import sys
sys.path.insert(0, sys.argv[2])
from png_util import write_png
def png(path, seed):
    write_png(path, 16, 16, 3, [[(seed * 31 + y * 7 + x * 13) % 256 for x in range(16 * 3)] for y in range(16)])
for split, n in (('train', 800), ('test', 4)):
    for c in 'ab':
        for i in range(n):
            png(f'{sys.argv[1]}/{split}/{c}/{i:04d}.png', i * 2 + (c == 'b') * 101)
PY
cp -r "$out/data" "$out/live"
args=(train --dataset folder --stream on --width 2 --epochs 1 --batch-size 2 --device cpu --log-every 1)
"$lrpcu" "${args[@]}" --data-dir "$out/data" --out "$out/whole" > "$out/whole.log" 2>&1 ||
  { echo "uninterrupted run failed:"; cat "$out/whole.log"; exit 1; }

"$lrpcu" "${args[@]}" --data-dir "$out/live" --out "$out/cut" > "$out/cut.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # wait (up to 30 s) until it has trained a step
  grep -aEq "step [1-9][0-9]*/800" "$out/cut.log" && break
  sleep 0.05
done
for f in "$out"/live/train/*/*.png; do : > "$f"; done  # every training image unreadable from now on
wait "$pid"
rc=$?
pid=
[[ $rc -ne 0 ]] || { echo "the run finished although its images became unreadable (or before they were: a machine this fast needs a longer run):"; cat "$out/cut.log"; exit 1; }
grep -aq "cannot decode image" "$out/cut.log" || { echo "no error naming the image:"; cat "$out/cut.log"; exit 1; }
grep -aEq "a checkpoint after step [1-9][0-9]* of epoch 1 was saved" "$out/cut.log" ||
  { echo "no mid-epoch checkpoint of the steps done:"; cat "$out/cut.log"; exit 1; }

rm -rf "$out/live" && cp -r "$out/data" "$out/live"  # the data fixed
"$lrpcu" train --out "$out/cut" --resume > "$out/resume.log" 2>&1 || { echo "resume failed:"; cat "$out/resume.log"; exit 1; }
grep -aq "resumed from .* in epoch 1 after step" "$out/resume.log" || { echo "not resumed mid-epoch:"; cat "$out/resume.log"; exit 1; }
cmp -s "$out/whole/model.safetensors" "$out/cut/model.safetensors" ||
  { echo "the resumed run's weights differ from the uninterrupted run's"; exit 1; }

# A streamed test image that cannot be read: the epoch's training is kept in a checkpoint after its last step, and
# --resume (the image fixed) evaluates that epoch and ends on the uninterrupted run's weights.
mkdir -p "$out/small/train" "$out/small/test"
for c in a b; do
  cp "$out"/data/train/$c/000[0-7].png "$out/small/train/" 2> /dev/null; mkdir -p "$out/small/train/$c" "$out/small/test/$c"
  mv "$out"/small/train/*.png "$out/small/train/$c/"; cp "$out"/data/test/$c/*.png "$out/small/test/$c/"
done
cp -r "$out/small" "$out/broken"
echo "not a png" > "$out/broken/test/b/0003.png"
args=(train --dataset folder --stream on --width 2 --epochs 2 --batch-size 2 --device cpu)
"$lrpcu" "${args[@]}" --data-dir "$out/small" --out "$out/small-whole" > "$out/small-whole.log" 2>&1 ||
  { echo "uninterrupted small run failed:"; cat "$out/small-whole.log"; exit 1; }
"$lrpcu" "${args[@]}" --data-dir "$out/broken" --out "$out/eval-cut" > "$out/eval-cut.log" 2>&1 &&
  { echo "the run finished although a test image cannot be read:"; cat "$out/eval-cut.log"; exit 1; }
grep -aq "0003.png" "$out/eval-cut.log" && grep -aq "a checkpoint after all 8 steps of epoch 1, before its evaluation" \
  "$out/eval-cut.log" || { echo "no checkpoint of the trained epoch:"; cat "$out/eval-cut.log"; exit 1; }
cp "$out/small/test/b/0003.png" "$out/broken/test/b/0003.png"
"$lrpcu" train --out "$out/eval-cut" --resume > "$out/eval-resume.log" 2>&1 ||
  { echo "resume failed:"; cat "$out/eval-resume.log"; exit 1; }
grep -aq "resumed from .* in epoch 1 after step 8 of 8" "$out/eval-resume.log" ||
  { echo "not resumed at the epoch's evaluation:"; cat "$out/eval-resume.log"; exit 1; }
cmp -s "$out/small-whole/model.safetensors" "$out/eval-cut/model.safetensors" ||
  { echo "the run resumed at its evaluation ends on other weights than the uninterrupted run"; exit 1; }
echo "ok: an unreadable streamed image -> error + mid-epoch checkpoint; --resume ends on the uninterrupted weights"
