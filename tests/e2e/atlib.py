"""Helpers for agenttrail end-to-end tests.

Each tests/e2e/test_*.py is one CTest test: it defines test_* functions and
calls run_tests() at the bottom. Tests run real workloads under the real
binary on the host kernel (root required) and assert exact values on what
was recorded.
"""
import json
import shutil
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

AGENTTRAIL = os.environ.get("AGENTTRAIL") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "agenttrail")
# The distribution's interpreter: a python3 found on PATH may be a shim
# that forks a dozen helper processes before starting Python.
PY = "/usr/bin/python3"


class Recording:
    def __init__(self, rc, events, db, stderr):
        self.rc = rc
        self.events = events
        self.db = db
        self.stderr = stderr

    def of(self, type_, **match):
        out = []
        for e in self.events:
            if e.get("type") != type_:
                continue
            if all(e.get(k) == v for k, v in match.items()):
                out.append(e)
        return out

    def one(self, type_, **match):
        found = self.of(type_, **match)
        if len(found) != 1:
            raise AssertionError("expected exactly one %s %r, found %d" % (type_, match, len(found)))
        return found[0]

    def session(self):
        starts = self.of("session_start")
        if not starts:
            raise AssertionError("no session_start")
        return starts[0]["session"]

    def sql(self, query, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()


_TMPDIRS = []


def tmpdir():
    """A fresh directory, removed when every test of the file passed."""
    d = os.path.realpath(tempfile.mkdtemp(prefix="at-e2e-"))
    _TMPDIRS.append(d)
    return d


def install_agent(agent, version):
    """Install a real agent from npm (tests/agents/install.sh, cached in
    $AT_AGENTS_DIR or <build>/agents); the path of its program."""
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    agents = os.environ.get("AT_AGENTS_DIR") or os.path.join(
        os.environ.get("AT_BUILD_DIR", os.path.join(root, "build")), "agents")
    p = subprocess.run(["bash", os.path.join(root, "tests", "agents", "install.sh"), agent, version],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, AT_AGENTS_DIR=agents))
    if p.returncode != 0:
        raise AssertionError("installing %s %s failed:\n%s" % (agent, version, p.stderr))
    return p.stdout.strip().splitlines()[-1]


def in_own_netns(prepare):
    """Run prepare() (e.g. install agents from npm: it needs the registry),
    then re-run the test file being run in a new network namespace with
    loopback only (agents that call their vendor's API directly must not
    reach it). Returns in the re-run."""
    if os.environ.get("AT_E2E_NETNS") == "1":
        return
    prepare()
    env = dict(os.environ, AT_E2E_NETNS="1")
    os.execvpe("unshare", ["unshare", "--net", "sh", "-c",
                           'ip link set lo up && exec "$0" "$@"', sys.executable,
                           os.path.abspath(sys.argv[0])], env)


def record(cmd, extra=(), db=True, timeout=120, env=None):
    """Run `agenttrail record [extra] -- cmd`; return a Recording."""
    d = tmpdir()
    jl = os.path.join(d, "events.jsonl")
    dbp = os.path.join(d, "trail.db")
    argv = [AGENTTRAIL, "record", "--quiet", "--jsonl", jl]
    argv += ["--db", dbp] if db else ["--no-db"]
    argv += list(extra)
    if cmd:
        argv += ["--"] + list(cmd)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=env)
    return Recording(p.returncode, read_jsonl(jl), dbp if db else None,
                     p.stderr.decode(errors="replace"))


def read_jsonl(path):
    """Complete lines only: a live file may end in a half-written line."""
    events = []
    if not os.path.exists(path):
        return events
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.endswith("\n") and line.strip():
                try:
                    events.append(json.loads(line))
                except ValueError as e:
                    raise AssertionError("%s:%d is not JSON (%s): %r" % (path, n, e, line[:300]))
    return events


def start_record(cmd=None, extra=()):
    """Start agenttrail in the background; return (Popen, dir, jsonl, db)."""
    d = tmpdir()
    jl = os.path.join(d, "events.jsonl")
    dbp = os.path.join(d, "trail.db")
    ready = os.path.join(d, "ready")
    argv = [AGENTTRAIL, "record", "--quiet", "--jsonl", jl, "--db", dbp,
            "--ready-file", ready] + list(extra)
    if cmd:
        argv += ["--"] + list(cmd)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p, d, jl, dbp


def wait_loaded(d, timeout=20):
    """Wait until the agenttrail started by start_record() in d is live."""
    wait_for(lambda: os.path.exists(os.path.join(d, "ready")), timeout, "agenttrail to load")


def wait_for(pred, timeout=20, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def eq(actual, expected, what=""):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def run_tests(namespace):
    if os.geteuid() != 0:
        print("e2e tests need root (eBPF)")
        sys.exit(1)
    tests = sorted((k, v) for k, v in namespace.items() if k.startswith("test_") and callable(v))
    passed = failed = 0
    for name, fn in tests:
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    if failed:
        print("kept for inspection: " + " ".join(_TMPDIRS))
    else:
        for d in _TMPDIRS:
            shutil.rmtree(d, ignore_errors=True)
    sys.exit(1 if failed else 0)
