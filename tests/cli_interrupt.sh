#!/usr/bin/env bash
# CLI test of Ctrl-C during `lrpcu train`: SIGINT mid-run stops it after the current step with exit 130,
# a mid-epoch checkpoint and a message saying so; --resume then finishes the run with the weights of an
# uninterrupted run, bit for bit. The same after SIGKILL with --checkpoint-every.
# Usage: cli_interrupt.sh <out-dir> <lrpcu> [<training images>, default 1600: 100 steps an epoch; fewer under the sanitizers]
set -u
out=$1 lrpcu=$2 images=${3:-1600}
steps=$((images / 16))
pid=
trap '[[ -n $pid ]] && kill -KILL "$pid" 2> /dev/null' EXIT  # no training left running if a check fails
rm -rf "$out"
mkdir -p "$out"
args=(train --dataset synthetic --train-subset $images --test-subset 16 --arch resnet18 --width 2 --epochs 2
      --batch-size 16 --device cpu --log-every 1)
"$lrpcu" "${args[@]}" --out "$out/whole" > "$out/whole.log" 2>&1 || { echo "uninterrupted run failed:"; cat "$out/whole.log"; exit 1; }

"$lrpcu" "${args[@]}" --out "$out/cut" > "$out/cut.log" 2>&1 &
pid=$!
# The last step whose progress a log shows (0 before the first).
last_step() { grep -aoE "step [0-9]+/$steps" "$1" | tail -n 1 | grep -oE "[0-9]+/" | tr -d / || true; }
for _ in $(seq 1 600); do  # wait (up to 30 s) until it trains: progress of step 3 or later
  (($(last_step "$out/cut.log") + 0 >= 3)) && break
  sleep 0.05
done
kill -INT "$pid"
sleep 0.2
kill -INT "$pid"  # delivered twice, as a terminal or timeout(1) may: still one graceful stop, not "quit now"
wait "$pid"
rc=$?
[[ $rc -eq 130 ]] || { echo "expected exit 130 after SIGINT, got $rc:"; cat "$out/cut.log"; exit 1; }
grep -aq "stopped (SIGINT) in epoch" "$out/cut.log" || { echo "no 'stopped (SIGINT)' message:"; cat "$out/cut.log"; exit 1; }
grep -aq "signal again a second later to quit now" "$out/cut.log" || { echo "no notice from the signal handler"; cat "$out/cut.log"; exit 1; }
ls "$out/cut/"checkpoint.safetensors.tmp.* > /dev/null 2>&1 && { echo "a temporary checkpoint file was left behind"; exit 1; }

"$lrpcu" "${args[@]}" --out "$out/cut" --resume > "$out/resume.log" 2>&1 || { echo "resume failed:"; cat "$out/resume.log"; exit 1; }
grep -aq "resumed from .* in epoch" "$out/resume.log" || { echo "resume did not continue mid-epoch:"; cat "$out/resume.log"; exit 1; }
cmp -s "$out/whole/model.safetensors" "$out/cut/model.safetensors" ||
  { echo "the interrupted and resumed run's weights differ from the uninterrupted run's"; exit 1; }

# A crash (SIGKILL: no handler runs) with --checkpoint-every 3: the run resumes from the last periodic
# mid-epoch checkpoint and still ends on the uninterrupted weights; the resume names no setting but --out.
"$lrpcu" "${args[@]}" --checkpoint-every 3 --out "$out/crash" > "$out/crash.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # past the third periodic checkpoint
  (($(last_step "$out/crash.log") + 0 >= 10)) && break
  sleep 0.05
done
kill -KILL "$pid"
wait "$pid" 2> /dev/null
# Only --out and --resume: every other setting (synthetic data, 2 epochs, width 2, ...) comes from the checkpoint.
"$lrpcu" train --out "$out/crash" --resume > "$out/crash-resume.log" 2>&1 ||
  { echo "resume after the crash failed:"; cat "$out/crash-resume.log"; exit 1; }
grep -aq "continuing with the settings recorded in" "$out/crash-resume.log" ||
  { echo "the resume did not say it took the checkpoint's settings:"; cat "$out/crash-resume.log"; exit 1; }
step=$(grep -aoE "in epoch [12] after step [0-9]+ of $steps" "$out/crash-resume.log" | grep -oE "step [0-9]+" | cut -d' ' -f2)
[[ -n $step && $((step % 3)) == 0 ]] || grep -aq "resumed from .* after epoch 1" "$out/crash-resume.log" ||
  { echo "no periodic checkpoint was resumed:"; cat "$out/crash-resume.log"; exit 1; }
cmp -s "$out/whole/model.safetensors" "$out/crash/model.safetensors" ||
  { echo "the crashed and resumed run's weights differ from the uninterrupted run's"; exit 1; }
echo "ok: SIGINT -> exit 130 and a mid-epoch checkpoint; SIGKILL -> the last periodic one; both resume to the same weights"
