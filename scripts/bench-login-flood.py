#!/usr/bin/env python3
"""A sign-in flood must leave the rest of Perch responsive (docs/security.md C.17, issue 11 item 4).

1. Starts the release `perch` (SQLite, PERCH_TRUSTED_PROXIES=127.0.0.1) beside the fake X, signs up
   an owner and signs in.
2. Measures `/healthz` and the signed-in settings page one request at a time, quiet.
3. Floods `POST /api/login` with wrong passwords from many connections with wrk: every request a
   new email and a new forwarded client address, so neither throttle holds it back and each one
   asks for a password hash (the worst case for the hashing queue).
4. Measures the same two requests during the flood, and reports how the flood was answered.

Usage: scripts/bench-login-flood.py [flood seconds, default 15] [wrk connections, default 64].
"""

import http.cookiejar
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import call, opener, owner, pct, require_binaries, start, stop  # noqa: E402

SECS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
CONNS = int(sys.argv[2]) if len(sys.argv) > 2 else 64
PASSWORD = "correct horse battery staple"

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["Origin"] = "%(base)s"
local counter = 0
request = function()
  counter = counter + 1
  local n = math.random(1, 2000000000)
  wrk.headers["X-Forwarded-For"] = string.format("10.%%d.%%d.%%d", n %% 250, math.floor(n / 250) %% 250, math.floor(n / 62500) %% 250 + 1)
  return wrk.format(nil, "/api/login", nil, "email=flood" .. n .. "-" .. counter .. "%%40example.com&password=wrong+password+here")
end
"""


def timed(op, url, headers, n):
    """Latencies in ms of n sequential GETs, and how many were not 200."""
    out, bad = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        status, _, _ = call(op, url, headers=headers)
        out.append((time.perf_counter() - t0) * 1000)
        bad += status != 200
    return out, bad


def report(name, values, bad):
    return f"{name}: p50 {pct(values, 50):.1f} ms, p99 {pct(values, 99):.1f} ms, max {max(values):.1f} ms ({len(values)} requests, {bad} not 200)"


def main():
    require_binaries()
    if not shutil.which("wrk"):
        sys.exit("bench-login-flood: wrk is missing (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as d:
        procs, base, _ = start(d, {"PERCH_TRUSTED_PROXIES": "127.0.0.1"})
        try:
            jar = http.cookiejar.CookieJar()
            op = opener(jar)
            owner(op, base, "Bench", "owner@example.com", PASSWORD)
            page = {"accept": "text/html"}
            quiet_health = timed(op, f"{base}/healthz", {}, 200)
            quiet_page = timed(op, f"{base}/settings", page, 200)

            lua = os.path.join(d, "flood.lua")
            with open(lua, "w") as f:
                f.write(LUA % {"base": base})
            result = {}

            def flood():
                result["out"] = subprocess.run(
                    ["wrk", "-t2", f"-c{CONNS}", f"-d{SECS}s", "--latency", "-s", lua, base],
                    capture_output=True, text=True, check=True).stdout

            t = threading.Thread(target=flood)
            t.start()
            time.sleep(2)  # let the queue fill
            busy_health, busy_page = [], []
            bad_h = bad_p = 0
            while t.is_alive():
                v, b = timed(op, f"{base}/healthz", {}, 5)
                busy_health += v
                bad_h += b
                v, b = timed(op, f"{base}/settings", page, 5)
                busy_page += v
                bad_p += b
            t.join()
            out = result["out"]
            print(f"# login flood: wrk -t2 -c{CONNS} -d{SECS}s, every request a new email and client address")
            print("\n".join(l for l in out.splitlines() if "Requests/sec" in l or l.strip().startswith(("50%", "99%")) or "Non-2xx" in l or "requests in" in l))
            print(report("quiet   /healthz", *quiet_health))
            print(report("quiet   /settings (signed in)", *quiet_page))
            print(report("flooded /healthz", busy_health, bad_h))
            print(report("flooded /settings (signed in)", busy_page, bad_p))
        finally:
            stop(procs)


if __name__ == "__main__":
    main()
