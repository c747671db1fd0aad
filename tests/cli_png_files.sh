#!/usr/bin/env bash
# Usage: cli_png_files.sh FILE...: each FILE exists and is a whole PNG (its signature first, its IEND chunk last), so
# a test that a run wrote its images fails on a missing, empty, truncated or non-PNG file.
set -euo pipefail
(($#)) || { echo "cli_png_files.sh: no files given" >&2; exit 2; }
for f in "$@"; do
  [[ -f $f ]] || { echo "$f: missing"; exit 1; }
  head=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
  tail=$(tail -c 12 "$f" | od -An -tx1 | tr -d ' \n')
  [[ $head == 89504e470d0a1a0a ]] || { echo "$f: not a PNG (starts $head)"; exit 1; }
  [[ $tail == 0000000049454e44ae426082 ]] || { echo "$f: truncated PNG (no IEND chunk at its end: $tail)"; exit 1; }
  echo "ok: $f ($(wc -c < "$f") bytes)"
done
