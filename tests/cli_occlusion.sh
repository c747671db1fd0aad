#!/usr/bin/env bash
# CLI test of `lrpcu eval --occlusion --json`: the occlusion keys in stdout and in <out>/occlusion.json, and
# <out>/occlusion.png a PNG. Usage: cli_occlusion.sh <out-dir> <lrpcu> eval <args...> (--occlusion-out is added).
set -u
out=$1
shift
rm -rf "$out"
json=$("$@" --occlusion-out "$out/" 2>&1) || { echo "exit $?; output:"; echo "$json"; exit 1; }
for k in occlusion fractions accuracy_morf accuracy_random auc_morf auc_random samples patch P composite target \
         nonfinite_maps; do
  grep -q "\"$k\":" <<<"$json" || { echo "key '$k' missing from stdout:"; echo "$json"; exit 1; }
  grep -q "\"$k\":" "$out/occlusion.json" || { echo "key '$k' missing from $out/occlusion.json"; exit 1; }
done
magic=$(head -c 8 "$out/occlusion.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
[[ $magic == 89504e470d0a1a0a ]] || { echo "$out/occlusion.png is missing or not a PNG ($magic)"; exit 1; }
echo "ok: $out/occlusion.json, $out/occlusion.png"
