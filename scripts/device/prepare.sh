#!/usr/bin/env bash
# Run HERE (the dev machine, which reaches Debian's mirror) before a GPU session: downloads the -dev
# packages the build needs into .deps/debs and unpacks them into .deps/prefix (git-ignored), so a
# bare GPU machine can build lrpcu with CMAKE_PREFIX_PATH=.deps/prefix/usr; also puts zennit into .deps/py.
# All of .deps is over the device tool's 64 MiB: carry the paths prebuild.sh prints for each call.
set -euo pipefail
cd "$(dirname "$0")/../.."

pkgs=(libgtest-dev libbenchmark-dev libbenchmark1debian nlohmann-json3-dev libcli11-dev libfmt-dev libfmt9
      libstb-dev libstb0 zlib1g zlib1g-dev)
mkdir -p .deps/debs
rm -rf .deps/prefix
(cd .deps/debs && apt-get download "${pkgs[@]}")
for f in .deps/debs/*.deb; do dpkg -x "$f" .deps/prefix; done
# zlib1g unpacks into /lib (usrmerge): put it beside its -dev symlink so libz.so resolves in the prefix.
if [[ -d .deps/prefix/lib/x86_64-linux-gnu ]]; then
  mv .deps/prefix/lib/x86_64-linux-gnu/libz.so.* .deps/prefix/usr/lib/x86_64-linux-gnu/ && rm -rf .deps/prefix/lib
fi
ln -sf libz.so.1 .deps/prefix/usr/lib/x86_64-linux-gnu/libz.so  # the -dev link is absolute (/lib/...)
rm -f .deps/prefix/usr/lib/x86_64-linux-gnu/libz.a
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

# Fashion-MNIST (the Debian package dataset-fashion-mnist here, 30 MB of gzipped idx files).
fm=/usr/share/datasets/fashion-mnist
if [[ -f $fm/train-images-idx3-ubyte.gz ]]; then
  mkdir -p .deps/data/fashion-mnist && cp "$fm"/*-ubyte.gz .deps/data/fashion-mnist/
else
  echo "Fashion-MNIST not installed here (scripts/install-deps.sh --with-data): the GPU main job will not run" >&2
fi
# The commit the working tree is at (the device gets a copy of the tree without .git), for the records.
git describe --always --dirty --abbrev=40 > .deps/source-commit 2>/dev/null || rm -f .deps/source-commit
du -sh .deps
mb=$(du -sm .deps | cut -f1)
(( mb < 64 )) || echo "warning: .deps is ${mb} MiB; the device tool carries at most 64 MiB" >&2
