#!/usr/bin/env bash
# The release build: the server, and the page's WebAssembly built for size, then its
# gzip twin (scripts/precompress.sh). Arguments go to `cargo leptos build` (the test run
# adds the load tester's package to the server's cargo run).
#
# The WebAssembly is built with a standard library of its own, compiled with it for
# size (`-Zbuild-std`, `optimize_for_size`): a panic in the page stops it where it
# happens, with no message formatting, panic locations or `Debug` text carried in the
# bundle (about 23 KB of its gzipped size). These are unstable compiler options, which
# RUSTC_BOOTSTRAP allows on the stable compiler the project builds with; they need the
# standard library's source (Debian's rust-web-src, or rustup's rust-src component).
# `cargo leptos watch --split` builds without them, so a panic in development says what
# and where.
#
# `--split` cuts the page's lazily loaded parts (app/src/parts.rs) out of the first
# chunk into files of their own (target/site/pkg/split_*.wasm).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none"
cargo leptos build --release --split \
  --lib-cargo-args=-Zbuild-std=std,panic_abort --lib-cargo-args=-Zbuild-std-features=optimize_for_size "$@"
scripts/precompress.sh
