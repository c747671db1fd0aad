#!/usr/bin/env bash
# CLI test: on a CPU with AVX2 + FMA, lrpcu never computes with OpenBLAS's generic Prescott kernels, which
# OpenBLAS falls back to on x86 CPUs it does not know (lrpcu restarts itself with OPENBLAS_CORETYPE set); a
# core the user sets is kept. Usage: cli_openblas_core.sh <lrpcu>
set -u
lrpcu=$1
v=$(env -u OPENBLAS_CORETYPE "$lrpcu" --version) || { echo "lrpcu --version failed"; exit 1; }
grep -q "^CPU GEMM: OpenBLAS" <<<"$v" || { echo "ok: no OpenBLAS in this build"; exit 0; }
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  grep -q "core Prescott" <<<"$v" && { echo "generic kernels on an AVX2 CPU: $v"; exit 1; }
fi
# A core the user names is theirs: no restart (on any architecture, whether or not this OpenBLAS reads it).
forced=$(OPENBLAS_CORETYPE=Prescott LRP_LOG_LEVEL=info "$lrpcu" --version 2>&1) ||
  { echo "lrpcu --version failed"; exit 1; }
grep -q "restarting with OPENBLAS_CORETYPE" <<<"$forced" &&
  { echo "OPENBLAS_CORETYPE=Prescott was replaced: $forced"; exit 1; }
# Where lrpcu does restart, it says so at info level and the restarted process computes with the core it named.
said=$(env -u OPENBLAS_CORETYPE LRP_LOG_LEVEL=info "$lrpcu" --version 2>&1)
if core=$(grep -o "restarting with OPENBLAS_CORETYPE=[A-Za-z]*" <<<"$said"); then
  grep -q "core ${core#*=}" <<<"$said" || { echo "restarted, but not with ${core#*=}: $said"; exit 1; }
fi
echo "ok: $(grep '^CPU GEMM' <<<"$v")"
