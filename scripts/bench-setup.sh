#!/usr/bin/env bash
# What the benchmarks need beyond the project's own setup: nginx and wrk (the anchors every gateway
# run is compared with). Installs them through apt when missing; elsewhere says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "bench-setup: missing ${missing[*]}; run as root: apt-get install -y ${missing[*]}" >&2
        exit 1
      fi
    fi
    printf 'bench-setup: installing %s\n' "${missing[*]}" >&2
    $sudo apt-get install -y "${missing[@]}" >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y "${missing[@]}" >/dev/null; }
  else
    echo "bench-setup: install ${missing[*]} with your platform's package manager" >&2
    exit 1
  fi
fi
bash scripts/setup.sh
