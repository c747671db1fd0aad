#!/usr/bin/env bash
# Installs the Debian packages lrpcu needs that are missing (non-interactive; present ones are skipped).
# Usage: scripts/install-deps.sh [--with-data]   (--with-data also installs dataset-fashion-mnist)
set -euo pipefail

pkgs=(cmake g++ make pkg-config libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev
      nlohmann-json3-dev libcli11-dev libfmt-dev libstb-dev zlib1g-dev
      python3)  # python3: the CLI tests write small idx/PNG/safetensors files with its standard library
for a in "$@"; do
  case "$a" in
    --with-data) pkgs+=(dataset-fashion-mnist) ;;
    -h | --help) sed -n '2,3s/^# //p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown option '$a' (expected --with-data)" >&2; exit 2 ;;
  esac
done
# Optional: a test reads lrpcu's .npy files with NumPy itself (skipped without it); a failed install only warns.
optional=(python3-numpy)

absent() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(absent "${pkgs[@]}")
mapfile -t missing_opt < <(absent "${optional[@]}")
if ((${#missing[@]} + ${#missing_opt[@]} == 0)); then
  echo "install-deps: all $((${#pkgs[@]} + ${#optional[@]})) packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ((${#missing_opt[@]} > 0)); then
  echo "install-deps: installing ${missing_opt[*]} (optional)"
  { ((${#missing[@]} > 0)) || $SUDO apt-get update -qq; } &&
    $SUDO apt-get install -y -qq --no-install-recommends "${missing_opt[@]}" ||
    echo "install-deps: warning: could not install ${missing_opt[*]}; the tests that need them are skipped"
fi
