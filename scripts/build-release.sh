#!/usr/bin/env bash
# Builds target/release/perch: one binary that carries its wasm, js, css and public/ files.
#
# cargo-leptos builds the server at the same time as it writes target/site (and it rewrites
# target/site/pkg on every run), so the binary it links may embed a half-written site. Once the
# site is complete, the server alone is rebuilt with the environment cargo-leptos gives it (same
# values, so only the `server` crate recompiles, in seconds), and the result is checked: the
# binary must serve the very bytes of the site's wasm and js.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

cargo leptos build --release

# The variables cargo-leptos sets for the server build (cargo-leptos src/config/project.rs,
# `to_envs`); LEPTOS_OUTPUT_NAME decides, at compile time, the file names the page asks for.
env LEPTOS_OUTPUT_NAME=perch LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=app LEPTOS_BIN_DIR=server \
    LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false \
    cargo build --release -p server --bin perch --no-default-features

# Check the embedded site, the way a self-hoster would: the binary alone in an empty directory.
check_dir=$(mktemp -d -t perch-build-check-XXXXXX)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$check_dir"' EXIT
cp target/release/perch "$check_dir/"
port=$(( 20000 + RANDOM % 20000 ))
(cd "$check_dir" && PERCH_LISTEN="127.0.0.1:$port" PERCH_PUBLIC_URL="http://127.0.0.1:$port" RUST_LOG=warn ./perch serve >/dev/null 2>&1) &
pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
for f in pkg/perch.wasm pkg/perch.js pkg/perch.css favicon.svg; do
  served=$(curl -fs "http://127.0.0.1:$port/$f" | sha256sum | cut -d' ' -f1)
  built=$(sha256sum "target/site/$f" | cut -d' ' -f1)
  if [ "$served" != "$built" ]; then
    echo "build-release: the binary does not serve target/site/$f as built" >&2
    exit 1
  fi
done

ls -l target/release/perch target/site/pkg/perch.wasm | awk '{printf "%-32s %9.1f KiB\n", $9, $5/1024}'
printf '%-32s %9.1f KiB\n' "perch.wasm, brotli as served" "$(curl -fs -H 'accept-encoding: br' "http://127.0.0.1:$port/pkg/perch.wasm" | wc -c | awk '{print $1/1024}')"
