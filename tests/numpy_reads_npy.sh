#!/usr/bin/env bash
# NumPy reads the .npy files lrpcu writes: the reader test's copies of NumPy's own fixtures (checked value by value
# by scripts/golden/make_npy_golden.py --check) and explain's relevance.npy; and the committed fixtures are what the
# script writes with NumPy. Skipped (77) without numpy (scripts/install-deps.sh installs python3-numpy).
# Usage: numpy_reads_npy.sh <lrp_tests> <lrpcu> <repo> <work-dir>
set -euo pipefail
tests=$1 lrpcu=$2 repo=$3 dir=$4
# Debian's interpreter, which python3-numpy is for (python3 on the PATH may be another one, e.g. pyenv's)
py=/usr/bin/python3
[[ -x $py ]] || py=python3
"$py" -c "import numpy" 2> /dev/null || { echo "numpy is not installed for $py: skipped"; exit 77; }
rm -rf "$dir" && mkdir -p "$dir"
LRP_NPY_OUT="$dir/npy" "$tests" --gtest_filter=NpyCpu.ReadsNumpyFiles > "$dir/gtest.log" 2>&1 ||
  { cat "$dir/gtest.log"; exit 1; }
"$py" "$repo/scripts/golden/make_npy_golden.py" --check "$dir/npy"
# The committed fixtures are what this NumPy writes from the script (byte for byte).
"$py" "$repo/scripts/golden/make_npy_golden.py" --out "$dir/golden" > /dev/null
for f in "$dir"/golden/*.npy; do
  cmp "$f" "$repo/tests/data/npy/$(basename "$f")" || { echo "tests/data/npy/$(basename "$f") differs from NumPy's"; exit 1; }
done
"$lrpcu" train --dataset synthetic --train-subset 32 --test-subset 16 --width 2 --epochs 1 --batch-size 16 \
  --device cpu --out "$dir/run" > "$dir/train.log" 2>&1 || { cat "$dir/train.log"; exit 1; }
"$lrpcu" explain --weights "$dir/run/checkpoint.safetensors" --samples 3 --device cpu --out "$dir/explain" \
  > "$dir/explain.log" 2>&1 || { cat "$dir/explain.log"; exit 1; }
"$py" - "$dir/explain/relevance.npy" <<'PY'
import sys
import numpy as np
a = np.load(sys.argv[1], allow_pickle=False)
assert a.dtype == np.float32 and a.shape == (3, 3, 32, 32), (a.dtype, a.shape)
assert np.isfinite(a).all() and np.abs(a).sum() > 0, "relevance.npy: non-finite or all-zero maps"
print(f"relevance.npy: ok ({a.dtype} {a.shape}, sum of |R| {np.abs(a).sum():.4g})")
PY
echo "ok"
