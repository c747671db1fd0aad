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
forced=$(OPENBLAS_CORETYPE=Prescott "$lrpcu" --version) || { echo "lrpcu --version failed"; exit 1; }
grep -q "core Prescott" <<<"$forced" || { echo "OPENBLAS_CORETYPE=Prescott was not kept: $forced"; exit 1; }
echo "ok: $(grep '^CPU GEMM' <<<"$v")"
