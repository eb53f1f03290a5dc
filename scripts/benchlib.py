"""Helpers shared by the benchmark scripts (bench-accounts.py, bench-posts.py): HTTP without
redirects, waiting for a server, percentiles, and starting the release `perch` beside the fake X."""

import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PERCH = os.path.join(ROOT, "target/release/perch")
# The fake X built for the tests is a debug build; a release one (`cargo build --release -p fake-x`)
# is used when present, so that the fake is not the bottleneck.
FAKE_X = next((p for p in (os.path.join(ROOT, "target/release/fake-x"), os.path.join(ROOT, "target/debug/fake-x")) if os.access(p, os.X_OK)),
              os.path.join(ROOT, "target/debug/fake-x"))


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
    sys.exit(f"bench: {url} did not come up")



def owner(op, base, org, email, password="correct horse battery staple"):
    """Signs up an organization and its owner, then signs in through `op` (whose cookie jar keeps
    the session): sign-up never signs in, since it answers a taken email like a new one."""
    h = {"origin": base, "accept": "application/json"}
    for path, form in (("signup", {"org_name": org, "email": email, "password": password}),
                       ("login", {"email": email, "password": password})):
        status, _, body = call(op, f"{base}/api/{path}", form, h)
        assert status == 200, (path, body)


def posting_setup(browser, at_x, base, x, org, email, key_name):
    """Signs up `org` and signs in through `browser`, registers an app at the fake X and saves it
    as the organization default, connects an X account through the fake's consent page (every
    scope granted), creates an API key, and lifts the fake's posting limits (X's limits are X's;
    these runs measure or fuzz Perch). Returns (the app, the account id, the API key)."""
    origin = {"origin": base}
    json_h = {"content-type": "application/json"}
    owner(browser, base, org, email)
    _, _, app = call(at_x, f"{x}/_fake/apps", {"callback_urls": [f"{base}/oauth/callback/twitter"]}, json_h)
    app = json.loads(app)
    status, _, body = call(browser, f"{base}/v1/integrations/twitter/credentials",
                           {"client_id": app["client_id"], "client_secret": app["client_secret"]}, {**origin, **json_h}, "PUT")
    assert status == 201, body
    status, h, _ = call(browser, f"{base}/oauth/connect/twitter", {"brand_id": "default"}, origin)
    assert status == 303, status
    form = urllib.parse.parse_qsl(urllib.parse.urlsplit(h["location"]).query) + [("decision", "authorize")]
    form += [("granted", s) for s in dict(form)["scope"].split(" ")]
    status, h, _ = call(at_x, f"{x}/i/oauth2/authorize/decision", form)
    assert status == 302, status
    status, h, _ = call(browser, h["location"])
    assert "connect=connected" in h["location"], h["location"]
    account_id = urllib.parse.parse_qs(urllib.parse.urlsplit(h["location"]).query)["account"][0]
    status, _, body = call(browser, f"{base}/api/keys/create", {"name": key_name}, {**origin, "accept": "application/json"})
    assert status == 200, body
    limits = {"tweets_limit_15min": 1000000000, "tweets_user_limit_24h": 1000000000, "tweets_app_limit_24h": 1000000000}
    call(at_x, f"{x}/_fake/switches", limits, json_h, "PUT")
    return app, account_id, json.loads(body)["key"]


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]



def require_binaries():
    for f in (PERCH, FAKE_X):
        if not os.access(f, os.X_OK):
            sys.exit(f"bench: {f} is missing (scripts/build-release.sh; cargo build -p fake-x)")


def start(d, env_extra=None):
    """Starts the fake X and Perch (its data in `d`); returns (processes, Perch's base URL, X's)."""
    port = 20000 + random.randrange(20000)
    base, x = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
    env = {**os.environ, "PERCH_LISTEN": f"127.0.0.1:{port}", "PERCH_PUBLIC_URL": base, "PERCH_DATA_DIR": f"{d}/data",
           "PERCH_X_API_URL": x, "PERCH_X_AUTHORIZE_URL": f"{x}/i/oauth2/authorize", "RUST_LOG": "warn",
           # Per-tenant limits lifted: a benchmark is one tenant sending as fast as it can.
           **{k: "1000000000" for k in ("PERCH_API_KEY_RATE_LIMIT", "PERCH_API_ORG_RATE_LIMIT",
                                        "PERCH_CONNECT_RATE_LIMIT", "PERCH_CONNECT_OPEN_LIMIT")},
           **(env_extra or {})}
    procs = [
        subprocess.Popen([FAKE_X, "--listen", f"127.0.0.1:{port + 1}"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([PERCH, "serve"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env),
    ]
    wait_for(f"{base}/healthz")
    wait_for(f"{x}/_fake/switches")
    return procs, base, x


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()


def wrk_summary(out):
    """The lines of wrk's output the benchmark notes keep."""
    return "\n".join(l for l in out.splitlines() if "Requests/sec" in l or l.strip().startswith(("50%", "99%")) or "Non-2xx" in l)
