#!/usr/bin/env bash
# Run HERE (the dev machine, which reaches Debian's mirror) before a GPU session: downloads the -dev
# packages the build needs into .deps/debs and unpacks them into .deps/prefix (git-ignored), so a
# bare GPU machine can build lrpcu with CMAKE_PREFIX_PATH=.deps/prefix/usr; also puts zennit into .deps/py.
# Carry ".deps" in the run.
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

# zennit 0.5.1 (pure Python, for bench/zennit_lrp_bench.py: PYTHONPATH=.deps/py) from its wheel; offline,
# an existing .deps/py/zennit is kept.
zdir=$(mktemp -d)
if python3 -m pip download -q zennit==0.5.1 --no-deps -d "$zdir"; then
  rm -rf .deps/py/zennit .deps/py/zennit-*.dist-info
  mkdir -p .deps/py && python3 -m zipfile -e "$zdir"/zennit-0.5.1-py3-none-any.whl .deps/py
  echo "zennit: unpacked the 0.5.1 wheel into .deps/py"
elif [[ -f .deps/py/zennit/__init__.py ]]; then
  echo "zennit: download failed, keeping the existing .deps/py/zennit"
else
  echo "zennit: download failed and no .deps/py/zennit: bench/zennit_lrp_bench.py will not run" >&2
fi
rm -rf "$zdir"
du -sh .deps
