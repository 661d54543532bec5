#!/usr/bin/env bash
# Builds and tests the tree-sitter grammar for Tandem (.journey files).
#
#   bash editor-support/tree-sitter-tandem/test.sh      (from anywhere)
#
#  1. gets the pinned tree-sitter CLI (package.json; see "The CLI" below);
#  2. regenerates src/ from grammar.js (`tree-sitter generate --no-bindings`);
#  3. runs the corpus tests (test/corpus/*.txt);
#  4. checks that queries/highlights.scm compiles against the grammar;
#  5. parses every .journey file in journeys/ and tests/fixtures/valid/ (recursively) and
#     every Tandem code block of the repository's docs (docs/*.md), and fails on any ERROR
#     or MISSING node;
#  6. checks that the syntax-error fixtures (tests/fixtures/invalid/E0001_*.journey) do fail.
#
# Doc code blocks: a fence whose info string is `tandem` or `journey` holds Tandem code,
# whole declarations that must parse as a file; every other block is skipped: other info
# strings (`json`, `toml`, `sh`, ...) and untagged blocks (commands, output, step fragments,
# email templates, and the deliberately broken examples of docs/diagnostics.md).
#
# The CLI. The npm package tree-sitter-cli has no binary in it: its install script downloads
# one from GitHub releases, which machines with only package registries cannot reach. So:
#   - $TREE_SITTER, when set, names a tree-sitter binary to use (for example one built with
#     `cargo install tree-sitter-cli --version <the pinned version> --locked`);
#   - otherwise `npm ci --ignore-scripts` installs the pinned npm package, and its own install
#     script is tried (it works wherever GitHub is reachable);
#   - otherwise the same version is taken from Debian's `tree-sitter-cli` package (suite
#     trixie, from the Debian mirror this machine's apt already uses), fetched with apt-get
#     into .cache/ without installing anything system-wide. That build needs glibc 2.39;
#     on an older system it runs under the package's own loader and libc (Debian's libc6
#     from the same suite, also kept in .cache/). The result is placed where the npm
#     package expects its binary, so `npx tree-sitter ...` works afterwards too.
#
# Generated files (src/parser.c, src/grammar.json, src/node-types.json, src/tree_sitter/)
# are committed. With the pinned CLI, a run that changes them says so, and fails when CI=true.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DOCS_DIR="$REPO/docs"
CACHE="$HERE/.cache"
cd "$HERE"

started=$SECONDS
step() { printf '\n== %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

PINNED=$(node -p 'require("./package.json").devDependencies["tree-sitter-cli"]')
NPM_BIN="$HERE/node_modules/tree-sitter-cli/tree-sitter"

# ------------------------------------------------------------------ the CLI

runs() { "$1" --version >/dev/null 2>&1; }

# Fetches Debian's tree-sitter-cli (and, if this glibc is too old for it, Debian's libc6 of
# the same suite) into .cache/debian, and writes a wrapper script to $1.
install_from_debian() {
  local dest=$1 suite=trixie
  command -v apt-get >/dev/null || die "no apt-get: set TREE_SITTER to a tree-sitter $PINNED binary"
  local codename mirror
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null \
    | awk -v c="$codename" '$2 == c { print $1; exit }')
  [ -n "$mirror" ] || die "no Debian mirror found in this machine's apt sources: set TREE_SITTER"
  local apt="$CACHE/apt" deb="$CACHE/debian"
  rm -rf "$apt" "$deb"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/etc/preferences.d" "$deb"
  echo "deb ${mirror%/} $suite main" >"$apt/etc/sources.list"
  local opts=(
    -o "Dir::Etc::sourcelist=$apt/etc/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::Etc::preferencesparts=$apt/etc/preferences.d"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o "Dir::Cache::archives=$apt/archives"
    -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)" -o "Acquire::Languages=none"
  )
  echo "fetching Debian's tree-sitter-cli ($suite) with apt-get into .cache/"
  apt-get "${opts[@]}" -qq update
  local version
  version=$(apt-cache "${opts[@]}" show tree-sitter-cli | awk '/^Version:/ { print $2; exit }')
  case "$version" in
    "$PINNED"-*) ;;
    *) echo "warning: Debian's tree-sitter-cli is $version, package.json pins $PINNED" >&2 ;;
  esac
  (cd "$apt/archives" && apt-get "${opts[@]}" -qq download tree-sitter-cli libc6)
  dpkg-deb -x "$apt"/archives/tree-sitter-cli_*.deb "$deb/cli"
  local bin="$deb/cli/usr/bin/tree-sitter"
  if runs "$bin"; then
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$bin" >"$dest"
  else
    dpkg-deb -x "$apt"/archives/libc6_*.deb "$deb/libc"
    local loader
    loader=$(find "$deb/libc" -name 'ld-linux-*.so.*' | head -n 1)
    [ -n "$loader" ] || die "no loader in Debian's libc6 package"
    printf '#!/bin/sh\n# Debian %s build of tree-sitter, run with the libc it was built for.\nexec "%s" --library-path "%s" "%s" "$@"\n' \
      "$suite" "$loader" "$(dirname "$(find "$deb/libc" -name 'libc.so.6' | head -n 1)")" "$bin" >"$dest"
  fi
  chmod +x "$dest"
  rm -rf "$apt/lists" "$apt/archives"
}

step "tree-sitter CLI"
if [ -n "${TREE_SITTER:-}" ]; then
  TS="$TREE_SITTER"
  runs "$TS" || die "TREE_SITTER=$TS does not run"
else
  if [ ! -f node_modules/tree-sitter-cli/package.json ] \
    || [ "$(node -p 'require("./node_modules/tree-sitter-cli/package.json").version')" != "$PINNED" ]; then
    npm ci --ignore-scripts --no-audit --no-fund
  fi
  if ! runs "$NPM_BIN"; then
    echo "trying the npm package's own download (GitHub releases)"
    if ! (cd node_modules/tree-sitter-cli && timeout 60 node install.js) >/dev/null 2>&1 || ! runs "$NPM_BIN"; then
      echo "GitHub releases not reachable: using Debian's package instead"
      rm -f "$NPM_BIN"
      install_from_debian "$NPM_BIN"
    fi
  fi
  TS="$NPM_BIN"
fi
runs "$TS" || die "the tree-sitter CLI does not run"
ts_version=$("$TS" --version | awk '{ print $2 }')
echo "$("$TS" --version) ($TS)"

# The CLI's configuration and its compiled-parser cache stay inside .cache/.
mkdir -p "$CACHE/config" "$CACHE/parsers" "$CACHE/xdg"
[ -f "$CACHE/config/config.json" ] \
  || printf '{ "parser-directories": ["%s"] }\n' "$CACHE/parsers" >"$CACHE/config/config.json"
ts() { TREE_SITTER_DIR="$CACHE/config" XDG_CACHE_HOME="$CACHE/xdg" "$TS" "$@"; }

# ------------------------------------------------------------------ generate and test

step "tree-sitter generate"
generated=(src/parser.c src/grammar.json src/node-types.json src/tree_sitter)
before=$(find "${generated[@]}" -type f -exec sha256sum {} + 2>/dev/null | sort || true)
ts generate --no-bindings
after=$(find "${generated[@]}" -type f -exec sha256sum {} + | sort)
if [ "$before" != "$after" ]; then
  if [ "$ts_version" = "$PINNED" ]; then
    echo "src/ was out of date with grammar.js and has been regenerated: commit it"
    [ "${CI:-}" != "true" ] || die "the committed src/ does not match grammar.js"
  else
    echo "note: tree-sitter $ts_version (not the pinned $PINNED) rewrote src/; do not commit that"
  fi
fi

step "tree-sitter test (corpus)"
ts test

step "queries"
for query in queries/*.scm; do
  ts query "$query" "$REPO/journeys/program.journey" >/dev/null || die "$query does not compile"
  echo "$query compiles"
done

# ------------------------------------------------------------------ real programs

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

files=()
add_files() { while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$@" -name '*.journey' -type f -print0 | sort -z); }
add_files "$REPO/journeys"
[ -d "$REPO/tests/fixtures/valid" ] && add_files "$REPO/tests/fixtures/valid"
n_programs=${#files[@]}

# One file per Tandem code block: doc-<doc>-<nn>.journey (nn counts every fenced block of
# the doc, so it names the block's place). A fence indented inside a list item loses that
# indentation.
for doc in "$DOCS_DIR"/*.md; do
  awk -v out="$tmp" -v doc="$(basename "$doc" .md)" '
    /^ *```/ {
      if (!open) {
        open = 1; n++; body = ""
        indent = $0; sub(/```.*$/, "", indent)
        info = $0; sub(/^[ ]*```[ ]*/, "", info); sub(/[ ].*$/, "", info)
        tandem = (info == "tandem" || info == "journey")
        next
      }
      open = 0
      if (tandem) { f = sprintf("%s/doc-%s-%02d.journey", out, doc, n); printf "%s", body > f; close(f) }
      next
    }
    open {
      line = $0
      if (substr(line, 1, length(indent)) == indent) line = substr(line, length(indent) + 1)
      body = body line "\n"
    }' "$doc"
done
while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$tmp" -name 'doc-*.journey' -print0 | sort -z)
n_docs=$(( ${#files[@]} - n_programs ))
[ "$n_docs" -gt 0 ] || die "no Tandem code block (a fence tagged tandem) in $DOCS_DIR/*.md"

step "parsing ${n_programs} .journey files and ${n_docs} Tandem code blocks of docs/"
failed=0
for f in "${files[@]}"; do
  name=${f#"$REPO/"}
  case "$f" in "$tmp"/*) name="docs: $(basename "$f" .journey)" ;; esac
  if out=$(ts parse --quiet "$f" 2>&1) && ! grep -qE '\((ERROR|MISSING)' <<<"$out"; then
    echo "  ok    $name"
  else
    echo "  FAIL  $name"
    { ts parse "$f" 2>&1 || true; } | grep -E 'ERROR|MISSING' | head -n 5 | sed 's/^/          /' || true
    failed=$((failed + 1))
  fi
done

step "syntax-error fixtures must not parse"
n_invalid=0
if [ -d "$REPO/tests/fixtures/invalid" ]; then
  while IFS= read -r -d '' f; do
    n_invalid=$((n_invalid + 1))
    if ts parse --quiet "$f" >/dev/null 2>&1; then
      echo "  FAIL  ${f#"$REPO/"} parses without an error"
      failed=$((failed + 1))
    else
      echo "  ok    ${f#"$REPO/"}"
    fi
  done < <(find "$REPO/tests/fixtures/invalid" -name 'E0001_*.journey' -type f -print0 | sort -z)
fi

total=$(( ${#files[@]} + n_invalid ))
echo
echo "test.sh took $((SECONDS - started)) s"
echo "tree-sitter-tandem: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
