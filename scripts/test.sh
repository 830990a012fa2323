#!/usr/bin/env bash
# The whole test suite: install what is missing, build, lint, type-check, then unit,
# integration and end-to-end tests against real PostgreSQL and Redis started on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
