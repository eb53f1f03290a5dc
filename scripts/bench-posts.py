#!/usr/bin/env python3
"""Measures `POST /v1/posts`, end to end over loopback: the release `perch` and the fake X
(`target/debug/fake-x`), each in its own process, on SQLite (a fresh data directory) or
PostgreSQL (a fresh database at 127.0.0.1:5432).

Sets up an organization with an X app, one connected account and an API key, lifts the fake's
rate limits, then drives `POST /v1/posts` with wrk (every post a distinct text: X refuses
duplicates). The same load straight at the fake X's `POST /2/tweets` (with a token the fake
issues for the same user) is the baseline: the difference is what Perch adds (key lookup, the
account's token through the vault, the call to X, the post's record).

Usage: scripts/bench-posts.py [sqlite|postgres] [wrk seconds, default 10] [connections, default 16].
Figures: docs/benchmarks.md.
"""

import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import PERCH, call, opener, posting_setup, require_binaries, start, stop, wrk_summary  # noqa: E402

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
SECS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
CONNS = int(sys.argv[3]) if len(sys.argv) > 3 else 16

# Each wrk thread numbers its own posts; the thread number keeps texts distinct across threads.
LUA = """
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end
local n = 0
function request()
  n = n + 1
  local body = string.format(BODY, tid, n)
  return wrk.format("POST", PATH, HEADERS, body)
end
"""


def lua(path, headers, body_format):
    hdrs = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
    return f'PATH = "{path}"\nHEADERS = {{{hdrs}}}\nBODY = {json.dumps(body_format)}\n' + LUA


def run_wrk(d, name, url, script, conns):
    path = os.path.join(d, f"{name}.lua")
    with open(path, "w") as f:
        # Texts carry the run's name: X refuses a text the user already posted.
        f.write(script.replace("@RUN@", name))
    threads = min(2, conns)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{SECS}s", "--latency", "-s", path, url], capture_output=True, text=True).stdout
    return wrk_summary(out)


def main():
    require_binaries()
    if not shutil.which("wrk"):
        sys.exit("bench-posts: wrk is missing (apt-get install wrk)")
    d = tempfile.mkdtemp(prefix="perch-bench-")
    env, pg_db = {}, None
    if BACKEND == "postgres":
        pg_db = f"perch_bench_{os.getpid()}"
        subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", f"create database {pg_db}"], check=True)
        key = subprocess.run([PERCH, "keys", "generate"], capture_output=True, text=True, check=True).stdout.strip()
        env = {"PERCH_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{pg_db}", "PERCH_MASTER_KEY": key}
    procs, base, x = start(d, env)
    try:
        jar = http.cookiejar.CookieJar()
        browser, at_x = opener(jar), opener()
        json_h = {"content-type": "application/json"}
        app, account_id, key = posting_setup(browser, at_x, base, x, "Bench Agency", "bench@example.com", "bench")
        _, _, users = call(at_x, f"{x}/_fake/users", headers={"accept": "application/json"})
        user_id = json.loads(users)[0]["id"]
        _, _, tokens = call(at_x, f"{x}/_fake/tokens", {"client_id": app["client_id"], "user_id": user_id,
                                                       "scopes": ["tweet.read", "tweet.write", "users.read", "offline.access"]}, json_h)
        direct_token = json.loads(tokens)["access_token"]

        status, _, body = call(at_x, f"{base}/v1/posts", {"account_id": account_id, "text": "warm-up"},
                               {**json_h, "authorization": f"Bearer {key}"})
        assert status == 201, body

        # The baseline first: the fake checks each post against the user's earlier ones, so it
        # slows a little as posts pile up, which then counts against Perch, not for it.
        through_perch = lua("/v1/posts", {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
                            '{"account_id":"' + account_id + '","text":"Bench post @RUN@ %d-%d"}')
        direct = lua("/2/tweets", {"Content-Type": "application/json", "Authorization": f"Bearer {direct_token}"},
                     '{"text":"Direct post @RUN@ %d-%d"}')
        for conns in (1, CONNS):
            print(f"## baseline: POST /2/tweets straight at the fake X ({conns} connection(s), {SECS} s)")
            print(run_wrk(d, f"direct{conns}", f"{x}/2/tweets", direct, conns))
            print(f"## {BACKEND}: POST /v1/posts through Perch ({conns} connection(s), {SECS} s)")
            print(run_wrk(d, f"perch{conns}", f"{base}/v1/posts", through_perch, conns))
            print()
        _, _, counters = call(at_x, f"{x}/_fake/counters", headers={"accept": "application/json"})
        print(f"fake X counters: {counters.decode()}")
    finally:
        stop(procs)
        shutil.rmtree(d, ignore_errors=True)
        if pg_db:
            subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", f"drop database if exists {pg_db} with (force)"])


if __name__ == "__main__":
    main()
