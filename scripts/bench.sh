#!/usr/bin/env bash
# Sets up this machine if needed, builds Palaver and its load generator for release, and
# runs the load tests: palaver-bench starts the release server on core 0 and drives it
# from the other cores over real WebSockets, then prints what it measured.
# Arguments go to palaver-bench: scenario names, or --quick for a shorter run.
# See docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

scripts/release.sh
cargo build --release -p bench

# 10,000 connections need as many file descriptors on each side.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10240 ]; then
  echo "warning: only $(ulimit -n) open files allowed; the idle scenario needs about 10,100" >&2
fi

cores=$(nproc --all)
if [ "$cores" -ge 2 ] && command -v taskset >/dev/null; then
  exec taskset -c "1-$((cores - 1))" target/release/palaver-bench "$@"
else
  exec target/release/palaver-bench "$@"
fi
