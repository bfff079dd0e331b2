#!/usr/bin/env bash
# Browser tests of the web app against a real `coreport serve`.
#
# Builds nothing: expects the frontend built into src/coreport/web/static
# (cd frontend && npm ci && npm run build), the project's venv (or COREPORT_BIN
# pointing at a `coreport` executable), this folder's `npm ci`, and Debian's
# Chromium (./install-browser.sh). Screenshots land in ./artifacts/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export COREPORT_BIN=${COREPORT_BIN:-$repo/.venv/bin/coreport}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

missing() { echo "e2e: $1" >&2; exit 1; }
[ -f "$repo/src/coreport/web/static/index.html" ] ||
  missing "frontend not built; run: cd frontend && npm ci && npm run build"
[ -x "$COREPORT_BIN" ] || missing "no coreport executable at $COREPORT_BIN (set COREPORT_BIN)"
[ -x "$CHROMIUM" ] || missing "no Chromium at $CHROMIUM; run: $here/install-browser.sh"
[ -d "$here/node_modules/playwright-core" ] || missing "dependencies missing; run: cd tests/e2e && npm ci"

cd "$here"
mkdir -p artifacts
exec node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs
