#!/usr/bin/env bash
# CLI test: `lrpcu explain --samples N --decoy` explains the dataset images with the Decoy-MNIST swatches eval would
# draw: label swatches change the relevance, the same flags give the same relevance, --decoy auto on the test split is
# the run's --decoy-test (random), and --decoy with --input files is refused.
# Usage: cli_explain_decoy.sh <out-dir> <lrpcu> <weights of a --decoy label run>
set -u
out=$1 lrpcu=$2 weights=$3
rm -rf "$out"
run() {
  local d=$1
  shift
  "$lrpcu" explain --weights "$weights" --samples 4 --target label --device cpu --out "$out/$d" "$@" 2>&1
}
# A missing or empty map sums to a text of its own, so no comparison of two missing maps passes.
sum() {
  if [[ -s $out/$1/relevance.npy ]]; then md5sum < "$out/$1/relevance.npy"; else echo "no relevance.npy in $out/$1"; fi
}
log=$(run label --decoy label) || { echo "explain --decoy label failed:"; echo "$log"; exit 1; }
grep -q "^images with a decoy swatch 3x3 in a corner, shade of the label (Ross et al. 2017; seed 7)$" <<<"$log" ||
  { echo "no decoy line:"; echo "$log"; exit 1; }
run label2 --decoy label > /dev/null || exit 1
run none --decoy none > /dev/null || exit 1
log=$(run auto) || { echo "explain (auto) failed:"; echo "$log"; exit 1; }
grep -q "shade of a random class (Ross et al. 2017; seed 7) (--decoy auto" <<<"$log" || { echo "auto:"; echo "$log"; exit 1; }
run random --decoy random > /dev/null || exit 1
for d in label label2 none auto random; do
  [[ -s $out/$d/relevance.npy ]] || { echo "no relevance.npy in $out/$d"; exit 1; }
done
[[ $(sum label) == $(sum label2) ]] || { echo "the same flags gave other relevance"; exit 1; }
[[ $(sum label) != $(sum none) ]] || { echo "the label's swatches left the relevance unchanged"; exit 1; }
[[ $(sum auto) == $(sum random) ]] || { echo "--decoy auto on the test split is not the run's --decoy-test"; exit 1; }
[[ $(sum auto) != $(sum none) ]] || { echo "--decoy auto drew nothing"; exit 1; }
log=$("$lrpcu" explain --weights "$weights" --input "$out/none/relevance.npy" --decoy label --out "$out/input" 2>&1) &&
  { echo "--decoy with --input ran"; exit 1; }
grep -q "apply to dataset images (--samples N), not to --input files" <<<"$log" || { echo "$log"; exit 1; }
echo "ok: explain draws the swatches eval draws"
