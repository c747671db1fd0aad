#!/usr/bin/env bash
# scripts/reldrop-table.py on hand-made run folders: final and best test accuracy, the test accuracy at the
# first epoch of best validation accuracy (runs with --val-split), and RelDrop settings other than the
# reference's named in the row's flags; EDDA's non-default settings and its faithfulness proxy from eval.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {  # run DIR CONFIG-JSON ROWS...
  local d=$tmp/$1
  mkdir -p "$d"
  echo "$2" > "$d/config.json"
  shift 2
  printf '%s\n' "$@" > "$d/metrics.jsonl"
}
# Seed 0: validation best at epoch 2 (tied at 3; the first counts), test accuracy then 0.80.
run none-s0 '{"augment": "none"}' \
  '{"epoch": 1, "test_acc": 0.70, "val_acc": 0.60, "images_per_s": 100}' \
  '{"epoch": 2, "test_acc": 0.80, "val_acc": 0.75, "images_per_s": 100}' \
  '{"epoch": 3, "test_acc": 0.90, "val_acc": 0.75, "images_per_s": 100}'
run none-s1 '{"augment": "none"}' \
  '{"epoch": 1, "test_acc": 0.50, "val_acc": 0.40, "images_per_s": 100}' \
  '{"epoch": 2, "test_acc": 0.84, "val_acc": 0.70, "images_per_s": 100}'
run reldrop-block-s0 '{"augment": "reldrop-block", "reldrop-box-clip": "shift", "reldrop-fill": "reference", "reldrop-with-erasing": true, "reldrop-lrp-samples": "selected", "reldrop-bn-fold": "zennit_0_5_1"}' \
  '{"epoch": 1, "test_acc": 0.60, "images_per_s": 50, "reldrop_occluded_fraction": 0.5}'
run edda-s0 '{"augment": "edda", "edda-patch": 0, "edda-salient-target": "smooth:0.5", "edda-fill": "mean"}' \
  '{"epoch": 1, "test_acc": 0.55, "images_per_s": 20}'
echo '{"faithfulness": {"mean_drop_salient": 0.25, "mean_abs_drop_nonsalient": 0.0125, "mean_drop_random": 0.05, "patch": 7, "composite": "epsilon_gamma_box"}}' \
  > "$tmp/edda-s0/eval.json"
# Occlusion curves of one of none's two seeds: its figures say they average one seed.
echo '{"occlusion": {"auc_morf": 0.2, "auc_random": 0.4}}' > "$tmp/none-s0/occlusion.json"
out=$(python3 "$root/scripts/reldrop-table.py" "$tmp" cpu "--epochs 3")
want=(
  "| run: flags | seeds | final test acc (%) | best test acc (%) | test acc at best val epoch (%) |"
  "| none: \`--augment none\` | 2 | 87.00 ± 4.24 | 87.00 ± 4.24 | 82.00 ± 2.83 | 0.200 (1 of 2 seeds) | 0.400 (1 of 2 seeds) | 0.200 (1 of 2 seeds) |"
  "| reldrop-block: \`--augment reldrop-block --reldrop-box-clip shift --reldrop-with-erasing true --reldrop-lrp-samples selected\` | 1 | 60.00 | 60.00 | n/a |"
  "| edda: \`--augment edda --edda-salient-target smooth:0.5\` | 1 | 55.00 | 55.00 | n/a | n/a | n/a | n/a | 0.250 | 0.013 | 0.050 | — |"
  "label prob. lost, most relevant window filled"
)
for w in "${want[@]}"; do
  grep -qF -- "$w" <<< "$out" || { echo "missing: $w"; echo "$out"; exit 1; }
done
python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['runs']['none'][0]; assert r['val_best_epoch'] == 2, r" \
  "$tmp/results.json"
# A damaged eval.json (an eval stopped while writing it) is named, not a traceback.
: > "$tmp/edda-s0/eval.json"
if msg=$(python3 "$root/scripts/reldrop-table.py" "$tmp" cpu "--epochs 3" 2>&1); then
  echo "a damaged eval.json was read"; exit 1
fi
grep -qF "edda-s0/eval.json: not valid JSON" <<< "$msg" || { echo "unexpected: $msg"; exit 1; }
echo ok
