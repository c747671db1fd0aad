#!/usr/bin/env bash
# Run HERE after prepare.sh (same nvcc 13 as the GPU image): builds the GPU configuration against .deps
# exactly as gpu-suite.sh would on the device (no OpenBLAS, sm_90), then keeps only what the suite runs
# (lrpcu, lrp_tests, the benchmarks, the CTest files) in .deps/build-gpu with checksums of the sources,
# so the device spends its short time testing rather than compiling. gpu-suite.sh uses it when the
# checksums match the carried tree and the binaries start; otherwise it builds as before.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -d .deps/prefix ]] || { echo "prebuild.sh: run scripts/device/prepare.sh first" >&2; exit 1; }
root=$PWD
bdir=$root/build-prebuilt   # the absolute path the CTest files name (git-ignored); a link on the device
jobs=${JOBS:-2}
# The sources the binaries are built from: every tracked and untracked-but-not-ignored file (what the
# device tool copies), so the device can tell whether its tree is the one built here. Taken before the
# build and checked after it, so an edit during the build cannot slip in unnoticed.
sums=$(mktemp)
# A tracked file deleted from the working tree is not there to sum (nor will it travel).
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do [[ -e $f ]] || continue; printf '%s\0' "$f"; done |
  xargs -0 sha256sum > "$sums"

cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$root/.deps/prefix/usr" \
  -DLRP_REQUIRE_CUDA_BUILD=ON -DLRP_ENABLE_CBLAS=OFF > /tmp/lrp-prebuild-configure.log 2>&1 ||
  { tail -30 /tmp/lrp-prebuild-configure.log; exit 1; }
cmake --build "$bdir" -j "$jobs"
sha256sum --quiet -c "$sums" || { echo "prebuild.sh: the tree changed during the build; run it again" >&2; exit 1; }

out=.deps/build-gpu
rm -rf "$out"
mkdir -p "$out"
list=$(mktemp)
(cd "$bdir" && { printf '%s\n' lrpcu tests/lrp_tests
                 find bench -maxdepth 1 -type f -name 'bench_*' -perm -u+x
                 find . -name CTestTestfile.cmake -o -name 'lrp_tests\[*\]_*.cmake'
                 # what configuring wrote for the tests (e.g. rrc_with_padding.json, cli-data/red,32.png)
                 find tests -path tests/CMakeFiles -prune -o -type f ! -name lrp_tests ! -name CTestTestfile.cmake \
                   ! -name 'lrp_tests\[*\]_*.cmake' -print; } > "$list")
tar cf - -C "$bdir" -T "$list" | tar xf - -C "$out"
rm -f "$list"
mv "$sums" "$out/sources.sha256"
commit=$(git describe --always --dirty --abbrev=40 2>/dev/null || echo unknown)
printf 'build_dir=%s\nsource_dir=%s\ncommit=%s\n' "$bdir" "$root" "$commit" > "$out/ORIGIN"
echo "$commit" > .deps/source-commit  # what gpu-suite.sh records as the commit measured
# All of .deps is over the device tool's 64 MiB (tree included), so each call carries what its jobs need.
tree_mb=$(git ls-files -co --exclude-standard -z | du -cm --files0-from=- | tail -1 | cut -f1)
carry_tests=(.deps/prefix .deps/py .deps/build-gpu .deps/source-commit)
carry_main=(.deps/prefix .deps/data .deps/build-gpu/lrpcu .deps/build-gpu/ORIGIN .deps/build-gpu/sources.sha256
            .deps/source-commit)
for job in tests main; do
  declare -n paths="carry_$job"
  mb=$(( $(du -cm "${paths[@]}" | tail -1 | cut -f1) + tree_mb ))
  printf '%s call (%s MiB with the tree): carry %s\n' \
    "$([[ $job == tests ]] && echo "tests,bench,profile,sanitize" || echo "main,reldrop")" "$mb" \
    "$(printf '"%s", ' "${paths[@]}" | sed 's/, $//; s/^/[/; s/$/]/')"
  (( mb < 64 )) || echo "warning: that is over the device tool's 64 MiB" >&2
done
