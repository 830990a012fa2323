#!/usr/bin/env bash
# Regenerates the screenshots in docs/screenshots/ (Chromium through playwright-core): the shop against
# a shop stack, the dashboard against a level 4 stack, each on free ports in a temporary directory.
# Needs what scripts/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc -p tsconfig.json
node dist/test/tools/shop-screenshots.js docs/screenshots
# The live dashboard of a level 4 stack under a little load (docs/screenshots/dashboard.png).
node dist/test/tools/dashboard-screenshot.js docs/screenshots
