#!/usr/bin/env bash
# Writes a gzip twin (FILE.gz) beside the release build's WebAssembly, with zopfli: about
# 5% smaller than gzip at its best, made once per build instead of on every download.
# The server sends it to clients that take gzip while it is at least as new as the file
# (server/src/assets.rs). Run after `cargo leptos build --release`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for wasm in target/site/pkg/*.wasm; do
  zopfli --i10 "$wasm"
  echo "$wasm: $(stat -c %s "$wasm") bytes, $(stat -c %s "$wasm.gz") gzipped"
done
