#!/usr/bin/env bash
# CLI test: eval's faithfulness proxy and occlusion curves on a test split where some images are black, so their
# input-layer relevance (epsilon_plus) is all zero: faithfulness prints the images its figures are over ("20 of 30")
# and warns about the constant maps it left out (it printed 30 and said nothing), occlusion warns too. Also: more
# --occlusion-steps than patches are warned about, and an occlusion run refused for an unknown layer name leaves no
# --occlusion-out folder behind. Usage: cli_eval_constant_maps.sh <out-dir> <lrpcu>
set -u
out=$1 lrpcu=$2
rm -rf "$out" && mkdir -p "$out"
python3 - "$out/data" "$(dirname "$0")" <<'PY' || exit 1
import sys
sys.path.insert(0, sys.argv[2])
from png_util import write_png
def png(path, seed, black=False):
    write_png(path, 16, 16, 3, [[0 if black else (seed * 31 + y * 7 + x * (13 + seed % 5)) % 256
                                 for x in range(16 * 3)] for y in range(16)])
for split, n in (('train', 16), ('test', 15)):
    for c in 'ab':
        for i in range(n):
            png(f'{sys.argv[1]}/{split}/{c}/{i:04d}.png', i * 2 + (c == 'b') * 101, split == 'test' and i % 3 == 0)
PY
fail() { echo "$1"; [[ -f ${2:-} ]] && cat "$2"; exit 1; }
"$lrpcu" train --dataset folder --data-dir "$out/data" --width 2 --epochs 1 --batch-size 16 --device cpu \
  --out "$out/run" > "$out/train.log" 2>&1 || fail "training failed:" "$out/train.log"
ev=(eval --weights "$out/run/model.safetensors" --data-dir "$out/data" --device cpu --normalize 0,0,0/1,1,1)
"$lrpcu" "${ev[@]}" --faithfulness --faithfulness-composite epsilon_plus > "$out/faith.log" 2>&1 ||
  fail "eval --faithfulness failed:" "$out/faith.log"
grep -q "fill mean, 20 of 30 images" "$out/faith.log" || fail "the images the figures are over are not named:" "$out/faith.log"
grep -q "warning: 10 of 30 relevance maps are constant (e.g. all zero" "$out/faith.log" ||
  fail "no warning about the constant maps:" "$out/faith.log"
"$lrpcu" "${ev[@]}" --occlusion --occlusion-composite epsilon_plus --occlusion-patch 8 --occlusion-steps 6 \
  --occlusion-out "$out/occl/" > "$out/occl.log" 2>&1 || fail "eval --occlusion failed:" "$out/occl.log"
grep -q "10 of 30 relevance maps are constant" "$out/occl.log" || fail "no warning about the constant maps:" "$out/occl.log"
grep -q -- "--occlusion-steps 6 exceeds the 4 patches of 8 x 8 px" "$out/occl.log" ||
  fail "no warning about steps beyond the patches:" "$out/occl.log"
"$lrpcu" "${ev[@]}" --occlusion --occlusion-layer-rule nosuch=epsilon --occlusion-out "$out/new/sub/" \
  > "$out/bad.log" 2>&1 && fail "an unknown layer name was accepted:" "$out/bad.log"
grep -q "nosuch" "$out/bad.log" || fail "the error does not name the layer:" "$out/bad.log"
[[ ! -e $out/new ]] || fail "the refused run left its --occlusion-out folder behind"
echo "ok: constant maps counted out and warned about; steps beyond the patches warned; no folder from a refused run"
