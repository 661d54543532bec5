#!/usr/bin/env bash
# Builds the Tandem VS Code extension from a clean checkout: installs the
# pinned dependencies (package-lock.json), runs the tests (tsc in strict mode,
# the grammar on every .journey file of the repository, the bundled extension
# against a stub of VS Code), and packages the .vsix. Fails on any error.
#
# Needs Node.js >= 20 and npm; nothing else is downloaded (no VS Code).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

version="$(node -p 'require("./package.json").version')"
vsix="tandem-journeys-${version}.vsix"

npm ci --no-audit --no-fund
npm test
rm -f -- "$vsix"
npm run --silent package -- --out "$vsix"

test -s "$vsix"
echo "$(pwd)/$vsix"
