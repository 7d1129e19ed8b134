#!/usr/bin/python3
"""Self-check: the real Claude Code CLI runs one scripted Bash tool call
against tests/e2e/mock_llm.py, fully offline. Does not involve agenttrail.

    smoke_claude_mock.py PATH/TO/claude [--no-netns] [--keep] [--timeout S]

What it does:
  * starts mock_llm.py (TLS, test CA, HTTP/1.1) as a separate process with a
    two-turn script: turn 0 is a tool_use of Bash (id toolu_01AgentTrailSmoke)
    that writes a marker file, turn 1 is a final text;
  * runs, in a fresh HOME and working directory,
      IS_SANDBOX=1 HOME=<tmp>/home ANTHROPIC_API_KEY=sk-ant-test-0000
      ANTHROPIC_BASE_URL=https://127.0.0.1:PORT NODE_EXTRA_CA_CERTS=<ca.pem>
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
      claude -p "run the tests" --allowedTools Bash
    with stdin from /dev/null and no other environment but PATH;
  * checks: exit status 0, the final text on stdout, the marker file, and in
    the mock's log a /v1/messages request carrying a tool_result block whose
    tool_use_id is the scripted id (and is_error false); every request came
    over HTTP/1.1, every TLS connection negotiated ALPN http/1.1, no TLS
    handshake failed, no request got a 404.

Network isolation: run as root, the whole check (mock and claude) re-executes
itself in a new network namespace that has only loopback (unshare --net), so
that nothing the agent might try reaches beyond this machine. Claude Code
2.1.113 for one asks https://api.anthropic.com/api/claude_code/organizations/
metrics_enabled on exit whatever ANTHROPIC_BASE_URL says; in the namespace
its DNS lookup fails at once. --no-netns skips this.

Exit status 0 when every check passed; otherwise 1, with the details.
"""
import argparse
import fcntl
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # leave no __pycache__ in the work tree
sys.path.insert(0, HERE)
import mock_llm  # noqa: E402

TOOL_ID = "toolu_01AgentTrailSmoke"
FINAL_TEXT = "All tests passed (agenttrail mock)."
MARKER_TEXT = "agenttrail-tool-ran"
PROMPT = "run the tests"
NETNS_MARK = "AT_SMOKE_IN_NETNS"


def loopback_up():
    """ip link set lo up, without needing iproute2."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    finally:
        s.close()


def reexec_in_netns():
    unshare = shutil.which("unshare")
    if not unshare:
        print("note: no unshare(1); running without a network namespace", flush=True)
        return
    env = dict(os.environ, **{NETNS_MARK: "1"})
    argv = [unshare, "--net", "--", sys.executable, os.path.abspath(__file__)] + sys.argv[1:]
    os.execve(unshare, argv, env)


def script_for(marker):
    return {"turns": [
        {"tool_use": {"id": TOOL_ID, "name": "Bash",
                      "input": {"command": "echo %s > %s" % (MARKER_TEXT, marker),
                                "description": "Run the test suite"}}},
        {"text": FINAL_TEXT}]}


def claude_env(home, port, ca):
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "IS_SANDBOX": "1",
        "HOME": home,
        "ANTHROPIC_API_KEY": "sk-ant-test-0000",
        "ANTHROPIC_BASE_URL": "https://127.0.0.1:%d" % port,
        "NODE_EXTRA_CA_CERTS": ca,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }


def tool_results(req_json):
    out = []
    for m in req_json.get("messages") or []:
        c = m.get("content")
        if m.get("role") == "user" and isinstance(c, list):
            out += [b for b in c if isinstance(b, dict) and b.get("type") == "tool_result"]
    return out


def summarise(log):
    lines = []
    for r in log:
        k = r["kind"]
        if k == "request":
            j = r.get("json") if isinstance(r.get("json"), dict) else {}
            tls = r.get("tls") or {}
            ua = mock_llm._header(r["headers"], "user-agent")
            lines.append("  #%d conn %d %s %s %s alpn=%s body=%dB model=%s stream=%s tools=%d msgs=%d ua=%s" % (
                r["seq"], r["conn"], r["method"], r["path"], r["version"], tls.get("alpn"),
                r["body_len"], j.get("model"), j.get("stream"), len(j.get("tools") or []),
                len(j.get("messages") or []), ua))
        elif k == "response":
            lines.append("     -> %d %s role=%s turn=%s stream=%s %dB" % (
                r["status"], r.get("api"), r.get("role"), r.get("turn"), r.get("stream"), r["body_len"]))
        elif k == "connection":
            lines.append("  conn %d %s" % (r["conn"], r["event"]))
        else:
            lines.append("  %s: %s" % (k, r.get("error")))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("claude", help="path of the claude program")
    ap.add_argument("--no-netns", action="store_true", help="do not isolate the network")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()

    claude = os.path.abspath(a.claude)
    if not os.access(claude, os.X_OK):
        print("FAIL: %s is not an executable file" % claude)
        return 1
    if not a.no_netns and os.geteuid() == 0 and not os.environ.get(NETNS_MARK):
        reexec_in_netns()
    if os.environ.get(NETNS_MARK):
        loopback_up()

    tmp = os.path.realpath(tempfile.mkdtemp(prefix="at-smoke-claude-"))
    home, work, logd = (os.path.join(tmp, n) for n in ("home", "work", "mock"))
    for d in (home, work, logd):
        os.makedirs(d)
    marker = os.path.join(tmp, "marker")
    script = os.path.join(tmp, "script.json")
    with open(script, "w") as f:
        json.dump(script_for(marker), f, indent=1)

    failures = []
    mock, port = mock_llm.start_process(logd, script)
    try:
        ca = os.path.join(logd, "tls", "ca.pem")
        argv = [claude, "-p", PROMPT, "--allowedTools", "Bash"]
        env = claude_env(home, port, ca)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=a.timeout)
            rc, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            rc, out, err = None, (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace")
            failures.append("claude did not finish within %ss" % a.timeout)
        elapsed = time.monotonic() - t0
        time.sleep(0.2)  # let the mock log the last connection close
    finally:
        mrc = mock_llm.stop_process(mock)
    if mrc != 0:
        failures.append("mock_llm exited %r: %s" % (mrc, mock.stderr.read().decode(errors="replace")))

    log = mock_llm.read_log(logd)
    reqs = [r for r in log if r["kind"] == "request"]
    resps = {r["seq"]: r for r in log if r["kind"] == "response"}

    if rc != 0:
        failures.append("claude exit status %r (want 0)" % rc)
    if FINAL_TEXT not in out:
        failures.append("the final text %r is not on claude's stdout" % FINAL_TEXT)
    try:
        with open(marker) as f:
            got = f.read()
        if got != MARKER_TEXT + "\n":
            failures.append("marker file holds %r" % got)
    except OSError as e:
        failures.append("no marker file: %s (the Bash tool call did not run)" % e)

    msgs = [r for r in reqs if r["method"] == "POST" and r["path"].split("?")[0] == "/v1/messages"]
    main_msgs = [r for r in msgs if resps.get(r["seq"], {}).get("role") == "main"]
    turns = [resps[r["seq"]].get("turn") for r in main_msgs]
    if 0 not in turns or 1 not in turns:
        failures.append("main /v1/messages turns served: %r (want 0 and 1)" % turns)
    carrying = []
    for r in main_msgs:
        for b in tool_results(r.get("json") or {}):
            if b.get("tool_use_id") == TOOL_ID:
                carrying.append((r, b))
    if not carrying:
        failures.append("no /v1/messages request carries a tool_result for %s" % TOOL_ID)
    else:
        r, b = carrying[0]
        if resps[r["seq"]].get("turn") != 1:
            failures.append("the tool_result came in a request served turn %r" % resps[r["seq"]].get("turn"))
        if b.get("is_error"):
            failures.append("the tool_result is an error: %r" % b.get("content"))
    for r in reqs:
        if r["version"] != "HTTP/1.1":
            failures.append("request #%d over %s" % (r["seq"], r["version"]))
        if (r.get("tls") or {}).get("alpn") != "http/1.1":
            failures.append("request #%d: ALPN %r" % (r["seq"], (r.get("tls") or {}).get("alpn")))
        if resps.get(r["seq"], {}).get("status") == 404:
            failures.append("unknown endpoint: %s %s" % (r["method"], r["path"]))
    for r in log:
        if r["kind"] in ("tls_error", "bad_request", "handler_error"):
            failures.append("%s: %s" % (r["kind"], r.get("error")))

    version = ""
    ua = [mock_llm._header(r["headers"], "user-agent") for r in msgs]
    if ua and ua[0]:
        version = ua[0]
    print("claude:   %s (%s)" % (claude, version or "version unknown"))
    print("netns:    %s" % ("isolated (loopback only)" if os.environ.get(NETNS_MARK) else "host network"))
    print("command:  %s %s" % (" ".join("%s=%s" % kv for kv in sorted(env.items()) if kv[0] != "PATH"),
                               " ".join(repr(x) if " " in x else x for x in argv)))
    print("run time: %.2fs, exit status %r" % (elapsed, rc))
    print("requests: %d on %d connection(s); endpoints: %s" % (
        len(reqs), len({r["conn"] for r in reqs}),
        ", ".join(sorted({"%s %s" % (r["method"], r["path"]) for r in reqs}))))
    print(summarise(log))
    if failures:
        print("stdout: %s" % out[-2000:])
        print("stderr: %s" % err[-4000:])
        print("FAIL:")
        for f in failures:
            print("  - " + f)
        print("kept for inspection: %s" % tmp)
        return 1
    print("stdout: %s" % out.strip()[:500])
    print("PASS: the Bash tool call ran, its tool_result (%s) came back, claude printed the final text"
          % TOOL_ID)
    if a.keep:
        print("kept: %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
