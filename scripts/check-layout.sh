#!/usr/bin/env bash
# Layout rules of the guide, checked on every tracked source file: at most 500 lines, and an opening
# comment (a docstring in Python) saying what the file holds.
# Usage: scripts/check-layout.sh [repo-root]; exits 1 listing the offenders.
set -u
cd "${1:-$(dirname "$0")/..}" || exit 1
git rev-parse --is-inside-work-tree > /dev/null 2>&1 || { echo "not a git checkout: layout not checked"; exit 0; }
max=500 bad=0
while IFS= read -r f; do
  n=$(wc -l < "$f")
  (( n > max )) && { echo "$f: $n lines (limit $max): split it by concern"; bad=1; }
  case $f in
    *.cpp|*.h|*.cu|*.cuh) first=$(head -1 "$f"); [[ $first == //* ]] || { echo "$f: no opening // comment"; bad=1; } ;;
    *.py) head -2 "$f" | grep -Eq '^(# |""")' || { echo "$f: no opening comment or docstring"; bad=1; } ;;
    *.sh|*.cmake|*CMakeLists.txt) head -2 "$f" | grep -q '^# ' || { echo "$f: no opening # comment"; bad=1; } ;;
  esac
done < <(git ls-files -- '*.cpp' '*.h' '*.cu' '*.cuh' '*.py' '*.sh' '*.cmake' '*CMakeLists.txt' 2>/dev/null)
[[ $bad == 0 ]] && echo "layout ok: $(git ls-files -- '*.cpp' '*.h' '*.cu' '*.cuh' '*.py' '*.sh' '*.cmake' '*CMakeLists.txt' | wc -l) files"
exit $bad
