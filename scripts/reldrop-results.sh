#!/usr/bin/env bash
# RelDrop results on Fashion-MNIST (issue #5): ResNet-18 trained with --augment none, random-erasing,
# reldrop-block and reldrop-pixel on one schedule per seed, `lrpcu eval --occlusion --faithfulness` on each
# final checkpoint, and a markdown + JSON table (scripts/reldrop-table.py). Runs are resumed (lrpcu train --resume:
# a finished run reports again, a stopped one continues; lrpcu refuses settings that differ from the run's, and
# this script other --epochs, which a resume would accept, so a run is never reused for another protocol or other
# flags); each call's output is appended to <run>.train.log; curves older than their checkpoint are redone.
#   scripts/reldrop-results.sh [--protocol gpu|cpu] [--seeds "0 1 2"] [--out DIR] [--phase all|train|eval|table]
#                              [--data-dir DIR] [--extra "NAME|train flags"]...   (more rows, e.g. "reldrop-block-egb|--augment
#                              reldrop-block --reldrop-composite epsilon_gamma_box") [--no-base] (only the --extra rows)
#                              [--train-flags "FLAGS"] (added to every row's training, e.g. "--drop-last true")
# gpu: full data, width 64, 15 epochs, 3 seeds. cpu: the main job's reduced setting (6000 training images,
# 2000 test images, width 16, 3 epochs), 1 seed: small enough for a 2-core machine, far from converged.
# Relative paths (--out, --data-dir, LRPCU) are the caller's; the runs go to runs/ in the repository by default.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
protocol=gpu seeds="" out="" phase=all nobase=0 data=() common=() bin=${LRPCU:-$root/build/lrpcu}
runs=("none|--augment none" "random-erasing|--augment random-erasing" "reldrop-block|--augment reldrop-block"
      "reldrop-pixel|--augment reldrop-pixel")
while [[ $# -gt 0 ]]; do
  case $1 in
    --protocol) protocol=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --phase) phase=$2; shift 2 ;;
    --data-dir) data=(--data-dir "$2"); shift 2 ;;
    --extra) runs+=("$2"); shift 2 ;;
    --no-base) nobase=1; shift ;;
    --train-flags) read -r -a common <<< "$2"; shift 2 ;;
    *) echo "reldrop-results: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
(( nobase )) && runs=("${runs[@]:4}")
(( ${#runs[@]} )) || { echo "reldrop-results: --no-base without any --extra row: nothing to run" >&2; exit 2; }
case $protocol in
  gpu) train=(--device cuda --epochs 15 --batch-size 128 --lr 0.1 --width 64); evalargs=(--device cuda)
       seeds=${seeds:-"0 1 2"} ;;
  cpu) train=(--device cpu --epochs 3 --batch-size 64 --lr 0.05 --width 16 --train-subset 6000 --test-subset 2000)
       evalargs=(--device cpu --subset 2000 --occlusion-steps 10); seeds=${seeds:-"0"} ;;
  *) echo "reldrop-results: --protocol must be gpu or cpu" >&2; exit 2 ;;
esac
case $phase in
  all | train | eval | table) ;;
  *) echo "reldrop-results: --phase must be all, train, eval or table (got '$phase')" >&2; exit 2 ;;
esac
out=${out:-$root/runs/reldrop-$protocol}
[[ -x $bin ]] || { echo "reldrop-results: $bin not built (scripts/test.sh or scripts/run.sh builds it)" >&2; exit 1; }
mkdir -p "$out"

# A run is finished when its metrics record the last epoch its config.json asks for (a run stopped by a signal,
# a timeout or --stop-after-* writes model.safetensors too, and --resume continues it).
finished() {
  python3 - "$1" <<'PY'
import json, sys
d = sys.argv[1]
try:
    epochs = json.load(open(d + '/config.json'))['epochs']
    rows = [json.loads(line) for line in open(d + '/metrics.jsonl') if line.strip()]
except (OSError, ValueError, KeyError):
    sys.exit(1)
sys.exit(0 if rows and rows[-1].get('epoch', 0) >= epochs else 1)
PY
}

if [[ $phase == all || $phase == train ]]; then
  for seed in $seeds; do
    for r in "${runs[@]}"; do
      a=${r%%|*}; read -r -a flags <<< "${r#*|}"
      d=$out/$a-s$seed
      # A finished run is resumed too: lrpcu compares its recorded settings with these flags and refuses others.
      resume=(); [[ -f $d/checkpoint.safetensors ]] && resume=(--resume)
      args=("${flags[@]}" "${common[@]}" "${train[@]}")
      if [[ ${#resume[@]} -gt 0 ]]; then
        # --epochs is one of the settings a resume may change (it stretches the schedule): another count is another run
        want=""; for ((i = 0; i + 1 < ${#args[@]}; i++)); do [[ ${args[i]} == --epochs ]] && want=${args[i+1]}; done
        had=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('epochs', ''))" "$d/config.json" 2>/dev/null || true)
        [[ -z $want || -z $had || $want == "$had" ]] || {
          echo "reldrop-results: $d was trained for $had epochs, this call asks $want: another run (give another --out)" >&2
          exit 1
        }
      fi
      if finished "$d"; then echo "reldrop-results: $d done (checking its settings)"; else echo "reldrop-results: training $d"; fi
      # appended: a finished run's check (a few lines) leaves its training's log
      log=$d.train.log
      echo "=== $(date -u '+%F %T') lrpcu train ${resume[*]:-(new run)}" >> "$log"
      "$bin" train --dataset fashion-mnist --arch resnet18 --seed "$seed" "${args[@]}" "${data[@]}" \
        --log-every 1000 --out "$d" "${resume[@]}" >> "$log" 2>&1 || { tail -20 "$log"; exit 1; }
      tail -3 "$log"
    done
  done
fi
if [[ $phase == all || $phase == eval ]]; then
  for seed in $seeds; do
    for r in "${runs[@]}"; do
      a=${r%%|*}
      d=$out/$a-s$seed
      finished "$d" || { echo "reldrop-results: $d has not finished training (--phase train continues it)" >&2; exit 1; }
      # curves of the final checkpoint only (a resumed run's checkpoint is newer than curves of its stopped state);
      # eval.json is renamed into place when the whole eval has succeeded, so it marks a finished eval
      [[ -f $d/eval.json && $d/eval.json -nt $d/checkpoint.safetensors ]] &&
        python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$d/eval.json" 2> /dev/null && continue
      echo "reldrop-results: occlusion curves of $d"
      "$bin" eval --weights "$d/checkpoint.safetensors" --occlusion --occlusion-out "$d" --force --faithfulness --json \
        "${evalargs[@]}" \
        > "$d/eval.json.tmp" 2> "$d.eval.log" || { tail -20 "$d.eval.log"; rm -f "$d/eval.json.tmp"; exit 1; }
      mv "$d/eval.json.tmp" "$d/eval.json"
    done
  done
fi
if [[ $phase == all || $phase == table ]]; then
  for seed in $seeds; do
    for r in "${runs[@]}"; do
      d=$out/${r%%|*}-s$seed
      if [[ -d $d ]] && ! finished "$d"; then
        echo "reldrop-results: warning: $d has not finished training; its row shows the epochs it has" >&2
      fi
    done
  done
  # written beside and renamed: a failed table leaves the previous one
  python3 "$root/scripts/reldrop-table.py" "$out" "$protocol" "${train[*]}${common[*]:+ ${common[*]}}" > "$out/results.md.tmp" ||
    { rm -f "$out/results.md.tmp"; exit 1; }
  mv "$out/results.md.tmp" "$out/results.md"
  cat "$out/results.md"
fi
