#!/usr/bin/env bash
# Sets up this machine if needed, then runs every Palaver check: formatting, lints,
# the Rust unit and integration tests (the real server binary over real sockets, one
# node on SQLite and several on PostgreSQL and Redis of their own), and
# the Playwright end-to-end tests in Chromium against the release build, and a short
# run of the load test (docs/PERFORMANCE.md) that fails if any message is lost or
# delivered twice.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS=0
. scripts/setup.sh

# Each step says how long it took, and the run ends with the whole list.
timings=()
step_name=""
step_began=$SECONDS
run_began=0
end_step() {
  if [ -n "$step_name" ]; then
    timings+=("$(printf '%5d s  %s' $((SECONDS - step_began)) "$step_name")")
    printf '\033[1m-- %s: %d s\033[0m\n' "$step_name" $((SECONDS - step_began))
  fi
}
step() {
  end_step
  step_name="$*"
  step_began=$SECONDS
  printf '\n\033[1m== %s\033[0m\n' "$*"
}
summary() {
  end_step
  step_name=""
  printf '\n\033[1mStep times\033[0m\n'
  printf '%s\n' "${timings[@]}"
  printf '%5d s  in all\n' $((SECONDS - run_began))
}
trap summary EXIT

timings+=("$(printf '%5d s  %s' "$SECONDS" "setup")")
step "formatting"
cargo fmt --all -- --check

# Clippy lints Palaver's own crates while they are compiled, by every cargo command below
# (clippy-driver as cargo's workspace wrapper, which is what `cargo clippy` does for a
# check): the test build lints every native target, the release build the WebAssembly
# front end (scripts/lint-wasm), and no dependency is compiled a second time for a
# separate check. Any warning fails the build.
export RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "lints, unit and integration tests"
# Four tests at a time on two cores: most of the integration tests' time is spent
# waiting (for a timeout to pass, a node to be noticed gone, a server to start).
RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}" cargo test -p palaver-protocol -p app -p server -p bench -p testkit

step "release build"
# The load test is built in the same cargo run as the server: its crates compile while
# the server's last ones do, on a core that would otherwise wait. Clippy lints only the
# WebAssembly here (scripts/lint-wasm): the test build linted every native crate.
RUSTC_WORKSPACE_WRAPPER="$PWD/scripts/lint-wasm" \
  scripts/release.sh --bin-cargo-args=--package=bench --bin-cargo-args=--bin=palaver-bench

# The test runs have time limits (Playwright's own, the bench's per scenario); these are
# the last resort, killing the whole process group if a run hangs anyway.
step "end-to-end tests (Playwright, Chromium)"
# The two-node test starts its PostgreSQL and Redis with testkit's palaver-services.
cargo build -p testkit --bin palaver-services
(cd end2end && npx tsc -p . && timeout --kill-after=30 25m npx playwright test)

step "load smoke test (cost per delivery against the yardstick, fan-out at 300,000 deliveries/s, slow readers, page, search, two nodes, a node killed and its clients resuming on the other, hostile requests beside plain ones; fails if anything is lost or duplicated, or the cost doubled)"
# The two-node scenario opens 5,000 connections: as many file descriptors on each side.
ulimit -n "$(ulimit -Hn)"
taskset_load=()
if [ "$(nproc --all)" -ge 2 ] && command -v taskset >/dev/null; then taskset_load=(taskset -c 1); fi
timeout --kill-after=30 15m "${taskset_load[@]}" target/release/palaver-bench --quick --check fanout slow page search cluster storm costs
