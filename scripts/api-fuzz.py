#!/usr/bin/env python3
"""Fuzzes the public API against its own OpenAPI document with schemathesis, every check on.

Usage: scripts/api-fuzz.py PERCH_BINARY [FAKE_X_BINARY]

Starts the fake X (default target/debug/fake-x, built by `cargo build -p fake-x` or `cargo test`)
and the given `perch` on loopback ports, with SQLite in a temporary data directory; signs up an
owner, saves the fake X's app as the organization's credentials, connects an X account through
the fake X's consent page and creates an API key, the way a person does in the dashboard; then
runs `schemathesis run <perch>/v1/openapi.json --checks all` with that key (settings in
scripts/schemathesis.toml). Every answer must be
documented (status, content type, headers, schema), valid requests must be accepted and invalid
ones refused, no 5xx. Exits with schemathesis's status: 0 only when it found nothing.

Settings (environment):
  SCHEMATHESIS          the schemathesis CLI (default: target/schemathesis-venv/bin/schemathesis,
                        which scripts/install-tools.sh installs, else the one on PATH)
  PERCH_FUZZ_EXAMPLES   test cases per operation and phase (default 1000: about 80 s on a debug binary, 2 cores)
  PERCH_FUZZ_SEED       the generator's seed (default fixed, so a run is repeatable; set another
                        to explore)
  PERCH_FUZZ_WORKERS    concurrent workers (default 1: with more, hypothesis 6 sometimes fails inside itself, "AST constructor recursion depth mismatch")
  PERCH_FUZZ_SCHEMA     a local OpenAPI file to test instead of the one the binary serves (for
                        trying a change to the document without rebuilding)
Reports (JUnit XML, and the failing cases as curl commands in the output) go to target/api-fuzz/.
"""

import http.cookiejar
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, opener, posting_setup, wait_for  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def schemathesis_cli():
    given = os.environ.get("SCHEMATHESIS")
    if given:
        return given
    venv = os.path.join(ROOT, "target/schemathesis-venv/bin/schemathesis")
    if os.access(venv, os.X_OK):
        return venv
    found = shutil.which("schemathesis")
    if not found:
        sys.exit("api-fuzz: schemathesis is missing (scripts/install-tools.sh installs it)")
    return found


def start(d, perch, fake_x):
    """Starts the fake X and Perch; returns (processes, Perch's base URL, X's, log files)."""
    x_log = open(os.path.join(d, "fake-x.log"), "w")
    # The fake prints its base URL on its first line once it accepts connections.
    fake = subprocess.Popen([fake_x, "--listen", "127.0.0.1:0"], cwd=d, stdout=subprocess.PIPE, stderr=x_log, text=True)
    x = fake.stdout.readline().strip()
    if not x.startswith("http://"):
        sys.exit(f"api-fuzz: the fake X did not start: {x!r}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PERCH_LISTEN": f"127.0.0.1:{port}", "PERCH_PUBLIC_URL": base, "PERCH_DATA_DIR": f"{d}/data",
           "PERCH_DATABASE_URL": f"sqlite://{d}/data/perch.db", "PERCH_X_API_URL": x,
           "PERCH_X_AUTHORIZE_URL": f"{x}/i/oauth2/authorize", "RUST_LOG": "warn",
           # Perch's own per-tenant limits are lifted: the fuzzer sends thousands of requests a
           # minute with one key and starts a flow with every valid connect request. Their 429 is
           # documented (and tested in server/tests/it/roles_and_limits.rs); at the defaults most of
           # the run would be 429s and reach nothing behind them.
           **{k: "1000000000" for k in ("PERCH_API_KEY_RATE_LIMIT", "PERCH_API_ORG_RATE_LIMIT",
                                        "PERCH_CONNECT_RATE_LIMIT", "PERCH_CONNECT_OPEN_LIMIT")}}
    perch_log = open(os.path.join(d, "perch.log"), "w")
    server = subprocess.Popen([perch, "serve"], cwd=d, stdout=perch_log, stderr=subprocess.STDOUT, env=env)
    wait_for(f"{base}/healthz")
    return [fake, server], base, x, perch_log.name


def set_up(base, x):
    """An owner, the fake X's app as the organization default, one connected account, an API key."""
    jar = http.cookiejar.CookieJar()
    browser, at_x = opener(jar), opener()
    _, account_id, key = posting_setup(browser, at_x, base, x, "Fuzz Agency", "fuzz@example.com", "fuzz")
    return key, account_id


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    perch = os.path.abspath(sys.argv[1])
    fake_x = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target/debug/fake-x"))
    for f in (perch, fake_x):
        if not os.access(f, os.X_OK):
            sys.exit(f"api-fuzz: {f} is missing (perch: scripts/build-release.sh or cargo build; fake-x: cargo build -p fake-x)")
    cli = schemathesis_cli()
    examples = os.environ.get("PERCH_FUZZ_EXAMPLES", "1000")
    seed = os.environ.get("PERCH_FUZZ_SEED", "20260601")
    workers = os.environ.get("PERCH_FUZZ_WORKERS", "1")
    reports = os.path.join(ROOT, "target/api-fuzz")
    os.makedirs(reports, exist_ok=True)
    d = tempfile.mkdtemp(prefix="perch-fuzz-")
    procs, perch_log = [], None
    started = time.time()
    try:
        procs, base, x, perch_log = start(d, perch, fake_x)
        key, account_id = set_up(base, x)
        print(f"api-fuzz: Perch at {base}, fake X at {x}, account {account_id}; "
              f"schemathesis {examples} examples per operation, seed {seed}", flush=True)
        schema = os.environ.get("PERCH_FUZZ_SCHEMA")
        location = ["--url", base, os.path.abspath(schema)] if schema else [f"{base}/v1/openapi.json"]
        cmd = [cli, "--no-color", "--config-file", os.path.join(ROOT, "scripts/schemathesis.toml"), "run", *location,
               "--checks", "all",
               "--header", f"Authorization: Bearer {key}",
               "--max-examples", examples,
               "--seed", seed,
               "--workers", workers,
               "--generation-database", "none",
               "--request-timeout", "30",
               "--report", "junit", "--report-junit-path", os.path.join(reports, "junit.xml")]
        # Run from the temporary directory: schemathesis writes nothing into the repository.
        code = subprocess.run(cmd, cwd=d).returncode
        print(f"api-fuzz: schemathesis exited {code} after {time.time() - started:.0f} s", flush=True)
        if code != 0 and perch_log:
            with open(perch_log) as f:
                tail = f.read()[-4000:]
            print(f"api-fuzz: the end of Perch's log:\n{tail}")
        return code
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
