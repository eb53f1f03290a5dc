#!/usr/bin/env bash
# Measures the Twitter integration with wrk over loopback: the release `perch` (SQLite, a fresh data
# directory) and the fake X (target/debug/fake-x, built by `cargo build -p fake-x`), each in its own
# process. Signs up, saves default credentials through the JSON API, then loads:
#   GET  /settings/twitter                          the whole page, server-rendered
#   GET  /v1/integrations/twitter/credentials       the JSON listing
#   POST /v1/integrations/twitter/credentials/test  a probe of X's token endpoint (the fake X here)
#   PUT  /v1/integrations/twitter/credentials       a save: seal two fields, write, audit
# Usage: scripts/bench-twitter.sh [seconds per endpoint, default 10]. Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
for f in target/release/perch target/debug/fake-x; do
  [ -x "$f" ] || { echo "bench-twitter: $f is missing (scripts/build-release.sh; cargo build -p fake-x)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "bench-twitter: wrk is missing (apt-get install wrk)" >&2; exit 1; }

dir=$(mktemp -d -t perch-bench-XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(( 20000 + RANDOM % 20000 )); xport=$(( port + 1 ))
base="http://127.0.0.1:$port"; x="http://127.0.0.1:$xport"
cp target/release/perch target/debug/fake-x "$dir/"
(cd "$dir" && exec ./fake-x --listen "127.0.0.1:$xport" >/dev/null 2>&1) & pids+=($!)
(cd "$dir" && PERCH_LISTEN="127.0.0.1:$port" PERCH_PUBLIC_URL="$base" PERCH_X_API_URL="$x" RUST_LOG=warn \
  exec ./perch serve >/dev/null 2>&1) & pids+=($!)
for _ in $(seq 1 50); do curl -fs "$base/healthz" >/dev/null 2>&1 && curl -fs "$x/_fake/switches" >/dev/null 2>&1 && break; sleep 0.2; done

jar="$dir/cookies"
curl -fs -c "$jar" -o /dev/null -H "Origin: $base" --data-urlencode "org_name=Bench Agency" \
  --data-urlencode "email=bench@example.com" --data-urlencode "password=correct horse battery staple" "$base/api/signup"
# Sign-up never signs in (it answers a taken email like a new one): sign in next.
curl -fs -c "$jar" -b "$jar" -o /dev/null -H "Origin: $base" --data-urlencode "email=bench@example.com" \
  --data-urlencode "password=correct horse battery staple" "$base/api/login"
cookie=$(sed 's/^#HttpOnly_//' "$jar" | awk '!/^#/ && NF >= 7 {print $6 "=" $7}' | head -n1)
[ -n "$cookie" ] || { echo "bench-twitter: sign-up gave no session cookie" >&2; exit 1; }
app=$(curl -fs -H 'content-type: application/json' -d "{\"callback_urls\":[\"$base/oauth/callback/twitter\"]}" "$x/_fake/apps")
pair=$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print(json.dumps({"client_id":a["client_id"],"client_secret":a["client_secret"]}))' "$app")
curl -fs -o /dev/null -X PUT -H "Cookie: $cookie" -H "Origin: $base" -H 'content-type: application/json' -d "$pair" "$base/v1/integrations/twitter/credentials"

lua="$dir/body.lua"
cat >"$lua" <<'EOF'
wrk.method = os.getenv("BENCH_METHOD")
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
EOF
run() { # name method path [body]
  printf '\n## %s\n' "$1"
  if [ "$2" = GET ]; then
    wrk -t2 -c16 -d"${secs}s" --latency -H "Cookie: $cookie" -H 'accept: text/html' "$base$3"
  else
    BENCH_METHOD=$2 BENCH_BODY=$4 wrk -t2 -c16 -d"${secs}s" --latency -s "$lua" -H "Cookie: $cookie" -H "Origin: $base" "$base$3"
  fi | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors'
}
run "GET /settings/twitter" GET /settings/twitter
run "GET /v1/integrations/twitter/credentials" GET /v1/integrations/twitter/credentials
run "POST /v1/integrations/twitter/credentials/test" POST /v1/integrations/twitter/credentials/test "$pair"
run "PUT /v1/integrations/twitter/credentials (unchanged pair)" PUT /v1/integrations/twitter/credentials "$pair"
