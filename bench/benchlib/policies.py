"""Enforcement: the generated policies, checked with `agenttrail check`, and
the check that an enforcing run loaded them whole and made no decision.

enforce32 and enforce256 run the workload in `agenttrail run --policy FILE`
(as in-session does with `agenttrail record`); enforce256-outside runs it
outside any session while `agenttrail run --policy FILE` holds a session
that only waits (as outside does).  The policies are generated at run time
into TMP/policy, with the files and directories they name: a mix a user
would write (40% connect/send, 40% file, 20% exec rules, three labels, one
flow), none of which fires for the workloads, so that they run as they do
bare and what is measured is the cost of enforcing, not of refusing.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess

from .common import fail, log

POLICY_MIX = (("connect/send", 0.4), ("file", 0.4), ("exec", 0.2))

ENFORCING_RE = re.compile(r"^agenttrail: enforcing (.+): (\d+) rules, (\d+) labels, "
                          r"(\d+) files labelled$", re.M)
# emit_violation: "agenttrail: EFFECT OP TARGET by COMM[PID] (rule NAME): REASON"
DECISION_RE = re.compile(r"^agenttrail: (?:block|kill|notify) \S+ .*\(rule [^)]*\).*$", re.M)
CHECK_RE = re.compile(r"^(.+): valid: (\d+) labels, (\d+) rules, (\d+) flows "
                      r"\(~ = (.*), workspace = (.*)\)$", re.M)
CHECK_RULE_RE = re.compile(r"^  rule (\S+) \(")
CHECK_OP_RE = re.compile(r"^    ([a-z]+)\s+(\S.*)$")


def policy_mix(n):
    """How many rules of each kind a policy of n rules has."""
    counts = {kind: int(round(n * share)) for kind, share in POLICY_MIX[:-1]}
    counts[POLICY_MIX[-1][0]] = n - sum(counts.values())
    return counts


def yq(s):
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(s)


def lsm_exec_rules(count, root, mkfile, reason):
    """count exec rules that name executables by path only (two fixed rules
    with label conditions, then single programs and directories of tools in
    turn, every fourth with effect kill): the BPF-LSM backend takes them.
    No directory holds more than 8 of the files named exactly (the LSM's
    limit of names per directory)."""
    bindir = os.path.join(root, "bin")
    for name in ("ssh", "sudo", "scp", "curl", "wget", "nc"):
        mkfile(os.path.join(bindir, name), "#!/bin/sh\nexit 0\n", 0o755)
    exe = [
        {"name": "untrusted-no-privileged-tools", "on": ["exec"],
         "target": {"paths": [os.path.join(bindir, c) for c in ("ssh", "sudo", "scp")]},
         "when": "UNTRUSTED", "effect": "block",
         "reason": "{comm} ({pid}) has processed untrusted input ({labels}), so {target} was "
                   "blocked by rule {rule}."},
        {"name": "secret-no-network-tools", "on": ["exec"],
         "target": {"paths": [os.path.join(bindir, c) for c in ("curl", "wget", "nc")]},
         "when": "SECRET", "effect": "block",
         "reason": "{comm} ({pid}) has read credentials ({labels}); {target} was blocked by "
                   "rule {rule}."},
    ]
    for k in range(count - len(exe)):
        i = k + 1
        if k % 2 == 0:          # a directory each (at most 8 names per directory)
            path = os.path.join(root, "forbidden", str(i), "tool")
            mkfile(path, "#!/bin/sh\nexit 0\n", 0o755)
            target = {"paths": [path]}
        else:
            d = os.path.join(root, "tools", str(i))
            mkfile(os.path.join(d, "deploy"), "#!/bin/sh\nexit 0\n", 0o755)
            target = {"paths": [d + "/**"]}
        exe.append({"name": "exec-%03d" % i, "on": ["exec"], "target": target,
                    "effect": "kill" if k % 4 == 0 else "block",
                    "reason": reason("this program is not for the agent.")})
    return exe


def generate_policy(n, root, home, workspace, lsm_only=False):
    """A policy of n rules: (YAML text, the rule mix, the directories and
    files it names, which the caller creates).  root holds the bench's
    protected and secret files, home is what `~` means for agenttrail, and
    workspace is the session's workspace (the bench's temporary directory).
    Every rule targets something no workload touches: 10.x networks and
    blocked-N.example names, paths under root and home, commands and
    executables no workload runs; the label rules need SECRET (files under
    root/secrets and ~/.ssh, which no workload reads) or UNTRUSTED (data from
    anything but loopback and the LLM endpoints).

    lsm_only: every file and exec rule is one the BPF-LSM backend takes
    (src/guard/lsm.h: exact paths and DIR/** only, no command pattern, no
    operands, no paths_except), so that where BPF-LSM loads no fanotify
    group is opened and the policy measures that backend alone (the VM
    bench, bench/vm-lsm)."""
    mix = policy_mix(n)
    if min(mix.values()) < 4 or mix["exec"] < 4:
        raise ValueError("a generated policy needs at least 20 rules")
    dirs, files = [], {}    # files: path -> (mode, content)

    def reason(what):
        return ("{comm} ({pid}): {op} {target} was refused by rule {rule}: " + what
                + " Ask the user if it is really needed.")

    # connect / send: 4 fixed rules, then one per 10.N.0.0/16 and blocked-N.example
    net = [
        {"name": "no-exfil", "on": ["connect", "send"],
         "target": {"endpoints": ["*"], "except": ["@LLM"]}, "when": "SECRET",
         "effect": "block",
         "reason": "{comm} ({pid}) has read credentials ({labels}), so it may only talk to "
                   "the model API; the {op} to {target} was blocked by rule {rule}."},
        {"name": "no-cloud-metadata", "on": ["connect", "send"],
         "target": {"endpoints": ["169.254.169.254", "[fd00:ec2::254]",
                                  "metadata.google.internal", "169.254.170.2"]},
         "effect": "block", "reason": reason("the metadata service hands out credentials.")},
        {"name": "untrusted-no-private-networks", "on": ["connect", "send"],
         "target": {"endpoints": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]},
         "when": "UNTRUSTED", "effect": "block",
         "reason": "{comm} ({pid}) has processed untrusted input ({labels}); the {op} to "
                   "{target} (an internal network) was blocked by rule {rule}."},
        {"name": "no-mail", "on": ["connect"],
         "target": {"endpoints": ["*:25", "*:465", "*:587"]},
         "effect": "block", "reason": reason("the agent does not send mail.")},
    ]
    for k in range(mix["connect/send"] - len(net)):
        i = k + 1
        cidr, name = "10.%d.0.0/16" % (i % 250), "blocked-%d.example" % i
        if k % 4 == 1:
            cidr, name = cidr + ":22", name + ":443"
        net.append({"name": "net-%03d" % i, "on": [["connect", "send"], ["connect"], ["send"]][k % 3],
                    "target": {"endpoints": [cidr, name]},
                    "effect": "notify" if k % 10 == 9 else "block",
                    "reason": reason("this network is off limits to the agent.")})

    # file: 3 fixed rules, then protected directories under root and files in home
    def mkfile(path, content="bench\n", mode=0o644):
        files[path] = (mode, content)

    fil = [
        {"name": "untrusted-no-workflow-changes", "on": ["write"],
         "target": {"paths": ["{workspace}/.github/workflows/**"]}, "when": "UNTRUSTED",
         "effect": "block",
         "reason": "{comm} ({pid}) has processed untrusted input ({labels}) and may not change "
                   "CI workflows ({target}); rule {rule}."},
        {"name": "protect-shell-startup", "on": ["write", "rename", "unlink"],
         "target": {"paths": ["~/.bashrc", "~/.profile", "~/.ssh/authorized_keys"]},
         "effect": "block", "reason": reason("this file runs code or grants access later.")},
        {"name": "protect-git-hooks", "on": ["write", "rename", "unlink"],
         "target": {"paths": ["{workspace}/.githooks/**"]},
         "effect": "block", "reason": reason("hooks run code outside the session.")},
    ]
    mkfile(os.path.join(workspace, ".github", "workflows", "ci.yml"), "on: push\n")
    mkfile(os.path.join(workspace, ".githooks", "pre-commit"), "#!/bin/sh\nexit 0\n", 0o755)
    for name in (".bashrc", ".profile"):
        mkfile(os.path.join(home, name), "# bench\n")
    mkfile(os.path.join(home, ".ssh", "authorized_keys"), "", 0o600)
    for k in range(mix["file"] - len(fil)):
        i, kind = k + 1, k % 4
        if kind in (0, 2):      # a directory tree
            d = os.path.join(root, "protected", str(i))
            target = {"paths": [d + "/**"]}
            mkfile(os.path.join(d, "data.txt"))
            mkfile(os.path.join(d, "sub", "notes.md"))
            if kind == 0 and not lsm_only:
                target["paths_except"] = [d + "/public/**"]
                mkfile(os.path.join(d, "public", "README"))
        elif lsm_only:          # a file in a directory of its own under home:
            # the LSM keys an exact path by its name in its directory too,
            # and takes at most AT_LSM_SLOTS (8) such names per directory
            target = {"paths": ["~/.bench-protected/%d/file" % i]}
            mkfile(os.path.join(home, ".bench-protected", str(i), "file"))
        else:                   # a file in the home directory
            target = {"paths": ["~/.bench-protected-%d" % i]}
            mkfile(os.path.join(home, ".bench-protected-%d" % i))
        fil.append({"name": "file-%03d" % i,
                    "on": {0: ["write"], 1: ["write", "rename", "unlink"], 2: ["read"],
                           3: ["write"]}[kind],
                    "target": target, "effect": "notify" if k % 8 == 7 else "block",
                    "reason": reason("these files are protected.")})

    # exec: 4 fixed rules, then forbidden tools, executables, deploys, force-pushes
    exe = [
        {"name": "untrusted-no-privileged-commands", "on": ["exec"],
         "target": {"command": ["ssh", "sudo", "scp"]}, "when": "UNTRUSTED", "effect": "block",
         "reason": "{comm} ({pid}) has processed untrusted input ({labels}), so {target} was "
                   "blocked by rule {rule}."},
        {"name": "no-force-push", "on": ["exec"],
         "target": {"command": ["git push --force*", "git push -f", "git push origin +*"]},
         "effect": "block", "reason": reason("never rewrite published history.")},
        {"name": "no-rm-outside-workspace", "on": ["exec"],
         "target": {"command": ["rm -r*", "rm -R*", "rm -[!-]*r*", "rm -[!-]*R*",
                                "rm --recursive"],
                    "operands_outside": ["{workspace}/**"]},
         "effect": "block", "reason": reason("recursive deletes stay in the workspace.")},
        {"name": "secret-no-network-tools", "on": ["exec"],
         "target": {"command": ["curl", "wget", "nc", "ncat", "rsync"]}, "when": "SECRET",
         "effect": "block",
         "reason": "{comm} ({pid}) has read credentials ({labels}); {target} was blocked by "
                   "rule {rule}."},
    ]
    if lsm_only:
        exe = lsm_exec_rules(mix["exec"], root, mkfile, reason)
    for k in range(mix["exec"] - len(exe)):
        i, kind = k + 1, k % 4
        if kind == 0:
            target, effect = {"command": ["forbidden-tool-%d" % i]}, "kill"
        elif kind == 1:
            path = os.path.join(root, "bin", "forbidden-%d" % i)
            mkfile(path, "#!/bin/sh\nexit 0\n", 0o755)
            target, effect = {"paths": [path]}, "block"
        elif kind == 2:
            target, effect = {"command": ["deploy-%d --prod*" % i, "deploy-%d -p" % i]}, "block"
        else:
            target, effect = {"command": ["git push --force* * release-%d" % i,
                                          "git push -f * release-%d" % i]}, "block"
        exe.append({"name": "exec-%03d" % i, "on": ["exec"], "target": target, "effect": effect,
                    "reason": reason("this command is not for the agent.")})

    secrets = os.path.join(root, "secrets")
    mkfile(os.path.join(secrets, "api-token"), "bench-not-a-real-token\n", 0o600)
    mkfile(os.path.join(home, ".ssh", "id_ed25519"), "bench-not-a-real-key\n", 0o600)
    redact = os.path.join(root, "bin", "redact")
    mkfile(redact, "#!/bin/sh\nexec cat\n", 0o755)
    rules = net + fil + exe
    assert len(rules) == n and len(net) == mix["connect/send"] and len(fil) == mix["file"]
    L = ["# Generated by bench/run: %d rules (%s)%s; none fires for the bench's workloads."
         % (n, ", ".join("%d %s" % (c, k) for k, c in mix.items()),
            ", files and programs by path only (BPF-LSM)" if lsm_only else ""),
         "version: 1",
         "workspace: %s" % yq(workspace),
         "",
         "labels:",
         "  SECRET:",
         "    description: \"credentials (the bench's own, read by no workload)\"",
         "    files: [%s, \"~/.ssh/**\"]" % yq(secrets + "/**"),
         "  LLM:",
         "    endpoints: [\"api.anthropic.com:443\", \"api.openai.com:443\"]",
         "  UNTRUSTED:",
         "    description: \"data from anything but loopback and the model APIs\"",
         "    endpoints: [\"*\"]",
         "    except: [\"127.0.0.0/8\", \"[::1]\", \"@LLM\"]",
         "",
         "flows:",
         "  - executables: [%s]" % yq(redact),
         "    declassify: [SECRET]",
         "",
         "rules:"]
    for r in rules:
        L.append("  - name: %s" % r["name"])
        L.append("    on: [%s]" % ", ".join(r["on"]))
        L.append("    target:")
        for key, values in r["target"].items():
            L.append("      %s: [%s]" % (key, ", ".join(yq(v) for v in values)))
        if "when" in r:
            L.append("    when: %s" % yq(r["when"]))
        L.append("    effect: %s" % r["effect"])
        L.append("    reason: %s" % yq(r["reason"]))
    return "\n".join(L) + "\n", mix, dirs, files


class BenchPolicies:
    """The generated policies (one per size the configurations need), their
    files, checked with `agenttrail check`; how to run agenttrail with them.

    `~` in the policies is TMP/policy/home, not the real home directory: a
    rule on a file in the home directory marks the directory itself for
    fanotify (a file created there later is caught through it), and the bench
    creates the files its rules protect.  So agenttrail runs with
    HOME=TMP/policy/home (and no SUDO_USER, which it would prefer), and the
    workload in its session gets the harness's HOME and SUDO_USER back
    through `env`, outside the timing."""

    def __init__(self, agenttrail, tmpdir, sizes):
        self.agenttrail = agenttrail
        self.workspace = tmpdir
        self.root = os.path.join(tmpdir, "policy")
        self.home = os.path.join(self.root, "home")
        self.env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"}
        self.env["HOME"] = self.home
        self.prefix = [shutil.which("env") or "/usr/bin/env"]
        self.prefix += (["HOME=" + os.environ["HOME"]] if "HOME" in os.environ
                        else ["-u", "HOME"])
        if "SUDO_USER" in os.environ:
            self.prefix.append("SUDO_USER=" + os.environ["SUDO_USER"])
        self.path, self.info = {}, {}
        for n in sorted(set(sizes)):
            self._make(n)

    def _make(self, n):
        text, mix, dirs, files = generate_policy(n, self.root, self.home, self.workspace)
        for d in dirs:
            os.makedirs(d, exist_ok=True)
        for path, (mode, content) in files.items():
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(content)
            os.chmod(path, mode)
        path = os.path.join(self.root, "policy-%d.yaml" % n)
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([self.agenttrail, "check", path], capture_output=True, text=True,
                           env=self.env, cwd=self.workspace, timeout=60)
        out = r.stdout + r.stderr
        m = CHECK_RE.search(out)
        problems = [l for l in out.splitlines() if re.search(r": (error|warning): ", l)]
        if r.returncode != 0 or problems or not m:
            fail("the generated %d-rule policy %s is not valid (agenttrail check exit %d):\n%s"
                 % (n, path, r.returncode, out[-4000:]))
        labels, rules, flows = int(m.group(2)), int(m.group(3)), int(m.group(4))
        if rules != n or m.group(5) != self.home or m.group(6) != self.workspace:
            fail("agenttrail check read the generated policy %s as %d rules, ~ = %s, "
                 "workspace = %s; expected %d, %s, %s:\n%s"
                 % (path, rules, m.group(5), m.group(6), n, self.home, self.workspace, out[-2000:]))
        # per operation, the mechanism that decides it here
        mechanisms = {}
        for line in out.splitlines():
            op = CHECK_OP_RE.match(line)
            if op:
                key = "%s: %s" % (op.group(1), op.group(2))
                mechanisms[key] = mechanisms.get(key, 0) + 1
        self.path[n] = path
        self.info[n] = {"rules": rules, "labels": labels, "flows": flows, "mix": mix,
                        "mechanisms": dict(sorted(mechanisms.items())),
                        "sha256": hashlib.sha256(text.encode()).hexdigest(),
                        "bytes": len(text)}
        log("bench/run: policy of %d rules (%s) generated and checked: %s"
            % (n, ", ".join("%d %s" % (c, k) for k, c in mix.items()), path))

    def run_cmd(self, n, ready_file, extra, command):
        """agenttrail run --policy (the n-rule policy) ... -- command."""
        cmd = [self.agenttrail, "run", "--policy", self.path[n], "--no-db"]
        if ready_file:
            cmd += ["--ready-file", ready_file]
        return cmd + extra + ["--"] + command


def check_enforced(where, rc, stderr, n, stats):
    """Fails the run unless `agenttrail run` exited 0 after loading all n
    rules, and made no decision: a rule that fired would mean the workload
    measured something else than it does bare.  Returns what it found."""
    m = ENFORCING_RE.search(stderr)
    decisions = DECISION_RE.findall(stderr)
    violations = ((stats or {}).get("kinds") or {}).get("violation", {}).get("recorded")
    problems = []
    if rc != 0:
        problems.append("agenttrail run exited with status %s" % rc)
    if not m:
        problems.append("no 'agenttrail: enforcing ...' line: was the policy loaded?")
    elif int(m.group(2)) != n:
        problems.append("agenttrail enforced %s rules, not %d" % (m.group(2), n))
    if decisions:
        problems.append("agenttrail made %d decision(s): %s" % (len(decisions), decisions[:5]))
    if stats is None:
        problems.append("no --stats summary")
    elif violations is None:
        problems.append("no 'violation' count in --stats")
    elif violations:
        problems.append("agenttrail recorded %d violation(s)" % violations)
    if problems:
        fail("%s: %s\nagenttrail's stderr (end):\n%s" % (where, "; ".join(problems), stderr[-3000:]))
    return {"rules": int(m.group(2)), "labels": int(m.group(3)),
            "files_labelled": int(m.group(4)), "violations": violations or 0}
