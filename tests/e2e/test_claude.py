"""The real Claude Code CLI (npm, a Bun binary with stripped BoringSSL) under
agenttrail, offline against the project's mock Anthropic server over TLS.

The agent runs in a network namespace of its own with only loopback up
(some releases call api.anthropic.com directly, ignoring the base URL):
the releases are installed from npm first, then the file re-runs itself
under `unshare --net`.

Two releases 192 published versions apart (2.1.110, the first native build,
and 2.1.332): the TLS functions are found by scanning each binary, and the
recorded calls must hold exactly the scripted tool call, the next request
its tool_result, and request bodies byte-identical to what the mock got.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from atlib import AGENTTRAIL, eq, in_own_netns, install_agent, read_jsonl, run_tests, tmpdir  # noqa: E402
from mock_llm import MockLLM  # noqa: E402

VERSIONS = ("2.1.110", "2.1.332")
TOOL_ID = "toolu_01AgentTrailE2E"


def install(version):
    return install_agent("claude", version)


def run_claude(version):
    binary = install(version)
    d = tmpdir()
    home = os.path.join(d, "home")
    os.mkdir(home)
    marker = os.path.join(d, "marker")
    tool_input = {"command": "echo agenttrail-tool-ran > " + marker,
                  "description": "Run the test suite"}
    script = {"turns": [{"tool_use": {"id": TOOL_ID, "name": "Bash", "input": tool_input}},
                        {"text": "All tests passed."}]}
    jl = os.path.join(d, "events.jsonl")
    db = os.path.join(d, "trail.db")
    with MockLLM(os.path.join(d, "mock"), script=script) as m:
        env = dict(os.environ, IS_SANDBOX="1", HOME=home,
                   ANTHROPIC_API_KEY="sk-ant-api03-" + "T3st" * 20,
                   ANTHROPIC_BASE_URL=m.base_url, NODE_EXTRA_CA_CERTS=m.ca_cert,
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1")
        p = subprocess.run([AGENTTRAIL, "record", "--db", db, "--jsonl", jl, "--",
                            binary, "-p", "run the tests", "--dangerously-skip-permissions"],
                           capture_output=True, text=True, timeout=240, env=env, cwd=d)
        got = [r for r in m.log("request") if r["path"].startswith("/v1/messages")]
    return p, read_jsonl(jl), db, got, marker, tool_input


def check(version):
    p, events, db, got, marker, tool_input = run_claude(version)
    eq(p.returncode, 0, "claude %s exit (stderr: %s)" % (version, p.stderr[-2000:]))
    eq(os.path.exists(marker), True, "the scripted tool call ran")
    if "boringssl-scan" not in p.stderr:
        raise AssertionError("no BoringSSL attachment reported:\n" + p.stderr)
    calls = [e for e in events if e["type"] == "llm_call"]
    https = {e["id"]: e for e in events if e["type"] == "http"}
    main = [c for c in calls if c["request"] and c["request"].get("tools")]
    eq(len(main) >= 2, True, "two main calls recorded (%d calls)" % len(calls))
    eq([c["source"] for c in calls], ["boringssl"] * len(calls), "captured from BoringSSL")
    # the first main call answered with exactly the scripted tool call
    first = main[0]
    eq([(t["id"], t["name"], t["input"]) for t in first["response"]["tool_calls"]],
       [(TOOL_ID, "Bash", tool_input)], "the tool call")
    eq(first["response"]["stop_reason"], "tool_use", "stop reason")
    tool = [e for e in events if e["type"] == "tool_call" and e["id"] == TOOL_ID]
    eq(len(tool), 1, "one tool_call record")
    eq(tool[0]["llm_call"], first["id"], "tool_call names its llm_call")
    # the following request carries its tool_result
    results = []
    for m in main[1]["request"]["messages"]:
        if isinstance(m["content"], list):
            results += [b for b in m["content"] if b.get("type") == "tool_result"]
    eq([b["tool_use_id"] for b in results], [TOOL_ID], "tool_result in the next request")
    eq(main[1]["response"]["text"], "All tests passed.", "final answer")
    # every request body the mock received is recorded byte-identical
    recorded = sorted(h["request"]["body_sha256"] for h in https.values()
                      if h["request"] and h["request"]["target"].startswith("/v1/messages"))
    eq(recorded, sorted(r["body_sha256"] for r in got), "request bodies (sha256)")
    for h in https.values():
        if h["request"] and h["request"]["target"].startswith("/v1/messages"):
            eq(h["request"]["incomplete"] or h["request"]["truncated"], False, "whole body")
    # the report lists the calls
    out = subprocess.run([AGENTTRAIL, "report", "--db", db, "llm"], capture_output=True,
                         text=True)
    eq(out.returncode, 0, "report llm")
    if "Bash" not in out.stdout:
        raise AssertionError("report llm:\n" + out.stdout)


def test_claude_code_2_1_110():
    check(VERSIONS[0])


def test_claude_code_2_1_332():
    check(VERSIONS[1])


if __name__ == "__main__":
    in_own_netns(lambda: [install(v) for v in VERSIONS])
    run_tests(globals())
