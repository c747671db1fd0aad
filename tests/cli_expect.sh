#!/usr/bin/env bash
# CLI test helper: runs a command and checks its exit status and that its output matches a regex.
# Usage: cli_expect.sh <expected-exit-status|nonzero> <extended-regex> <command> [args...]
set -u
want=$1 re=$2
shift 2
out=$("$@" 2>&1)
rc=$?
if [[ $want == nonzero ]]; then
  [[ $rc -ne 0 ]] || { echo "expected a non-zero exit, got 0; output:"; echo "$out"; exit 1; }
else
  [[ $rc -eq $want ]] || { echo "expected exit $want, got $rc; output:"; echo "$out"; exit 1; }
fi
echo "$out" | grep -Eq -- "$re" || { echo "output does not match /$re/:"; echo "$out"; exit 1; }
echo "ok (exit $rc)"
