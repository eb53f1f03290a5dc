#!/usr/bin/env bash
# Builds target/release/perch: one binary that carries its wasm, js, css and public/ files.
#
# The steps cargo-leptos would run, in an order that needs one server build: the site first
# (the browser bundle through wasm-bindgen and wasm-opt, the glue and the stylesheet minified,
# public/ copied, every text file compressed with brotli and gzip once, here), then the server,
# which embeds the finished site (server/src/assets.rs). Installing cargo-leptos took 10 to 20
# minutes of a first run on 2 cores; these tools install in seconds (scripts/install-tools.sh,
# docs/development.md). `cargo leptos watch` still works for development, where installed.
#
# The binary is then checked the way a self-hoster runs it: alone in an empty directory, it must
# serve the very bytes of the site it was built with.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/scripts/build-tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
log() { printf '\033[1m[build-release]\033[0m %s\n' "$*"; }

site=target/site
name=perch

log "browser bundle (app, hydrate, profile wasm-release)"
cargo build --lib -p app --target wasm32-unknown-unknown --profile wasm-release --no-default-features --features hydrate

log "wasm-bindgen, wasm-opt, esbuild"
staging=$(mktemp -d -t perch-site-XXXXXX)
trap 'rm -rf "$staging"' EXIT
wasm-bindgen --target web --no-typescript --out-name "$name" --out-dir "$staging" \
  target/wasm32-unknown-unknown/wasm-release/app.wasm
mkdir -p "$staging/site/pkg"
# The flags cargo-leptos passes: size first, and the two features every browser Perch supports has.
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  "$staging/${name}_bg.wasm" -o "$staging/site/pkg/$name.wasm"
esbuild --minify --log-level=warning "$staging/$name.js" --outfile="$staging/site/pkg/$name.js"
# The browsers of browserslist's "defaults" (cargo-leptos's `browserquery`), as esbuild names them.
esbuild --minify --log-level=warning --target=chrome109,edge109,firefox115,safari15.6,ios15.6 \
  style/main.css --outfile="$staging/site/pkg/$name.css"
cp -R public/. "$staging/site/"
node scripts/precompress.mjs "$staging/site"

# Replace the site in one step, and only where a byte changed: the server's build script watches
# every file, so an unchanged site costs no server rebuild.
mkdir -p "$site"
rsync_like() {
  local from=$1 to=$2
  (cd "$from" && find . -type f) | while read -r f; do
    if ! cmp -s "$from/$f" "$to/$f"; then mkdir -p "$(dirname "$to/$f")"; cp "$from/$f" "$to/$f"; fi
  done
  (cd "$to" && find . -type f) | while read -r f; do [ -e "$from/$f" ] || rm -f "$to/$f"; done
}
rsync_like "$staging/site" "$site"

log "server (profile release), embedding $site"
# LEPTOS_OUTPUT_NAME at compile time tells Leptos the bundle is named as above (no `_bg`).
env LEPTOS_OUTPUT_NAME=$name LEPTOS_SITE_ROOT=$site LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=app LEPTOS_BIN_DIR=server \
    LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false \
    cargo build --release -p server --bin perch --no-default-features

# Check the embedded site, the way a self-hoster would: the binary alone in an empty directory.
check_dir=$(mktemp -d -t perch-build-check-XXXXXX)
pid=
stop_check() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$check_dir" "$staging"; }
trap stop_check EXIT
cp target/release/perch "$check_dir/"
port=$(( 20000 + RANDOM % 20000 ))
# exec: $pid is the server itself, not a subshell around it, so the trap stops the server.
(cd "$check_dir" && PERCH_LISTEN="127.0.0.1:$port" PERCH_PUBLIC_URL="http://127.0.0.1:$port" RUST_LOG=warn exec ./perch serve >/dev/null 2>&1) &
pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
for f in pkg/$name.wasm pkg/$name.js pkg/$name.css favicon.svg; do
  served=$(curl -fs "http://127.0.0.1:$port/$f" | sha256sum | cut -d' ' -f1)
  built=$(sha256sum "$site/$f" | cut -d' ' -f1)
  if [ "$served" != "$built" ]; then
    echo "build-release: the binary does not serve $site/$f as built" >&2
    exit 1
  fi
done
served_br=$(curl -fs -H 'accept-encoding: br' "http://127.0.0.1:$port/pkg/$name.wasm" | sha256sum | cut -d' ' -f1)
if [ "$served_br" != "$(sha256sum "$site/pkg/$name.wasm.br" | cut -d' ' -f1)" ]; then
  echo "build-release: the binary does not serve the wasm's brotli bytes as built" >&2
  exit 1
fi

ls -l target/release/perch "$site/pkg/$name.wasm" "$site/pkg/$name.wasm.br" | awk '{printf "%-34s %9.1f KiB\n", $9, $5/1024}'
