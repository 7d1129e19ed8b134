"""`agenttrail hook claude|codex|gemini` against each agent's documented
hook JSON, inside a session of `agenttrail run --policy`: the exact answer
on stdout and the exit code, before a tool runs (deny with the rule's
reason, or say nothing) and after (the kernel's and fanotify's decisions
during the call as context); what happens when agenttrail cannot be asked;
the control socket's mode and its refusal of processes outside the session.

The hook inputs follow each agent's documentation: Claude Code and Codex
(PreToolUse/PostToolUse with tool_name, tool_input, tool_use_id, cwd) and
Gemini CLI (BeforeTool/AfterTool with tool_name, tool_input, cwd).
"""
import json
import os
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from atlib import AGENTTRAIL, eq, read_jsonl, run_tests, tmpdir  # noqa: E402

POLICY = """
version: 1
rules:
  - name: no-key-read
    on: read
    target:
      paths: ["D/keys/**"]
    effect: block
    reason: "reading {target} is not allowed; use the deploy tool instead"
  - name: no-force-push
    on: exec
    target:
      command: "git push --force"
    effect: block
    reason: "force pushes rewrite shared history; push without --force"
  - name: no-git-hooks
    on: write
    target:
      paths: ["D/ws/.git/hooks/**"]
    effect: block
    reason: "writing git hooks is not allowed"
"""

# Runs as the recorded command: feeds each case to the hook, in order,
# doing what a case says between a "pre" and its "post".
DRIVER = r'''
import json, os, subprocess, sys, time
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    if c.get("do"):
        subprocess.run(c["do"], shell=True, capture_output=True)
        continue
    p = subprocess.run([sys.argv[3], "hook", c["agent"], *c.get("args", [])],
                       input=c["stdin"], capture_output=True, text=True, cwd=c.get("cwd"))
    out.append({"name": c["name"], "rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr})
json.dump(out, open(sys.argv[2], "w"))
# let the test ask the socket from outside the session
open(sys.argv[2] + ".sock", "w").write(os.environ.get("AGENTTRAIL_SOCKET", ""))
for _ in range(300):
    if os.path.exists(sys.argv[2] + ".done"):
        break
    time.sleep(0.1)
'''


def claude_in(event, tool, tool_input, ws, tid):
    return json.dumps({"session_id": "s1", "transcript_path": "/tmp/t.jsonl", "cwd": ws,
                       "permission_mode": "bypassPermissions", "hook_event_name": event,
                       "tool_name": tool, "tool_input": tool_input, "tool_use_id": tid})


def codex_in(event, tool, tool_input, ws, tid):
    return json.dumps({"session_id": "c1", "transcript_path": None, "cwd": ws,
                       "hook_event_name": event, "model": "gpt-5-codex", "turn_id": "t1",
                       "tool_name": tool, "tool_use_id": tid, "tool_input": tool_input})


def gemini_in(event, tool, tool_input, ws):
    return json.dumps({"session_id": "g1", "transcript_path": "/tmp/g.json", "cwd": ws,
                       "hook_event_name": event, "timestamp": "2026-11-29T00:00:00.000Z",
                       "tool_name": tool, "tool_input": tool_input})


def deny_cc(event, rule, reason):
    return {"hookSpecificOutput": {"hookEventName": event, "permissionDecision": "deny",
                                   "permissionDecisionReason":
                                   "agenttrail: refused by policy rule '%s': %s" % (rule, reason)}}


FORCE = "force pushes rewrite shared history; push without --force"
HOOKS = "writing git hooks is not allowed"


def cases(d):
    ws = os.path.join(d, "ws")
    key = os.path.join(d, "keys", "id_rsa")
    c = []

    def case(name, agent, stdin, expect, rc=0, args=(), **kw):
        c.append(dict(name=name, agent=agent, stdin=stdin, expect=expect, rc=rc,
                      args=list(args), **kw))

    # Claude Code
    case("claude pre force push", "claude",
         claude_in("PreToolUse", "Bash", {"command": "git push --force origin main"}, ws, "t1"),
         deny_cc("PreToolUse", "no-force-push", FORCE))
    case("claude pre bash -c wrapper", "claude",
         claude_in("PreToolUse", "Bash", {"command": "cd sub && bash -c 'git push --force'"}, ws, "t2"),
         deny_cc("PreToolUse", "no-force-push", FORCE))
    case("claude pre redirect into .git/hooks", "claude",
         claude_in("PreToolUse", "Bash", {"command": "echo exit 0 > .git/hooks/pre-commit"}, ws, "t3"),
         deny_cc("PreToolUse", "no-git-hooks", HOOKS))
    case("claude pre Write", "claude",
         claude_in("PreToolUse", "Write", {"file_path": ws + "/.git/hooks/post-merge",
                                           "content": "x"}, ws, "t4"),
         deny_cc("PreToolUse", "no-git-hooks", HOOKS))
    case("claude pre allowed", "claude",
         claude_in("PreToolUse", "Bash", {"command": "git push origin main && ls -la"}, ws, "t5"),
         None)
    case("claude post of a clean call", "claude",
         claude_in("PostToolUse", "Bash", {"command": "git push origin main && ls -la"}, ws, "t5"),
         None)
    case("claude pre of the key read", "claude",
         claude_in("PreToolUse", "Bash", {"command": "cat " + key}, ws, "t6"), None)
    c.append({"do": "cat " + key})
    case("claude post with the refused read", "claude",
         claude_in("PostToolUse", "Bash", {"command": "cat " + key}, ws, "t6"),
         {"post": "PostToolUse", "rule": "no-key-read", "target": key})
    case("claude other event", "claude",
         json.dumps({"hook_event_name": "SessionStart", "session_id": "s1", "cwd": ws}), None)
    case("claude garbage", "claude", "{not json", "garbage", rc=1)
    case("claude garbage, deny mode", "claude", "\x00\x01", "garbage", rc=2,
         args=("--on-unreachable", "deny"))
    # what the reader cannot read in full is not silently allowed
    long = "git push origin main " + "x " * 300 + "--force"
    case("claude pre too long to read, deny mode", "claude",
         claude_in("PreToolUse", "Bash", {"command": long}, ws, "t7"), "partial-deny",
         args=("--on-unreachable", "deny"))
    case("claude pre too long to read, allow mode", "claude",
         claude_in("PreToolUse", "Bash", {"command": long}, ws, "t8"), "partial-allow")
    # a redirection is judged after "." and ".." are folded
    case("claude pre redirect through /dev/..", "claude",
         claude_in("PreToolUse", "Bash", {"command": "echo x > /dev/.." + ws + "/.git/hooks/x"},
                   ws, "t9"),
         deny_cc("PreToolUse", "no-git-hooks", HOOKS))
    # idle connections do not shut the hooks out: the next waits its turn
    c.append({"do": "python3 -c 'import os, socket, time\n"
                    "ss = [socket.socket(socket.AF_UNIX) for _ in range(80)]\n"
                    "[s.connect(os.environ[\"AGENTTRAIL_SOCKET\"]) for s in ss]\n"
                    "time.sleep(4)' & sleep 0.5"})
    case("claude pre behind 80 idle connections", "claude",
         claude_in("PreToolUse", "Bash", {"command": "git push --force"}, ws, "t10"),
         deny_cc("PreToolUse", "no-force-push", FORCE))
    # Codex
    case("codex pre force push", "codex",
         codex_in("PreToolUse", "Bash", {"command": "git push --force"}, ws, "c1"),
         deny_cc("PreToolUse", "no-force-push", FORCE))
    case("codex pre argv command", "codex",
         codex_in("PreToolUse", "Bash", {"command": ["bash", "-lc", "git push --force"]}, ws, "c2"),
         deny_cc("PreToolUse", "no-force-push", FORCE))
    case("codex pre apply_patch", "codex",
         codex_in("PreToolUse", "apply_patch", {"command": "*** Begin Patch\n*** Add File: "
                                                ".git/hooks/pre-push\n+exit 0\n*** End Patch\n"},
                  ws, "c3"),
         deny_cc("PreToolUse", "no-git-hooks", HOOKS))
    case("codex pre allowed", "codex",
         codex_in("PreToolUse", "Bash", {"command": "make -j2"}, ws, "c4"), None)
    case("codex pre of the key read", "codex",
         codex_in("PreToolUse", "Bash", {"command": "head -c1 " + key}, ws, "c5"), None)
    c.append({"do": "head -c1 " + key})
    case("codex post with the refused read", "codex",
         codex_in("PostToolUse", "Bash", {"command": "head -c1 " + key}, ws, "c5"),
         {"post": "PostToolUse", "rule": "no-key-read", "target": key})
    # Gemini CLI
    case("gemini before shell", "gemini",
         gemini_in("BeforeTool", "run_shell_command", {"command": "git push --force",
                                                       "description": "push"}, ws),
         {"decision": "deny", "reason":
          "agenttrail: refused by policy rule 'no-force-push': " + FORCE})
    case("gemini before write_file", "gemini",
         gemini_in("BeforeTool", "write_file", {"file_path": ".git/hooks/pre-commit",
                                                "content": "x"}, ws),
         {"decision": "deny", "reason": "agenttrail: refused by policy rule 'no-git-hooks': "
          + HOOKS})
    case("gemini before allowed", "gemini",
         gemini_in("BeforeTool", "read_file", {"file_path": "README"}, ws), None)
    case("gemini after clean", "gemini",
         gemini_in("AfterTool", "read_file", {"file_path": "README"}, ws), None)
    c.append({"do": "cat " + key})
    case("gemini after the refused read", "gemini",
         gemini_in("AfterTool", "run_shell_command", {"command": "cat " + key}, ws),
         {"post": "AfterTool", "rule": "no-key-read", "target": key})
    return c


def check_post(name, got, want, agent):
    """A post answer: one violation, the rule and target named, in the
    agent's shape."""
    ans = json.loads(got)
    if agent == "gemini":
        eq(sorted(ans), ["hookSpecificOutput", "systemMessage"], name + ": keys")
        text = ans["hookSpecificOutput"]["additionalContext"]
        eq(ans["hookSpecificOutput"]["hookEventName"], want["post"], name + ": event")
    elif agent == "codex":
        # Codex would replace the tool's output with a block's reason
        eq(sorted(ans), ["hookSpecificOutput"], name + ": keys")
        text = ans["hookSpecificOutput"]["additionalContext"]
        eq(ans["hookSpecificOutput"]["hookEventName"], want["post"], name + ": event")
    else:
        # refused: the call is marked failed and the model reads the reason
        eq(sorted(ans), ["decision", "reason"], name + ": keys")
        eq(ans["decision"], "block", name + ": decision")
        text = ans["reason"]
    want_head = "agenttrail: during this tool call the policy decided 1 operation:"
    if not text.startswith(want_head) or "rule 'no-key-read'" not in text or want["target"] not in text \
            or "use the deploy tool instead" not in text:
        raise AssertionError("%s: post text %r" % (name, text))


def test_hook_protocols():
    d = tmpdir()
    ws = os.path.join(d, "ws")
    os.makedirs(os.path.join(ws, ".git", "hooks"))
    os.makedirs(os.path.join(ws, "sub"))
    os.makedirs(os.path.join(d, "keys"))
    with open(os.path.join(d, "keys", "id_rsa"), "w") as f:
        f.write("-----BEGIN KEY-----\n")
    pol = os.path.join(d, "policy.yaml")
    with open(pol, "w") as f:
        f.write(POLICY.replace("D/", d + "/"))
    cs = cases(d)
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(cs, f)
    with open(os.path.join(d, "driver.py"), "w") as f:
        f.write(DRIVER)
    out = os.path.join(d, "out.json")
    jl = os.path.join(d, "events.jsonl")
    env = dict(os.environ)
    env.pop("AGENTTRAIL_SOCKET", None)
    run = subprocess.Popen([AGENTTRAIL, "run", "--policy", pol, "--no-db", "--jsonl", jl,
                            "--no-tool-reason", "--", sys.executable, os.path.join(d, "driver.py"),
                            os.path.join(d, "cases.json"), out, AGENTTRAIL],
                           stderr=subprocess.PIPE, text=True, env=env, cwd=ws)
    # outside the session: the socket refuses to answer
    for _ in range(600):
        if os.path.exists(out + ".sock") or run.poll() is not None:
            break
        time.sleep(0.1)
    sock = open(out + ".sock").read()
    st = os.stat(sock)
    eq((stat.S_ISSOCK(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid), (True, 0o600, 0),
       "control socket: a socket, mode 0600, root's")
    outside = subprocess.run([AGENTTRAIL, "hook", "claude"], capture_output=True, text=True,
                             input=claude_in("PreToolUse", "Bash", {"command": "git push --force"},
                                             ws, "o1"),
                             env=dict(env, AGENTTRAIL_SOCKET=sock))
    outside_deny = subprocess.run([AGENTTRAIL, "hook", "codex", "--on-unreachable", "deny"],
                                  capture_output=True, text=True,
                                  input=codex_in("PreToolUse", "Bash", {"command": "ls"}, ws, "o2"),
                                  env=dict(env, AGENTTRAIL_SOCKET=sock))
    status = subprocess.run([AGENTTRAIL, "hook", "status", "--socket", sock],
                            capture_output=True, text=True, env=env)
    open(out + ".done", "w").close()
    _, err = run.communicate(timeout=120)
    eq(run.returncode, 0, "agenttrail run (stderr: %s)" % err[-3000:])

    eq(outside.returncode, 0, "outside the session, allow mode: exit 0")
    eq(outside.stdout, "", "outside the session, allow mode: no answer (the tool runs)")
    if "not in a session this agenttrail records" not in outside.stderr:
        raise AssertionError("outside: %r" % outside.stderr)
    ans = json.loads(outside_deny.stdout)
    eq(outside_deny.returncode, 0, "outside, deny mode: exit 0 with a deny")
    eq(ans["hookSpecificOutput"]["permissionDecision"], "deny", "outside, deny mode")
    if "could not check" not in ans["hookSpecificOutput"]["permissionDecisionReason"]:
        raise AssertionError("deny mode reason: %r" % ans)
    eq(status.returncode, 1, "status from outside the session fails")

    got = {r["name"]: r for r in json.load(open(out))}
    for c in cs:
        if "name" not in c:
            continue
        r = got[c["name"]]
        eq(r["rc"], c["rc"], "%s: exit code (stderr %s)" % (c["name"], r["stderr"]))
        if c["expect"] is None:
            eq(r["stdout"], "", c["name"] + ": nothing said")
        elif c["expect"] == "garbage":
            eq(r["stdout"], "", c["name"] + ": nothing on stdout")
            if "not JSON" not in r["stderr"]:
                raise AssertionError("%s: %r" % (c["name"], r["stderr"]))
        elif c["expect"] == "partial-deny":
            ans = json.loads(r["stdout"])
            eq(ans["hookSpecificOutput"]["permissionDecision"], "deny", c["name"])
            if "could not check" not in ans["hookSpecificOutput"]["permissionDecisionReason"]:
                raise AssertionError("%s: %r" % (c["name"], ans))
        elif c["expect"] == "partial-allow":
            eq(r["stdout"], "", c["name"] + ": allowed")
            if "too long or too deeply nested" not in r["stderr"]:
                raise AssertionError("%s: no warning: %r" % (c["name"], r["stderr"]))
        elif "post" in c["expect"]:
            check_post(c["name"], r["stdout"], c["expect"], c["agent"])
        else:
            eq(r["stdout"].endswith("\n") and r["stdout"].count("\n") == 1, True,
               c["name"] + ": one line")
            eq(json.loads(r["stdout"]), c["expect"], c["name"] + ": answer")
    # every denial before a tool ran is a violation event of its own
    ev = read_jsonl(jl)
    hook = [e for e in ev if e["type"] == "violation" and e["mechanism"] == "hook"]
    denied = [c for c in cs if isinstance(c.get("expect"), dict) and "post" not in c["expect"]]
    eq(len(hook), len(denied), "one hook violation per denial")
    eq(sorted({e["rule"] for e in hook}), ["no-force-push", "no-git-hooks"], "their rules")
    fan = [e for e in ev if e["type"] == "violation" and e["mechanism"] == "fanotify"]
    eq(len(fan), 3, "the three refused key reads")


def test_control_socket_options():
    """--control-group makes the socket 0660 and the group's; --no-control
    makes none; the socket is gone when the recording ends."""
    show = 'stat -c "%a %g" "$AGENTTRAIL_SOCKET" && echo "$AGENTTRAIL_SOCKET"'
    p = subprocess.run([AGENTTRAIL, "record", "--no-db", "--quiet", "--control-group", "4242",
                        "--", "sh", "-c", show], capture_output=True, text=True, timeout=120)
    eq(p.returncode, 0, "record --control-group (stderr: %s)" % p.stderr)
    mode, path = p.stdout.split("\n")[:2]
    eq(mode, "660 4242", "mode and group of the socket")
    eq(os.path.exists(path), False, "socket removed at the end")
    p = subprocess.run([AGENTTRAIL, "record", "--no-db", "--quiet", "--control-group",
                        "no-such-group-here", "--", "true"], capture_output=True, text=True)
    eq(p.returncode, 2, "an unknown group is refused")
    p = subprocess.run([AGENTTRAIL, "record", "--no-db", "--quiet", "--no-control", "--", "sh",
                        "-c", 'echo "${AGENTTRAIL_SOCKET:-none}"'], capture_output=True, text=True,
                       timeout=120, env={k: v for k, v in os.environ.items()
                                         if k != "AGENTTRAIL_SOCKET"})
    eq((p.returncode, p.stdout), (0, "none\n"), "--no-control: no socket")


if __name__ == "__main__":
    run_tests(globals())
