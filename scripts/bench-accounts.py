#!/usr/bin/env python3
"""Measures connecting X accounts, end to end over loopback: the release `perch` (SQLite, a fresh
data directory) and the fake X (`target/debug/fake-x`, built by `cargo test ... --features
server/fake-x`), each in its own process.

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
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
SECS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def opener(jar=None):
    handlers = [NoRedirect()]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


def call(op, url, data=None, headers=None, method=None):
    """(status, headers, body) without following redirects."""
    body = None
    hdrs = dict(headers or {})
    if isinstance(data, dict) or isinstance(data, list):
        if hdrs.get("content-type") == "application/json":
            body = json.dumps(data).encode()
        else:
            body = urllib.parse.urlencode(data, doseq=True).encode()
    req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
    try:
        with op.open(req, timeout=30) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_for(url):
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    sys.exit(f"bench-accounts: {url} did not come up")


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    perch = os.path.join(ROOT, "target/release/perch")
    fake = os.path.join(ROOT, "target/debug/fake-x")
    for f in (perch, fake):
        if not os.access(f, os.X_OK):
            sys.exit(f"bench-accounts: {f} is missing (scripts/build-release.sh; cargo test --features server/fake-x)")
    if not shutil.which("wrk"):
        sys.exit("bench-accounts: wrk is missing (apt-get install wrk)")
    d = tempfile.mkdtemp(prefix="perch-bench-")
    port = 20000 + random.randrange(20000)
    base, x = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
    procs = [
        subprocess.Popen([fake, "--listen", f"127.0.0.1:{port + 1}"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(
            [perch, "serve"],
            cwd=d,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PERCH_LISTEN": f"127.0.0.1:{port}", "PERCH_PUBLIC_URL": base, "PERCH_DATA_DIR": f"{d}/data",
                 "PERCH_X_API_URL": x, "PERCH_X_AUTHORIZE_URL": f"{x}/i/oauth2/authorize", "RUST_LOG": "warn"},
        ),
    ]
    try:
        wait_for(f"{base}/healthz")
        wait_for(f"{x}/_fake/switches")
        jar = http.cookiejar.CookieJar()
        browser, at_x = opener(jar), opener()
        origin = {"origin": base}
        status, _, body = call(browser, f"{base}/api/signup", {"org_name": "Bench Agency", "email": "bench@example.com",
                                                               "password": "correct horse battery staple"}, {**origin, "accept": "application/json"})
        assert status == 200, body
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
        print("\n".join(l for l in out.splitlines() if "Requests/sec" in l or l.strip().startswith(("50%", "99%")) or "Non-2xx" in l))

        # X allows 75 users/me calls per 15 minutes per user; the benchmark measures Perch, not that.
        call(at_x, f"{x}/_fake/switches", {"users_me_limit_15min": 1000000000}, {"content-type": "application/json"}, "PUT")
        lua = os.path.join(d, "check.lua")
        with open(lua, "w") as f:
            f.write('wrk.method = "POST"\nwrk.body = "account_id=' + account_id + '"\n'
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\nwrk.headers["Accept"] = "application/json"\n')
        print("\n## POST /api/twitter/accounts/check (users/me at the fake X through the account's token)")
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECS}s", "--latency", "-s", lua, "-H", f"Cookie: {cookie}", "-H", f"Origin: {base}",
                              f"{base}/api/twitter/accounts/check"], capture_output=True, text=True).stdout
        print("\n".join(l for l in out.splitlines() if "Requests/sec" in l or l.strip().startswith(("50%", "99%")) or "Non-2xx" in l))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
