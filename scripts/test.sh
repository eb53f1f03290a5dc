#!/usr/bin/env bash
# Runs every test: unit and integration (each database test on SQLite and on PostgreSQL), then
# the end-to-end suite in Chromium, with JavaScript on and off, against the release binary
# copied alone into an empty directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
started=$(date +%s)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "tools"
./scripts/install-tools.sh --test

step "formatting (cargo fmt --all --check, rustfmt.toml)"
cargo fmt --all --check

step "lints (clippy, warnings are errors, on the server and the browser builds)"
# The whole workspace (app, server, fake-x). No --features: `server` depends on `app` with
# features = ["ssr"], and cargo unifies a package's features across one build, so app (its unit
# tests included) is built with ssr here as in `cargo test --workspace` below.
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings

step "PostgreSQL at 127.0.0.1:5432"
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "unit and integration tests (SQLite and PostgreSQL)"
mkdir -p target
# Every crate's tests. app gets its `ssr` feature from server's dependency on it (features are
# unified per package across the build), and fake-x's integration tests build the fake-x binary,
# target/debug/fake-x, which the steps below use.
cargo test --workspace 2>&1 | tee target/cargo-test.log
rust_passed=$(grep -Eo '^test result: ok\. [0-9]+ passed' target/cargo-test.log | awk '{s+=$4} END {print s+0}')

step "release binary"
./scripts/build-release.sh

step "API fuzzing (schemathesis against /v1/openapi.json, release binary)"
# Not under `set -e`: a finding fails the run at the end, after the end-to-end tests also ran.
fuzz_status=0
python3 scripts/api-fuzz.py target/release/perch target/debug/fake-x 2>&1 | tee target/api-fuzz.log || fuzz_status=$?
fuzz_cases=$(grep -Eo '[0-9]+ generated' target/api-fuzz.log | tail -n1 | awk '{print $1+0}')

step "end-to-end tests (Chromium, JavaScript on and off)"
e2e_dir=$(mktemp -d -t perch-e2e-XXXXXX)
trap 'rm -rf "$e2e_dir"' EXIT
cp target/release/perch "$e2e_dir/"
# The fake X, built by `cargo test` above (the fake-x crate); never part of the perch binary.
cp target/debug/fake-x "$e2e_dir/"
(cd end2end && PERCH_E2E_DIR="$e2e_dir" npx playwright test 2>&1) | tee target/e2e.log
e2e_passed=$(grep -Eo '^ *[0-9]+ passed' target/e2e.log | awk '{s+=$1} END {print s+0}')

step "summary"
if [ "$fuzz_status" -eq 0 ]; then fuzz_result="passed (${fuzz_cases:-0} cases)"; fuzz_failed=0; else fuzz_result="FAILED (see target/api-fuzz.log)"; fuzz_failed=1; fi
echo "Rust tests: $rust_passed passed; API fuzzing: $fuzz_result; end-to-end: $e2e_passed passed; $(( $(date +%s) - started )) s in all"
echo "tests: $((rust_passed + e2e_passed + 1 - fuzz_failed)) passed, $fuzz_failed failed"
exit "$fuzz_failed"
