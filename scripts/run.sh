#!/usr/bin/env bash
# Installs what is missing, builds the release binary and runs Perch on SQLite at
# http://127.0.0.1:3000 (data in ./perch-data). Settings: PERCH_* variables, see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-tools.sh
./scripts/build-release.sh
exec ./target/release/perch serve
