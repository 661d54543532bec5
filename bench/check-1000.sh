#!/usr/bin/env bash
# Times `tandem check` (release build) over a generated 1,000-file program (about 4.7 MB), cold process each run.
# Needs hyperfine (apt-get install hyperfine); falls back to /usr/bin/time otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/tandem-bench-1000}
cargo build --release -q
cargo run --release -q -p compiler --example gen_program -- "$dir" 1000
./target/release/tandem check "$dir" | tail -1
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 2 --runs 20 "./target/release/tandem check $dir"
else
  for _ in 1 2 3 4 5; do /usr/bin/time -f "%e s" ./target/release/tandem check "$dir" >/dev/null; done
fi
