#!/usr/bin/env bash
# Tests the editor support that is not Rust (the language server's tests run with
# `cargo test --workspace`, in tests/lsp.rs): the tree-sitter grammar (corpus tests, every
# journey file and every Tandem example of docs/ parses without an ERROR node) and the VS Code extension
# (strict TypeScript build, TextMate grammar tests, packaging of the .vsix with vsce).
# Needs Node.js and npm; the tree-sitter CLI comes from npm or Debian (see its test.sh).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CI="${CI:-true}" bash "$HERE/tree-sitter-tandem/test.sh"
bash "$HERE/vscode/build.sh"
