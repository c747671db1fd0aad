#!/usr/bin/env bash
# scripts/decoy-table.py on hand-made eval files: accuracies with random, label's and no swatches, the shortcut gain
# per seed, background shares (hidden layers with the seeds that have them; a null share is no share), a run without
# its evals left out with one note, the paired difference over the seeds two rows share, and the errors.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ev() {  # ev RUN RANDOM NONE LABEL [BACKGROUND-JSON]
  mkdir -p "$tmp/$1"
  echo "{\"top1\": $2}" > "$tmp/$1.eval-random.json"
  echo "{\"top1\": $3}" > "$tmp/$1.eval-none.json"
  echo "{\"top1\": $4, \"background\": ${5:-{\}}}" > "$tmp/$1.eval-label.json"
}
ev none-s0 0.70 0.72 0.90 '{"share_background_flex": 0.05, "share_background_flex_zb": 0.6, "share_background_composite": 0.5, "share_background_hidden": [{"layer": "layer1", "share": 0.4}]}'
ev none-s1 0.80 0.82 0.94 '{"share_background_flex": 0.07, "share_background_flex_zb": 0.7, "share_background_composite": 0.6}'
ev isnet-s0 0.75 0.75 0.75 '{"share_background_hidden": [{"layer": "layer1", "share": null}]}'
ev isnet-s2 0.79 0.79 0.79
mkdir -p "$tmp/isnet-s3"  # trained, not evaluated
out=$(python3 "$root/scripts/decoy-table.py" "$tmp" none isnet --paired none isnet 2>&1)
want=(
  "| none | 0, 1 | 75.0 ± 7.1 % | 92.0 ± 2.8 % | 77.0 ± 7.1 % | +17.0 ± 4.2 points | 6.00 ± 1.41 % | 65.00 ± 7.07 % | 55.00 ± 7.07 % | layer1 40.00 % (1 of 2 seeds) |"
  "| isnet | 0, 2 | 77.0 ± 2.8 % | 77.0 ± 2.8 % | 77.0 ± 2.8 % | +0.0 ± 0.0 points | n/a | n/a | n/a | layer1 n/a |"
  "note: isnet-s3 left out: no isnet-s3.eval-random.json, isnet-s3.eval-none.json, isnet-s3.eval-label.json"
  "isnet minus none, random swatches, seeds 0: +5.0 points (+5.0)"
)
for w in "${want[@]}"; do
  grep -qF -- "$w" <<< "$out" || { echo "missing: $w"; echo "$out"; exit 1; }
done
# Errors: no folder; rows without common seeds.
fails() {  # fails PATTERN ARGS...: decoy-table.py ARGS exits non-zero with PATTERN on stderr
  local pat=$1
  shift
  if python3 "$root/scripts/decoy-table.py" "$@" > /dev/null 2> "$tmp/err"; then echo "expected a failure: $*"; exit 1; fi
  grep -q -- "$pat" "$tmp/err" || { echo "no '$pat' in:"; cat "$tmp/err"; exit 1; }
}
fails "no such folder" "$tmp/nope" none
ev rrr-s5 0.5 0.5 0.5
fails "have no evaluated seed in common" "$tmp" none --paired none rrr
fails "--paired takes two row names" "$tmp" none --paired none
echo '{"loss": 1}' > "$tmp/rrr-s5.eval-none.json"
fails "rrr-s5.eval-none.json: not an \`lrpcu eval --json\` record with top1" "$tmp" rrr
[[ $(python3 "$root/scripts/decoy-table.py" "$tmp" isnet 2>&1 | grep -c "isnet-s3 left out") == 1 ]] ||
  { echo "the note on isnet-s3 is not printed once"; exit 1; }
echo ok
