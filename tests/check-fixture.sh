#!/usr/bin/env bash
# Checks one invalid fixture together with the base program, as the fixture test does:
#   tests/check-fixture.sh tests/fixtures/invalid/E0011_unknown_name.journey [--format json]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixture=$1; shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$here/fixtures/base/." "$tmp/"
if [ -d "$fixture" ]; then
  name=$(basename "$fixture")
  mkdir -p "$tmp/fixture/$name"
  find "$fixture" -maxdepth 1 -name '*.journey' -exec cp {} "$tmp/fixture/$name/" \;
  if [ -d "$fixture/templates" ]; then cp -r "$fixture/templates/." "$tmp/templates/"; fi
else
  mkdir -p "$tmp/fixture"
  cp "$fixture" "$tmp/fixture/"
fi
bin="${TANDEM_BIN:-$here/../target/debug/tandem}"
(cd "$tmp" && "$bin" check . "$@") || true
