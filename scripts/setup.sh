#!/usr/bin/env bash
# Brings this machine to a working Palaver build: a Rust toolchain that can target
# wasm32, cargo-leptos, wasm-bindgen-cli at the Cargo.lock version, wasm-opt, Chromium,
# sqlite3 and the end-to-end test packages. Idempotent: every step skips what is already
# there.
# Works offline apart from the package registries (Debian, crates.io, npm).
#
# Source it (`. scripts/setup.sh`) to also get PATH and RUSTUP_TOOLCHAIN in your shell;
# scripts/run.sh and scripts/test.sh do that for you.
set -euo pipefail

PALAVER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION="0.3.11"
WASM_TARGET="wasm32-unknown-unknown"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    # Installed, not merely known (a removed package keeps its configuration).
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

export PATH="$HOME/.cargo/bin:$PATH"

# --- 1. A Rust toolchain with the wasm32 standard library -----------------------------
# A developer machine with `rustup target add wasm32-unknown-unknown` done keeps its own
# toolchain. Otherwise rustup cannot fetch the target (no internet), so use Debian's
# rustc-web and build the wasm32 std from its bundled sources once.
have_rustup_wasm() {
  command -v rustup >/dev/null 2>&1 &&
    [ -z "${RUSTUP_TOOLCHAIN:-}" ] &&
    rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"
}

if have_rustup_wasm; then
  say "using the rustup toolchain's $WASM_TARGET target"
  # The release build compiles the page's standard library for size (scripts/release.sh).
  rustup component list --installed 2>/dev/null | grep -q '^rust-src' || rustup component add rust-src
else
  apt_install rustc-web cargo-web rust-web-src lld-22 rust-web-clippy rustfmt-web pkg-config
  sysroot_lib="/usr/lib/rustlib/$WASM_TARGET/lib"
  if ! ls "$sysroot_lib"/libstd-*.rlib >/dev/null 2>&1; then
    say "building the $WASM_TARGET standard library with Debian's rustc (about a minute)"
    scratch="$(mktemp -d)"
    mkdir -p "$scratch/src"
    printf '[package]\nname = "wasm-std-scratch"\nversion = "0.0.0"\nedition = "2021"\n\n[lib]\npath = "src/lib.rs"\n' >"$scratch/Cargo.toml"
    echo '#![no_std]' >"$scratch/src/lib.rs"
    (cd "$scratch" && env -u RUSTUP_TOOLCHAIN PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      /usr/bin/cargo build -q --release --target "$WASM_TARGET" -Zbuild-std=std,panic_abort)
    as_root mkdir -p "$sysroot_lib"
    find "$scratch/target/$WASM_TARGET/release/deps" -name 'lib*.rlib' ! -name 'libwasm_std_scratch-*' \
      -exec cp {} "$sysroot_lib/" \;
    rm -rf "$scratch"
  fi
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain list | grep -q '^debian-web' || rustup toolchain link debian-web /usr
    # Plain `cargo` in this checkout (cargo leptos watch, cargo test) then uses it too.
    (cd "$PALAVER_ROOT" && rustup override set debian-web >/dev/null 2>&1)
    export RUSTUP_TOOLCHAIN=debian-web
  else
    export PATH="/usr/bin:$PATH"
  fi
fi
say "$(cargo --version)"

# --- 2. Tools that cargo-leptos calls, and cargo-leptos itself -------------------------
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (compiles for about 25 minutes on 2 cores)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

lock_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' \
    "$PALAVER_ROOT/Cargo.lock"
}
bindgen_version="$(lock_version wasm-bindgen)"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen_version\$"; then
  say "installing wasm-bindgen-cli $bindgen_version (about 4 minutes)"
  # No --locked: the registry mirror can lack the newest versions its lockfile names.
  cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi

# An S3-compatible object store for the tests of files kept in one (each test starts
# its own on a free port; it checks every request's signature).
S3S_FS_VERSION=0.17.0
if ! s3s-fs --version 2>/dev/null | grep -q " $S3S_FS_VERSION\$"; then
  say "installing s3s-fs $S3S_FS_VERSION (about 3 minutes)"
  cargo install s3s-fs --version "$S3S_FS_VERSION" --locked --features binary
fi

# --- 3. Chromium, sqlite3, PostgreSQL, Redis, nginx and the end-to-end packages (also gives wasm-opt via binaryen)
# (The end-to-end tests lock the message database with the sqlite3 shell to make the
# server fail a commit.)
apt_install chromium sqlite3
# Passkeys verify signatures with OpenSSL (webauthn-rs links it).
apt_install libssl-dev pkg-config
# PostgreSQL and Redis for the tests and benchmark of several nodes (each test starts
# servers of its own in a temporary directory; no service is used or needed), and
# iproute2's `ss`, with which the `nodes` benchmark counts what each node reads from Redis.
apt_install postgresql redis-server iproute2
# nginx and openssl: the documented nginx configuration (docs/nginx.conf) is tested for
# real, with TLS, by a test that starts an nginx of its own with a certificate it makes.
apt_install nginx openssl
# zopfli: the release WebAssembly's gzip twin (scripts/precompress.sh).
apt_install zopfli
# Node.js runs Playwright; Debian 12's nodejs (18) and npm do, where none is installed.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if [ ! -x "$PALAVER_ROOT/end2end/node_modules/.bin/playwright" ] ||
  [ "$PALAVER_ROOT/end2end/package-lock.json" -nt "$PALAVER_ROOT/end2end/node_modules/.package-lock.json" ]; then
  say "installing end2end npm packages"
  (cd "$PALAVER_ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
export PATH="$PALAVER_ROOT/end2end/node_modules/.bin:$PATH"
say "wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), $(wasm-opt --version | head -1), $(chromium --version 2>/dev/null)"
say "ready"
