#!/usr/bin/env bash
# The gateway suites and the level-4 end-to-end test on each extra Node release
# (scripts/node-releases.sh installs them). The build is plain JavaScript: the same dist runs on
# each. Run after scripts/test.sh, which builds it and runs everything on the default node.
set -euo pipefail
cd "$(dirname "$0")/.."

# The suites that exercise Node's HTTP internals: the client-facing servers, the upstream pool, the fallback.
files=(
  dist/test/unit/gateway-server-choice.test.js
  dist/test/unit/gateway-http.test.js
  dist/test/unit/gateway-pipelining.test.js
  dist/test/unit/gateway.test.js
  dist/test/unit/gateway-forwarded.test.js
  dist/test/unit/gateway-admin.test.js
  dist/test/unit/native-pool.test.js
  dist/test/e2e/level4.test.js
)

mapfile -t binaries < <(bash scripts/node-releases.sh)
for bin in "${binaries[@]}"; do
  printf 'node-releases: testing on %s\n' "$("$bin" --version)" >&2
  # On PATH too, so every process the stack starts runs on this release.
  PATH="$(dirname "$bin"):$PATH" "$bin" --test --test-concurrency=1 --test-timeout=300000 --test-reporter=dot "${files[@]}"
done
