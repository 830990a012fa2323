#!/usr/bin/env bash
# Regenerates the shop's screenshots in docs/screenshots/ (Chromium through playwright-core, against
# a shop stack on free ports in a temporary directory). Needs what scripts/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc -p tsconfig.json
node dist/test/tools/shop-screenshots.js docs/screenshots
