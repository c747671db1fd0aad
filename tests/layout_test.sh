#!/usr/bin/env bash
# Test of scripts/check-layout.sh: the repository passes it, and a scratch repository with a 501-line file
# and files without an opening comment fails it, naming each. Usage: layout_test.sh <repo-root> <scratch-dir>
set -u
root=$1 scratch=$2
out=$("$root/scripts/check-layout.sh" "$root" 2>&1) || { echo "the repository breaks the layout rules:"; echo "$out"; exit 1; }
echo "$out"
rm -rf "$scratch" && mkdir -p "$scratch/src" && cd "$scratch" && git init -q . || exit 1
{ echo "// a file"; for i in $(seq 1 500); do echo "int x$i;"; done; } > src/long.cpp
printf 'int y;\n' > src/bare.h
printf '#!/usr/bin/env python3\nimport os\n' > tool.py
printf '"""Docstring."""\n' > fine.py
git add . > /dev/null
out=$("$root/scripts/check-layout.sh" "$scratch" 2>&1) && { echo "violations passed the check:"; echo "$out"; exit 1; }
for want in "src/long.cpp: 501 lines" "src/bare.h: no opening // comment" "tool.py: no opening comment"; do
  grep -qF "$want" <<<"$out" || { echo "missing '$want' in:"; echo "$out"; exit 1; }
done
grep -q "fine.py" <<<"$out" && { echo "a docstring was not accepted:"; echo "$out"; exit 1; }
echo "ok: violations found"
