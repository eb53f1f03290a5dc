#!/usr/bin/env bash
# Builds target/release/perch: one binary that carries its wasm, js, css and public/ files.
#
# cargo-leptos compiles the server while it is still writing target/site, so the first run
# embeds a half-written site. The second run rewrites nothing in the site and rebuilds only the
# server, which now embeds the finished one (server/build.rs watches target/site).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

cargo leptos build --release
cargo leptos build --release

test -s target/site/pkg/perch.wasm || { echo "build-release: target/site/pkg/perch.wasm is missing" >&2; exit 1; }
ls -l target/release/perch target/site/pkg/perch.wasm | awk '{printf "%-40s %8.1f KiB\n", $9, $5/1024}'
