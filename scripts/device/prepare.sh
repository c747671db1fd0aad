#!/usr/bin/env bash
# Run HERE (the dev machine, which reaches Debian's mirror) before a GPU session: downloads the -dev
# packages the build needs into .deps/debs and unpacks them into .deps/prefix (git-ignored), so a
# bare GPU machine can build lrpcu with CMAKE_PREFIX_PATH=.deps/prefix/usr. Carry ".deps" in the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

pkgs=(libgtest-dev libbenchmark-dev libbenchmark1debian libopenblas-dev libopenblas0-pthread
      libopenblas-pthread-dev libgfortran5 nlohmann-json3-dev libcli11-dev libfmt-dev libfmt9 libstb-dev libstb0)
mkdir -p .deps/debs
rm -rf .deps/prefix
(cd .deps/debs && apt-get download "${pkgs[@]}")
for f in .deps/debs/*.deb; do dpkg -x "$f" .deps/prefix; done
# Static archives are large and not needed where shared libraries exist (gtest/benchmark are static only).
find .deps/prefix \( -name 'libopenblas*.a' -o -name 'liblapack*' -o -name 'libblas*' \) -delete
rm -rf .deps/debs .deps/prefix/usr/share/doc .deps/prefix/usr/share/man
du -sh .deps
