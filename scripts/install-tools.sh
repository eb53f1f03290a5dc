#!/usr/bin/env bash
# Installs what building and testing Perch needs, each tool only when the right version is missing.
# Safe to run again: a machine that already has everything spends a few seconds here.
# Why each step is the way it is: ../shared/reference/toolchain.md (summarised in docs/development.md).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[install-tools]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock 2>/dev/null || true)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-0.2.130}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Rust: the wasm target for the hydrate build; nightly only to build cargo-leptos (its deps need rustc > 1.95).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    log "adding $component (scripts/test.sh checks formatting and lints)"
    rustup component add "$component"
  fi
done
if ! rustup toolchain list | grep -q '^nightly'; then
  log "installing a nightly toolchain (only to build cargo-leptos and wasm-opt)"
  rustup toolchain install nightly --profile minimal
fi

# 2. Debian packages: Chromium for the end-to-end tests.
if ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

# 3. wasm-bindgen CLI, pinned to the crate's version.
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
  # Not --locked: the CLI's own lock file names a yanked crate.
  cargo +nightly install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# 4. cargo-leptos without its downloader (GitHub is out of reach; tools come from PATH).
if ! command -v cargo-leptos >/dev/null 2>&1; then
  log "installing cargo-leptos (about 10 minutes on 2 cores)"
  # A build tool only orchestrates: thin local LTO and 16 codegen units instead of its fat LTO
  # and one unit build it in a fraction of the time and cost nothing worth measuring at run time.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo +nightly install cargo-leptos --locked --features no_downloads
fi

# 5. wasm-opt from the crate (binaryen 116). Debian's binaryen 108 breaks hydration.
if ! wasm-opt --version 2>/dev/null | grep -q 'version 1[1-9][0-9]'; then
  log "installing wasm-opt from crates.io (about 8 minutes)"
  cargo +nightly install wasm-opt --locked
fi

# 6. Playwright (the test runner only; the browser is Debian's chromium).
if [ -f end2end/package.json ] && [ ! -d end2end/node_modules/@playwright/test ]; then
  log "installing the end-to-end test packages"
  (cd end2end && npm ci --no-audit --no-fund)
fi

# 7. schemathesis (the API fuzzer of scripts/api-fuzz.py) in a virtual environment under target/:
# Debian's Python is "externally managed" (PEP 668), so pip refuses to install into it, and
# --break-system-packages would mix schemathesis's ~40 dependencies with apt's Python packages.
# A venv needs python3-venv on Debian; it is a directory of its own, removed with target/.
SCHEMATHESIS_VERSION=4.32.5
if [ "$(target/schemathesis-venv/bin/schemathesis --version 2>/dev/null | awk '{print $3}')" != "$SCHEMATHESIS_VERSION" ]; then
  log "installing schemathesis $SCHEMATHESIS_VERSION into target/schemathesis-venv"
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv >/dev/null
  fi
  mkdir -p target
  python3 -m venv target/schemathesis-venv
  target/schemathesis-venv/bin/pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

log "all tools present"
