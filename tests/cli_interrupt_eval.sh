#!/usr/bin/env bash
# CLI test of Ctrl-C during an epoch's evaluation: the run stops there (it does not wait for the evaluation) with
# exit 130, a checkpoint after all the epoch's steps and a message saying so; --resume evaluates that epoch and
# ends as the uninterrupted run: the same weights, bit for bit, and the same metrics rows but for the timings.
# Usage: cli_interrupt_eval.sh <out-dir> <lrpcu> <width> <test-subset> (a model and test split whose evaluation
# takes seconds: one training step, then the signal a share of the evaluation's measured time later)
set -u
out=$1 lrpcu=$2 width=$3 test_subset=$4
pid=
trap '[[ -n $pid ]] && kill -KILL "$pid" 2> /dev/null' EXIT
rm -rf "$out"
mkdir -p "$out"
export LRP_CPU_THREADS=2  # the evaluation's length should not follow the machine's core count
args=(train --dataset synthetic --train-subset 16 --test-subset "$test_subset" --arch resnet18 --width "$width"
      --epochs 2 --batch-size 16 --device cpu --log-every 1)
now() { date +%s.%N; }
# Waits (up to 5 minutes) until the log $1 has a line matching $2; prints the time then.
seen() {
  for _ in $(seq 1 6000); do
    grep -aq "$2" "$1" && break
    sleep 0.05
  done
  now
}

# The uninterrupted run, timing epoch 1's evaluation: from its step's line to its epoch line.
"$lrpcu" "${args[@]}" --out "$out/whole" > "$out/whole.log" 2>&1 &
pid=$!
ta=$(seen "$out/whole.log" "epoch 1/2 step 1/1")
tb=$(seen "$out/whole.log" "^epoch 1: train loss")
wait "$pid" || { pid=; echo "uninterrupted run failed:"; cat "$out/whole.log"; exit 1; }
pid=
delay=$(python3 -c "import sys; e = float(sys.argv[2]) - float(sys.argv[1]); print(f'{0.4 * e:.2f}' if e >= 0.5 else '')" "$ta" "$tb")
[[ -n $delay ]] || { echo "the evaluation took under 0.5 s here: too short to signal into (raise the width)"; exit 1; }

t0=$(now)
"$lrpcu" "${args[@]}" --out "$out/cut" > "$out/cut.log" 2>&1 &
pid=$!
t1=$(seen "$out/cut.log" "epoch 1/2 step 1/1")  # epoch 1's only step: its evaluation starts then
sleep "$delay"  # 40 % into the evaluation, well past the step's own stop check
kill -INT "$pid"
wait "$pid"
rc=$?
pid=
[[ $rc -eq 130 ]] || { echo "expected exit 130 after SIGINT, got $rc:"; cat "$out/cut.log"; exit 1; }
grep -aq "stopped (SIGINT) in epoch 1 during its evaluation, after step 1 of 1:" "$out/cut.log" ||
  { echo "no 'stopped (SIGINT) ... during its evaluation' message (did the evaluation end before the signal?):"
    cat "$out/cut.log"; exit 1; }
grep -aq "^epoch 1: train loss" "$out/cut.log" && { echo "the evaluation ran to its end:"; cat "$out/cut.log"; exit 1; }
[[ -s "$out/cut/metrics.jsonl" ]] && { echo "an epoch was recorded before its evaluation:"; cat "$out/cut/metrics.jsonl"; exit 1; }
# The checkpoint records the epoch's training time, which ended before the step's line was seen (t1 - t0 bounds it),
# not the evaluation's time after it.
python3 - "$out/cut/checkpoint.safetensors" "$t0" "$t1" <<'PY' || exit 1
import json, struct, sys
with open(sys.argv[1], 'rb') as f:
    meta = json.loads(f.read(struct.unpack('<Q', f.read(8))[0]))['__metadata__']
p = json.loads(meta['lrpcu'])['partial_epoch']
bound = float(sys.argv[3]) - float(sys.argv[2]) + 0.1
if p['batches'] != 1 or not 0 < p['seconds'] < bound:
    sys.exit(f"checkpoint: {p['batches']} batches, {p['seconds']} s of training; expected 1 batch and under {bound:.2f} s")
PY

"$lrpcu" "${args[@]}" --out "$out/cut" --resume > "$out/resume.log" 2>&1 || { echo "resume failed:"; cat "$out/resume.log"; exit 1; }
grep -aq "resumed from .* in epoch 1 after step 1 of 1" "$out/resume.log" ||
  { echo "resume did not continue in epoch 1 after its last step:"; cat "$out/resume.log"; exit 1; }
cmp -s "$out/whole/model.safetensors" "$out/cut/model.safetensors" ||
  { echo "the interrupted and resumed run's weights differ from the uninterrupted run's"; exit 1; }
untimed() { sed -E 's/"(train_seconds|images_per_s|peak_device_bytes)":[^,}]*//g' "$1"; }
[[ $(wc -l < "$out/whole/metrics.jsonl") -eq 2 ]] || { echo "the uninterrupted run did not record 2 epochs"; exit 1; }
diff <(untimed "$out/whole/metrics.jsonl") <(untimed "$out/cut/metrics.jsonl") ||
  { echo "the resumed run's metrics rows differ from the uninterrupted run's"; exit 1; }
echo "ok: SIGINT during the evaluation -> exit 130 and a checkpoint after the epoch's steps; --resume ends as the uninterrupted run"
