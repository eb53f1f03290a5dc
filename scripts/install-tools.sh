#!/usr/bin/env bash
# Installs what building Perch needs, each tool only when the right version is missing; with
# --test, also what the test suite needs (rustfmt and clippy, Chromium, Playwright, schemathesis).
# Safe to run again: a machine that already has everything spends a few seconds here.
# Why each step is the way it is: docs/development.md ("Tools").
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=false
case "${1:-}" in
  --test) with_tests=true ;;
  "") ;;
  *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

log() { printf '\033[1m[install-tools]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock 2>/dev/null || true)
WASM_BINDGEN_VERSION=${WASM_BINDGEN_VERSION:-0.2.130}

# 1. The wasm target for the browser bundle.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen CLI, pinned to the crate's version, on the stable toolchain (about 4 minutes).
# Not --locked: its lock file names a webpki-roots release the index no longer offers. Without
# default features: the CLI itself downloads nothing, so it needs no TLS stack (ring, rustls).
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes on 2 cores)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --no-default-features --force
fi

# 3. wasm-opt (binaryen 132, a JS/wasm build) and esbuild, prebuilt, from npm: seconds, where
# compiling binaryen's C++ took 12 minutes. Debian's binaryen 108 breaks hydration.
# A copy of the lock file in node_modules records what was installed.
if ! cmp -s scripts/build-tools/package-lock.json scripts/build-tools/node_modules/.installed-lock.json 2>/dev/null; then
  log "installing the build tools of scripts/build-tools (wasm-opt, esbuild)"
  (cd scripts/build-tools && npm ci --no-audit --no-fund --loglevel=error \
    && cp package-lock.json node_modules/.installed-lock.json)
fi

if ! $with_tests; then
  log "build tools present"
  exit 0
fi

# 4. rustfmt and clippy: scripts/test.sh checks formatting and lints.
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    log "adding $component"
    rustup component add "$component"
  fi
done

# 5. Debian packages: Chromium for the end-to-end tests.
if ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

# 6. Playwright (the test runner only; the browser is Debian's chromium).
if [ -f end2end/package.json ] && [ ! -d end2end/node_modules/@playwright/test ]; then
  log "installing the end-to-end test packages"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
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

log "all tools present, the test suite's too"
