#!/usr/bin/env bash
# Sets up this machine if needed, then builds Palaver for release and serves the chat
# at http://127.0.0.1:3000 (LEPTOS_SITE_ADDR to change it). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh
scripts/release.sh
exec target/release/server
