#!/usr/bin/env python3
"""Measures connecting X accounts, end to end over loopback: the release `perch` (SQLite, a fresh
data directory) and the fake X (`target/debug/fake-x`, built by `cargo build -p fake-x`), each in
its own process.

1. Connects N accounts one after another, each a full round trip of four requests as a browser
   makes them: Perch's Connect (a flow row, a sealed verifier, a 303 to X), X's consent decision,
   Perch's callback (state checks, the code exchange and users/me at the fake X, tokens sealed and
   stored), and the accounts page it lands on. Reports the time per connect (p50, p99).
2. Loads the accounts page with those N accounts with wrk, and Check (users/me through the
   account's token) with wrk.

Usage: scripts/bench-accounts.py [N accounts, default 50] [wrk seconds, default 10].
Figures: docs/benchmarks.md.
"""

import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import call, opener, owner, pct, require_binaries, start, stop, wrk_summary  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
SECS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def main():
    require_binaries()
    if not shutil.which("wrk"):
        sys.exit("bench-accounts: wrk is missing (apt-get install wrk)")
    d = tempfile.mkdtemp(prefix="perch-bench-")
    procs, base, x = start(d)
    try:
        jar = http.cookiejar.CookieJar()
        browser, at_x = opener(jar), opener()
        origin = {"origin": base}
        owner(browser, base, "Bench Agency", "bench@example.com")
        status, _, app = call(at_x, f"{x}/_fake/apps", {"callback_urls": [f"{base}/oauth/callback/twitter"]}, {"content-type": "application/json"})
        app = json.loads(app)
        status, _, body = call(browser, f"{base}/v1/integrations/twitter/credentials",
                               {"client_id": app["client_id"], "client_secret": app["client_secret"]},
                               {**origin, "content-type": "application/json"}, "PUT")
        assert status == 201, body
        users = []
        for i in range(N):
            u = {"id": str(1600000000000000000 + i), "name": f"Bench {i}", "username": f"bench{i}",
                 "profile_image_url": f"https://pbs.twimg.com/profile_images/{i}/a_normal.jpg"}
            call(at_x, f"{x}/_fake/users", u, {"content-type": "application/json"})
            users.append(u)

        times = []
        account_id = None
        for u in users:
            t0 = time.perf_counter()
            status, h, _ = call(browser, f"{base}/oauth/connect/twitter", {"brand_id": "default"}, origin)
            assert status == 303, status
            authorize = urllib.parse.urlsplit(h["location"])
            form = urllib.parse.parse_qsl(authorize.query) + [("decision", "authorize"), ("user_id", u["id"])]
            form += [("granted", s) for s in dict(form)["scope"].split(" ")]
            status, h, _ = call(at_x, f"{x}/i/oauth2/authorize/decision", form)
            assert status == 302, status
            status, h, _ = call(browser, h["location"])
            assert status == 303 and "connect=connected" in h["location"], h["location"]
            status, _, _ = call(browser, base + h["location"], headers={"accept": "text/html"})
            assert status == 200
            times.append((time.perf_counter() - t0) * 1000)
            account_id = urllib.parse.parse_qs(urllib.parse.urlsplit(h["location"]).query)["account"][0]
        print(f"## connect round trip (Connect, consent, callback, accounts page), {N} accounts in a row")
        print(f"    p50 {pct(times, 50):.1f} ms   p99 {pct(times, 99):.1f} ms   mean {sum(times) / len(times):.1f} ms")

        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        print(f"\n## GET /accounts with {N} accounts")
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECS}s", "--latency", "-H", f"Cookie: {cookie}", "-H", "accept: text/html",
                              f"{base}/accounts"], capture_output=True, text=True).stdout
        print(wrk_summary(out))

        # X allows 75 users/me calls per 15 minutes per user; the benchmark measures Perch, not that.
        call(at_x, f"{x}/_fake/switches", {"users_me_limit_15min": 1000000000}, {"content-type": "application/json"}, "PUT")
        lua = os.path.join(d, "check.lua")
        with open(lua, "w") as f:
            f.write('wrk.method = "POST"\nwrk.body = "account_id=' + account_id + '"\n'
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Accept"] = "application/json"\n')
        print("\n## POST /api/twitter/accounts/check (users/me at the fake X through the account's token)")
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECS}s", "--latency", "-s", lua, "-H", f"Cookie: {cookie}", "-H", f"Origin: {base}",
                              f"{base}/api/twitter/accounts/check"], capture_output=True, text=True).stdout
        print(wrk_summary(out))
    finally:
        stop(procs)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
