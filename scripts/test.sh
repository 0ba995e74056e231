#!/usr/bin/env bash
# Sets up this machine if needed, then runs every Palaver check: formatting, lints,
# the Rust unit and integration tests (the real server binary over real sockets), and
# the Playwright end-to-end tests in Chromium against the release build.
# Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy -p app -p server --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests"
cargo test -p app -p server

step "release build"
cargo leptos build --release

step "end-to-end tests (Playwright, Chromium)"
(cd end2end && npx tsc -p . && npx playwright test)
