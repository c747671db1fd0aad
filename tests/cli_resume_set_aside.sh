#!/usr/bin/env bash
# CLI test: --resume never drops what a run did past its checkpoint, nor a user's edits, without keeping them:
# a checkpoint copied back over a run that went further sets aside the later metrics rows (the whole file, as it
# was) and the exported weights of later steps; a hand-edited metrics line or config.json is set aside, not erased;
# a checkpoint inside an epoch is not ended at an earlier --epochs (its weights are past it).
# Usage: cli_resume_set_aside.sh <out-dir> <lrpcu>
set -u
out=$1 lrpcu=$2
rm -rf "$out"
mkdir -p "$out"
B=(--dataset synthetic --train-subset 64 --test-subset 32 --width 2 --batch-size 16 --device cpu)
fail() { echo "$1"; [[ -n ${log:-} ]] && echo "$log"; exit 1; }
run() { log=$("$lrpcu" train "$@" 2>&1) || fail "exit $? for train $*"; }

# 1. An epoch-2 checkpoint copied back over a finished 4-epoch run, then resumed.
run "${B[@]}" --epochs 4 --out "$out/a" --stop-after-epoch 2
cp "$out/a/checkpoint.safetensors" "$out/ck2"
run --out "$out/a" --resume --device cpu
cp "$out/a/metrics.jsonl" "$out/rows4"
cp "$out/a/model.safetensors" "$out/model4"
cp "$out/ck2" "$out/a/checkpoint.safetensors"
# (a full disk at that moment: an error, and every file as it was)
log=$( (trap '' XFSZ; ulimit -f 0; "$lrpcu" train --out "$out/a" --resume --device cpu) 2>&1) && fail "no error on a full disk"
cmp -s "$out/rows4" "$out/a/metrics.jsonl" || fail "a failed resume changed metrics.jsonl"
cmp -s "$out/model4" "$out/a/model.safetensors" || fail "a failed resume moved model.safetensors"
run --out "$out/a" --resume --device cpu --stop-after-epoch 3
grep -q "metrics.jsonl' held 2 row(s) of epochs after the checkpoint's epoch 2" <<<"$log" || fail "no warning for the rows"
cmp -s "$out/rows4" "$out/a/metrics.jsonl.earlier" || fail "metrics.jsonl.earlier is not the file as it was"
[[ $(grep -c . "$out/a/metrics.jsonl") == 3 ]] || fail "metrics.jsonl should hold epochs 1-3"
grep -q "model.safetensors' holds the weights of step 16, after the checkpoint's step 8" <<<"$log" ||
  fail "no warning for model.safetensors"
cmp -s "$out/model4" "$out/a/model.safetensors.earlier" || fail "model.safetensors.earlier is not the epoch-4 model"

# 1b. A stop between a row and its checkpoint (here: the epoch-1 checkpoint and the weights exported then put back
# after epoch 2) leaves the next epoch's row only: dropped with a note, no copy; the run writes that row again.
run "${B[@]}" --epochs 2 --out "$out/n" --stop-after-epoch 1
cp "$out/n/checkpoint.safetensors" "$out/ck1"
cp "$out/n/model.safetensors" "$out/model1"
cp -r "$out/n" "$out/m"  # for 1c
run --out "$out/n" --resume --device cpu
cp "$out/n/metrics.jsonl" "$out/n-rows"
cp "$out/ck1" "$out/n/checkpoint.safetensors"
cp "$out/model1" "$out/n/model.safetensors"
run --out "$out/n" --resume --device cpu
[[ ! -e $out/n/metrics.jsonl.earlier ]] || fail "the interrupted epoch's row was copied aside"
grep -q "^note: --resume: metrics.jsonl held the row of epoch 2, .* it is dropped" <<<"$log" ||
  fail "no note for the dropped row: $log"
python3 - "$out/n-rows" "$out/n/metrics.jsonl" <<'PY' || fail "the epoch written again differs"
import json, sys
rows = [[{k: v for k, v in json.loads(l).items() if k not in ("images_per_s", "train_seconds")}
         for l in open(p) if l.strip()] for p in sys.argv[1:]]
sys.exit(0 if rows[0] == rows[1] and len(rows[0]) == 2 else 1)
PY

# 1c. The same row with the weights exported after epoch 2 still there: the run went past a later checkpoint (the
# epoch-1 checkpoint was copied back), so the row is no crash's leftover and is kept in a copy.
run --out "$out/m" --resume --device cpu
cp "$out/m/metrics.jsonl" "$out/m-rows"
cp "$out/ck1" "$out/m/checkpoint.safetensors"
run --out "$out/m" --resume --device cpu
cmp -s "$out/m-rows" "$out/m/metrics.jsonl.earlier" || fail "the row of a finished epoch 2 was not kept: $log"
[[ -e $out/m/model.safetensors.earlier ]] || fail "the epoch-2 weights were not set aside"

# 2. A metrics row made unreadable by hand and a note line: the file is kept as it was.
run "${B[@]}" --epochs 3 --out "$out/b" --stop-after-epoch 2
sed -i '1s/"lr"/"lr/' "$out/b/metrics.jsonl"
echo "my note" >> "$out/b/metrics.jsonl"
cp "$out/b/metrics.jsonl" "$out/b-before"
run --out "$out/b" --resume --device cpu
grep -q "held 2 line(s) that are no metrics row" <<<"$log" || fail "no warning for the unreadable lines"
cmp -s "$out/b-before" "$out/b/metrics.jsonl.earlier" || fail "the edited file was not kept"

# (a metrics.jsonl gone is said)
rm "$out/b/metrics.jsonl" "$out/b/metrics.jsonl.earlier"
run --out "$out/b" --resume --device cpu --epochs 4
grep -q "metrics.jsonl' is gone; the rows of epochs 1-3 are not in it any more" <<<"$log" || fail "no warning"

# 3. config.json edited by hand: set aside, the run keeps the checkpoint's settings.
run "${B[@]}" --epochs 2 --out "$out/c" --stop-after-epoch 1
sed -i 's/"lr": 0\.1[0-9]*/"lr": 0.01/' "$out/c/config.json"
cp "$out/c/config.json" "$out/c-edited"
run --out "$out/c" --resume --device cpu
grep -q "config.json' holds other settings than the checkpoint records (edited by hand" <<<"$log" || fail "no warning"
cmp -s "$out/c-edited" "$out/c/config.json.earlier" || fail "the edited config.json was not kept"
grep -q '"lr": 0.1' "$out/c/config.json" || fail "config.json does not hold the run's lr"
# (a resume that extends the run or streams otherwise does not set it aside)
run --out "$out/c" --resume --device cpu --epochs 3 --stream off --resident-limit-mb 100
[[ ! -e $out/c/config.json.earlier-2 ]] || fail "a longer --epochs or --stream set config.json aside"

# 4. A checkpoint inside epoch 3 resumed with --epochs 2: refused, nothing changed.
run "${B[@]}" --epochs 4 --out "$out/d" --stop-after-step 10
cp "$out/d/config.json" "$out/d-config"
log=$("$lrpcu" train --out "$out/d" --resume --epochs 2 --device cpu 2>&1) && fail "--epochs 2 inside epoch 3 accepted"
grep -q -- "--resume: the checkpoint is inside epoch 3 (after step 2 of it), past the 2 epoch(s)" <<<"$log" ||
  fail "unexpected message"
cmp -s "$out/d-config" "$out/d/config.json" || fail "the refused resume rewrote config.json"

# 5. A checkpoint of another run copied into a run's folder: that folder's rows and weights are kept in copies.
run "${B[@]}" --epochs 1 --seed 0 --out "$out/fa"
run "${B[@]}" --epochs 3 --seed 1 --out "$out/fb" --stop-after-epoch 2
cp "$out/fa/metrics.jsonl" "$out/fa-rows"
cp "$out/fa/model.safetensors" "$out/fa-model"
cp "$out/fb/checkpoint.safetensors" "$out/fa/"
run --out "$out/fa" --resume --device cpu
grep -q "model.safetensors' sits beside a config.json of other settings than the checkpoint's" <<<"$log" ||
  fail "no warning for the other run's weights"
cmp -s "$out/fa-model" "$out/fa/model.safetensors.earlier" || fail "the folder's own weights were not kept"
cmp -s "$out/fa-rows" "$out/fa/metrics.jsonl.earlier" || fail "the folder's own rows were not kept"
python3 -c "import json,sys; e=[json.loads(l)['epoch'] for l in open(sys.argv[1])]; sys.exit(e != [3])" \
  "$out/fa/metrics.jsonl" || fail "metrics.jsonl mixes the two runs' rows: $(cat "$out/fa/metrics.jsonl")"
grep -q "is gone" <<<"$log" && fail "the rows moved aside were reported as gone: $log"

# 6. metrics.jsonl edited by hand: without its last newline, the next row goes on a line of its own; a JSON line
# of yours, or two rows on one line, are kept in a copy (only a torn last line, cut inside a row, goes without).
run "${B[@]}" --epochs 4 --out "$out/e" --stop-after-epoch 1
truncate -s -1 "$out/e/metrics.jsonl"
run --out "$out/e" --resume --device cpu --stop-after-epoch 2
python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$out/e/metrics.jsonl" ||
  fail "two rows share a line: $(cat "$out/e/metrics.jsonl")"
[[ $(grep -c . "$out/e/metrics.jsonl") == 2 ]] || fail "metrics.jsonl should hold epochs 1-2"
echo '{"note": "lr looks high"}' >> "$out/e/metrics.jsonl"
run --out "$out/e" --resume --device cpu --stop-after-epoch 3
grep -q "held 1 line(s) that are no metrics row" <<<"$log" || fail "no warning for the note line"
grep -q '"note": "lr looks high"' "$out/e/metrics.jsonl.earlier" || fail "the note line was not kept"
head -c -1 "$out/e/metrics.jsonl" > "$out/e-glued" && tail -n 1 "$out/e/metrics.jsonl" >> "$out/e-glued"
cp "$out/e-glued" "$out/e/metrics.jsonl"
run --out "$out/e" --resume --device cpu
grep -q "held 1 line(s) that are no metrics row" <<<"$log" || fail "no warning for the glued rows"
cmp -s "$out/e-glued" "$out/e/metrics.jsonl.earlier-2" || fail "the glued rows were not kept"
echo "ok"
