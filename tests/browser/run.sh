#!/usr/bin/env bash
# Browser test of the Tandem dashboard: headless Debian Chromium driven by playwright-core.
# Usage: tests/browser/run.sh   (TANDEM_BIN=path/to/tandem, default <repo>/target/debug/tandem)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export TANDEM_BIN="${TANDEM_BIN:-$repo/target/debug/tandem}"

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "run.sh: installing Debian's chromium"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "run.sh: node (20 or newer) is required" >&2
  exit 1
fi

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
exec node test.mjs
