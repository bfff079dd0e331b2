#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests if it is not there yet.
# Playwright's own browser downloads are never used.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
