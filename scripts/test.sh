#!/usr/bin/env bash
# Sets up this machine if needed, then runs every Palaver check: formatting, lints,
# the Rust unit and integration tests (the real server binary over real sockets), and
# the Playwright end-to-end tests in Chromium against the release build, and a short
# run of the load test (docs/PERFORMANCE.md) that fails if any message is lost or
# delivered twice.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy -p app -p server -p bench --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests"
cargo test -p app -p server -p bench

step "release build"
cargo leptos build --release

# The test runs have time limits (Playwright's own, the bench's per scenario); these are
# the last resort, killing the whole process group if a run hangs anyway.
step "end-to-end tests (Playwright, Chromium)"
(cd end2end && npx tsc -p . && timeout --kill-after=30 25m npx playwright test)

step "load smoke test (fan-out at 300,000 deliveries/s, slow readers, page; fails if anything is lost or duplicated)"
cargo build --release -p bench
taskset_load=()
if [ "$(nproc --all)" -ge 2 ] && command -v taskset >/dev/null; then taskset_load=(taskset -c 1); fi
timeout --kill-after=30 15m "${taskset_load[@]}" target/release/palaver-bench --quick fanout slow page
