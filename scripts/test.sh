#!/usr/bin/env bash
# The whole test suite: install what is missing, build, lint, type-check, then unit,
# integration and end-to-end tests against real PostgreSQL and Redis started on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
# Unit tests start no engines: two files at a time. Integration and end-to-end tests start real
# engines and whole stacks, and some judge latency a loaded machine would distort: one at a time.
mapfile -t unit < <(find dist/test/unit -name '*.test.js' | sort)
node --test --test-concurrency=2 --test-timeout=300000 "${unit[@]}"
mapfile -t files < <(find dist/test -name '*.test.js' -not -path 'dist/test/unit/*' | sort)
exec node --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
