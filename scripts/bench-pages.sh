#!/usr/bin/env bash
# Pages side by side, in one run (docs/benchmarks.md, "Pages"): the release binary alone in an
# empty directory on a fresh SQLite database, an agency (20 brands, 500 X accounts) signed in,
# every dashboard page under wrk beside a bare axum server answering the settings page's own
# bytes (the ceiling), the database statements each page makes (from sqlx's statement log), and
# the process's RSS along the way.
#
#   scripts/bench-pages.sh [target/release/perch]      DUR=10s ACCOUNTS=500 to change the load
#
# Needs wrk, curl, python3, and the ceiling: `cargo build --release -p server --example static_ceiling`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/perch}")
ceiling_bin=$(realpath target/release/examples/static_ceiling)
duration=${DUR:-10s}
accounts=${ACCOUNTS:-500}
port=3321
ceiling_port=3322
base="http://127.0.0.1:$port"
dir=$(mktemp -d -t perch-bench-XXXXXX)
cp "$bin" "$dir/perch"
pid=
ceiling_pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  [ -n "$ceiling_pid" ] && kill "$ceiling_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# Starts perch in $dir with RUST_LOG=$1; sets $pid, and $started_ms to the milliseconds it
# took to answer /login with a 200.
start() {
  local t0 t1
  t0=$(date +%s%N)
  (cd "$dir" && PERCH_LISTEN="127.0.0.1:$port" PERCH_PUBLIC_URL="$base" RUST_LOG="$1" exec ./perch serve 2>>"$dir/log") &
  pid=$!
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/login")" = 200 ]; do sleep 0.005; done
  t1=$(date +%s%N)
  started_ms=$(((t1 - t0) / 1000000))
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
rss() { awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status"; }
load() { wrk -t2 -c16 -d"$duration" --latency "$@" | awk '/Requests\/sec/ { rps = $2 } /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } END { printf "%8.0f req/s  p50 %-8s p99 %-8s", rps, p50, p99 }'; }

echo "== start on a fresh SQLite database"
start warn
echo "start to first 200 on /login: $started_ms ms; RSS idle $(rss)"

jar="$dir/cookies"
password='correct horse battery staple 42'
post() { curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" -H "Origin: $base" -X POST "$base/api/$1" --data "$2"; }
[ "$(post signup "org_name=Bench+Agency&email=bench%40example.com&password=${password// /+}")" = 200 ]
[ "$(post login "email=bench%40example.com&password=${password// /+}")" = 200 ]
cookie=$(awk '$6 == "perch_session" { print "perch_session=" $7 }' "$jar")
echo "after a sign-up and a sign-in (two argon2id hashes): RSS $(rss)"
# The organization's default X app (saving asks nothing of X).
[ "$(post twitter/submit "client_id=M1M5R3BMVy13QmpScXkzTUt5OE46MTpjaQ&client_secret=Sc7Tvo_hBKqFYY_kv5ZJr3J1TWDtkwtDDb-xHKas1VOqg6YYZY&intent=save")" = 200 ]

# The agency: 20 brands and $accounts accounts (a fifth on the default card), as rows.
python3 - "$dir/perch-data/perch.db" "$accounts" <<'EOF'
import sqlite3, sys, time, uuid
db, n = sqlite3.connect(sys.argv[1]), int(sys.argv[2])
org = db.execute("select id from organizations").fetchone()[0]
credential, generation = db.execute("select id, generation from twitter_credentials").fetchone()
now = int(time.time())
brands = []
for i in range(20):
    b = "brd_" + uuid.uuid4().hex
    db.execute("insert into brands values (?, ?, ?, ?, ?, ?)", (b, org, f"Client {i:02}", f"client {i:02}", now, now))
    brands.append(b)
for i in range(n):
    brand = None if i % 5 == 0 else brands[i % 20]
    db.execute(
        "insert into twitter_accounts (id, org_id, brand_id, x_user_id, username, name, credential_id, "
        "credential_generation, client_id_preview, access_token_enc, access_expires_at, scopes, status, "
        "connected_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, 'M1M5R3', x'00', ?, "
        "'tweet.read tweet.write tweet.moderate.write users.read dm.read dm.write like.write offline.access', 'connected', ?, ?)",
        ("xac_" + uuid.uuid4().hex, org, brand, str(10**9 + i), f"account{i}", f"Account {i}", credential, generation,
         now + 7200, now - i, now - i),
    )
db.commit()
EOF

pages=(/settings/twitter /accounts /brands /settings /settings/api-keys)
curl -s -b "$cookie" "$base/settings/twitter" -o "$dir/settings.html"
echo "== the ceiling: a bare axum server answering /settings/twitter's $(wc -c <"$dir/settings.html") bytes"
"$ceiling_bin" "$dir/settings.html" "127.0.0.1:$ceiling_port" >/dev/null 2>&1 &
ceiling_pid=$!
sleep 0.3
ceiling=$(load "http://127.0.0.1:$ceiling_port/")
echo "ceiling             $ceiling"

echo "== pages, signed in (wrk -t2 -c16 -d$duration)"
echo "/login (anonymous)  $(load "$base/login")"
for page in "${pages[@]}"; do
  printf '%-19s %s  %s bytes\n' "$page" "$(load -H "Cookie: $cookie" "$base$page")" \
    "$(curl -s -b "$cookie" "$base$page" | wc -c)"
done
# Where a page's time goes: the same requests without the render. `viewer` is the middleware,
# the session and who is signed in (one query); `twitter/settings` adds the settings page's data
# as JSON; the page adds rendering it.
cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Origin"] = "$base"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
echo "== where /settings/twitter's time goes (server functions, same session)"
for fn in viewer twitter/settings; do
  printf '%-19s %s\n' "/api/$fn" "$(load -s "$dir/post.lua" -H "Cookie: $cookie" "$base/api/$fn")"
done
echo "RSS after the page loads: $(rss)"
sleep 10
echo "RSS 10 s later: $(rss)"
stop

echo "== database statements per page (sqlx's statement log, one request each; a new pooled connection's pragmas not counted)"
start "warn,sqlx::query=debug"
for page in "${pages[@]}"; do
  curl -s -o /dev/null -b "$cookie" "$base$page"
  sleep 0.2
  before=$(grep -v -i 'summary[^ ]*="pragma' "$dir/log" | grep -c 'rows_returned' || true)
  curl -s -o /dev/null -b "$cookie" "$base$page"
  sleep 0.2
  after=$(grep -v -i 'summary[^ ]*="pragma' "$dir/log" | grep -c 'rows_returned' || true)
  printf '%-19s %s statements\n' "$page" "$((after - before))"
done
stop
