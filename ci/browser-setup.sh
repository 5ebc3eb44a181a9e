#!/bin/sh
# Installs what the browser test (tests/it/serve_browser.rs) needs on a fresh
# Debian machine: Debian's Chromium, and playwright-core from npm (pinned by
# tests/browser/package-lock.json; no browser download).
# Run as root (apt-get); set SKIP_APT=1 when Chromium is already installed.
set -eu
cd "$(dirname "$0")/.."

if [ "${SKIP_APT:-0}" != 1 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "ci/browser-setup.sh: /usr/bin/chromium is missing after the install" >&2
    exit 1
fi
command -v node >/dev/null || { echo "ci/browser-setup.sh: Node.js is required (node not found)" >&2; exit 1; }
(cd tests/browser && npm ci --no-audit --no-fund)
/usr/bin/chromium --version
