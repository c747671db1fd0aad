#!/usr/bin/env bash
# CLI test: `lrpcu explain` into an --out that holds an earlier explain's results refuses (exit 1, nothing
# touched) unless --force; --force replaces them, removing the earlier heatmaps (and the hidden-layer maps a
# hidden_maps.txt lists) it would not rewrite, and leaves other files alone, also PNGs named like maps that explain
# would not name so (a killed explain's temporary files go). Heatmap-named PNGs without relevance.npy are refused too
# (never deleted without --force). Usage: cli_explain_force.sh <out-dir> <lrpcu> <checkpoint>
set -u
out=$1 lrpcu=$2 ckpt=$3
rm -rf "$out"
run() { "$lrpcu" explain --weights "$ckpt" --dataset synthetic --target label --device cpu --out "$out" "$@" 2>&1; }
log=$(run --samples 3 --overlay) || { echo "first explain failed:"; echo "$log"; exit 1; }
echo "mine" > "$out/notes.txt"
cp "$out/heatmap_0000.png" "$out/heatmap_best.png"
# Names explain would not give these maps: a date (beyond relevance.npy's 3 rows), a leading zero in 5 digits.
cp "$out/heatmap_0000.png" "$out/heatmap_20240101.png"
cp "$out/heatmap_0000.png" "$out/overlay_00001.png"
before=$(md5sum "$out"/*.png "$out/relevance.npy")
log=$(run --samples 1)
rc=$?
[[ $rc -ne 0 ]] || { echo "explain overwrote an earlier result without --force"; exit 1; }
grep -q "already holds the results of an earlier explain (relevance.npy); pass --force" <<<"$log" ||
  { echo "unexpected message:"; echo "$log"; exit 1; }
[[ $(md5sum "$out"/*.png "$out/relevance.npy") == "$before" ]] || { echo "files changed after the refusal"; exit 1; }
log=$(run --samples 1 --force) || { echo "explain --force failed:"; echo "$log"; exit 1; }
for f in heatmap_0001.png heatmap_0002.png overlay_0000.png overlay_0002.png; do
  [[ ! -e $out/$f ]] || { echo "$f of the earlier run is still there"; exit 1; }
done
for f in heatmap_0000.png relevance.npy notes.txt heatmap_best.png heatmap_20240101.png overlay_00001.png; do
  [[ -e $out/$f ]] || { echo "$f is missing"; exit 1; }
done
grep -q -- "--force kept 1 file(s) named like explain.s maps past those the earlier relevance.npy holds (heatmap_20240101.png)" <<<"$log" ||
  { echo "no warning about the kept look-alike:"; echo "$log"; exit 1; }
rm -f "$out/heatmap_20240101.png" "$out/overlay_00001.png"
# PNGs named like heatmaps but no relevance.npy (the user's, or a run that failed before writing it).
rm -f "$out/relevance.npy"
cp "$out/heatmap_best.png" "$out/heatmap_0007.png"
cp "$out/heatmap_best.png" "$out/overlay_12345.png"
log=$(run --samples 1) && { echo "explain ran into heatmap PNGs without --force"; exit 1; }
grep -q "already holds explain's maps (.*); pass --force" <<<"$log" || { echo "unexpected message:"; echo "$log"; exit 1; }
for f in heatmap_0007.png overlay_12345.png heatmap_0000.png; do
  [[ -e $out/$f ]] || { echo "$f was deleted without --force"; exit 1; }
done
# An earlier --flex-layers run's hidden-layer maps (the files its hidden_maps.txt lists) are explain's too; --force
# drops them, and a user's hidden_* file that no list names is neither refused nor deleted.
rm -f "$out"/heatmap_0* "$out"/overlay_*
cp "$out/heatmap_best.png" "$out/hidden_layer1.0_0000.png"
echo x > "$out/hidden_layer1.0.npy"
echo x > "$out/hidden_states.npy"
printf 'hidden_layer1.0.npy\nhidden_layer1.0_0000.png\n../notes.txt\nnotes.txt\n' > "$out/hidden_maps.txt"
log=$(run --samples 1) && { echo "explain ran into hidden-layer maps without --force"; exit 1; }
grep -q "already holds explain's maps (.*hidden_" <<<"$log" || { echo "unexpected message:"; echo "$log"; exit 1; }
log=$(run --samples 1 --force) || { echo "explain --force failed:"; echo "$log"; exit 1; }
for f in hidden_layer1.0_0000.png hidden_layer1.0.npy hidden_maps.txt; do
  [[ ! -e $out/$f ]] || { echo "$f of the earlier run is still there"; exit 1; }
done
for f in heatmap_best.png hidden_states.npy notes.txt; do
  [[ -e $out/$f ]] || { echo "$f (not explain's) was deleted"; exit 1; }
done
rm -f "$out/relevance.npy" "$out"/heatmap_0*
log=$(run --samples 1) || { echo "a user's hidden_states.npy was refused:"; echo "$log"; exit 1; }
[[ -e $out/hidden_states.npy ]] || { echo "hidden_states.npy was deleted"; exit 1; }
# Temporary files a killed explain left (<output>.tmp.<pid>.<n>) go with --force; a user's look-alike stays.
for f in relevance.npy.tmp.123.0 heatmap_0003.png.tmp.77.1 hidden_layer1.0.npy.tmp.5.2; do echo x > "$out/$f"; done
echo x > "$out/notes.txt.tmp.1.2"
log=$(run --samples 1 --force) || { echo "explain --force failed:"; echo "$log"; exit 1; }
for f in relevance.npy.tmp.123.0 heatmap_0003.png.tmp.77.1 hidden_layer1.0.npy.tmp.5.2; do
  [[ ! -e $out/$f ]] || { echo "$f (a killed explain's temporary file) is still there"; exit 1; }
done
[[ -e $out/notes.txt.tmp.1.2 ]] || { echo "notes.txt.tmp.1.2 (not explain's) was deleted"; exit 1; }
echo "ok: refused without --force, replaced with it"
