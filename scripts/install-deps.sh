#!/usr/bin/env bash
# Installs the Debian packages lrpcu needs that are missing (non-interactive; present ones are skipped).
# Usage: scripts/install-deps.sh [--with-data]   (--with-data also installs dataset-fashion-mnist)
set -euo pipefail

pkgs=(cmake g++ make pkg-config libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev
      nlohmann-json3-dev libcli11-dev libfmt-dev libstb-dev zlib1g-dev
      python3 python3-numpy)  # python3: the CLI tests write small idx/PNG/safetensors files with its standard
                              # library; numpy: a test reads lrpcu's .npy files with NumPy itself
if [[ "${1:-}" == "--with-data" ]]; then pkgs+=(dataset-fashion-mnist); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
