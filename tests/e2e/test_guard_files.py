"""The guard's file and exec rules on the host kernel (no BPF-LSM here):
fanotify permission events decided in user space with flags, argv and
labels from the kernel maps; causal order (after/since); declassification.

Uses the network namespace of test_guard.py for the contracts that need
data from an endpoint.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import test_guard as tg  # noqa: E402
from atlib import eq, run_tests  # noqa: E402

EPERM = 1


def workspace(d):
    ws = os.path.join(d, "ws")
    os.makedirs(os.path.join(ws, ".git", "hooks"))
    os.makedirs(os.path.join(ws, "src"))
    os.makedirs(os.path.join(ws, "tests"))
    return ws


# ---- contract 4: protected paths ------------------------------------------------

PROTECT = """
    version: 1
    rules:
      - name: protect-paths
        on: [write, rename, unlink]
        target:
          paths: ["{workspace}/.git/hooks/**", "~/.bashrc", "~/.ssh/authorized_keys"]
        effect: block
        reason: "{target} is protected: agents may not change shell startup files, git hooks or SSH keys"
"""


def test_protected_paths_cannot_be_written():
    d, home = tg.make_home()
    ws = workspace(d)
    with open(os.path.join(home, ".bashrc"), "w") as f:
        f.write("# rc\n")
    os.link(os.path.join(home, ".bashrc"), os.path.join(home, "hard"))
    os.symlink(os.path.join(home, ".bashrc"), os.path.join(home, "soft"))
    r = tg.guard_run(PROTECT, """
        $W write $H/.bashrc bashrc
        $W read $H/.bashrc read-bashrc
        $W write $H/hard hardlink
        $W write $H/soft symlink
        cd $H && $W write ./.bashrc relative
        $W write $H/.ssh/authorized_keys new-authorized-keys
        $W write %(ws)s/.git/hooks/pre-commit new-hook
        sh -c 'bash -c "$W write $H/.bashrc nested"'
        $W write %(ws)s/src/ok.c unrelated
        echo evil > $H/evil && mv $H/evil $H/.bashrc; echo "rename $?"
        sleep 1; $W write $H/.bashrc after-rename
    """ % {"ws": ws}, home, d, cwd=ws)
    for name in ("bashrc", "hardlink", "symlink", "relative", "new-authorized-keys",
                 "new-hook", "nested"):
        r.expect(name, "errno=%d" % EPERM)
    r.expect("read-bashrc", "ok")
    r.expect("unrelated", "ok")
    # no permission event exists for rename here: the command's seccomp
    # filter hands it to agenttrail, which refuses it (mv tries renameat2
    # with RENAME_NOREPLACE, then rename: each is refused)
    r.expect("rename", "1")
    mv = r.violations(rule="protect-paths", op="rename")
    assert 1 <= len(mv) <= 2, mv
    for e in mv:
        eq((e["mechanism"], e.get("enforced", True), e["errno"], e["target"]),
           ("seccomp", True, EPERM, os.path.join(home, ".bashrc")), "a refused rename")
    with open(os.path.join(home, ".bashrc")) as f:
        eq(f.read(), "# rc\n", "~/.bashrc after the refused rename")
    r.expect("after-rename", "errno=%d" % EPERM)
    v = r.violations(rule="protect-paths", mechanism="fanotify")
    assert len(v) >= 7, r.events
    eq(v[0]["mechanism"], "fanotify", "mechanism")
    eq(v[0]["op"], "write", "op")
    eq(v[0]["target"], os.path.join(home, ".bashrc"), "target")
    assert v[0]["reason"].startswith(os.path.join(home, ".bashrc") + " is protected"), v[0]


# ---- contract 3: tests before commit -----------------------------------------------

COMMIT = """
    version: 1
    rules:
      - name: tests-before-commit
        on: exec
        target:
          command: "git commit"
        unless:
          - after:
              command: ["make test"]
              exit: 0
              since: ["src/**", "tests/**"]
        effect: block
        reason: "run the tests (make test) after your last change before committing"
"""


def test_commit_only_after_fresh_passing_tests():
    d, home = tg.make_home()
    ws = workspace(d)
    with open(os.path.join(ws, "Makefile"), "w") as f:
        f.write("test:\n\t@test ! -e FAIL\n")
    env = dict(os.environ, HOME=home, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    subprocess.run(["git", "init", "-q", ws], check=True, env=env)
    shutil.rmtree(os.path.join(ws, ".git", "hooks"))
    r = tg.guard_run(COMMIT, """
        export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
        echo 'int a;' > src/a.c && git add -A
        git commit -qm one 2>/dev/null; echo "untested $?"
        make -s test; git commit -qm one; echo "tested $?"
        echo 'int b;' >> src/a.c && git add -A
        git commit -qm two 2>/dev/null; echo "stale $?"
        touch FAIL; make -s test 2>/dev/null; rm FAIL
        git commit -qm two 2>/dev/null; echo "failed-run $?"
        make -s test; git -c core.pager=cat commit -qm two; echo "retested $?"
        git log --oneline | wc -l | sed 's/^/commits /'
    """, home, d, cwd=ws)
    r.expect("untested", "126")
    r.expect("tested", "0")
    r.expect("stale", "126")
    r.expect("failed-run", "126")
    r.expect("retested", "0")
    r.expect("commits", "2")
    v = r.violations(rule="tests-before-commit")
    # the shell tries each PATH entry that holds git (/bin and /usr/bin on
    # a merged /usr): one event per refused exec, each with the reason
    reasons = []
    for e in v:
        eq(e["op"], "exec", "op")
        eq(e["argv"][:2], ["git", "commit"], "argv")
        if e["reason"] not in reasons:
            reasons.append(e["reason"])
    eq(len(reasons), 3, "distinct reasons: %r" % reasons)
    assert "make test has not succeeded" in reasons[0], reasons
    assert "src/a.c changed after make test" in reasons[1], reasons


# ---- contract 5: rm -r outside the workspace ----------------------------------------

RM = """
    version: 1
    rules:
      - name: no-rm-outside-workspace
        on: exec
        target:
          command: ["rm -r*", "rm -*r*", "rm -R*", "rm --recursive"]
          operands_outside: ["{workspace}/**"]
        effect: block
        reason: "recursive rm outside the workspace is refused: {target}"
"""


def test_rm_r_outside_workspace():
    d, home = tg.make_home()
    ws = workspace(d)
    outside = os.path.join(d, "outside")
    os.makedirs(os.path.join(outside, "x"))
    os.makedirs(os.path.join(ws, "build", "y"))
    r = tg.guard_run(RM, """
        rm -r %(out)s 2>/dev/null; echo "outside $?"
        rm -rf ../outside 2>/dev/null; echo "relative $?"
        sh -c "env rm --recursive %(out)s" 2>/dev/null; echo "env $?"
        rm -r build; echo "inside $?"
        rm %(ws)s/Makefile.none 2>/dev/null; echo "not-recursive $?"
    """ % {"out": outside, "ws": ws}, home, d, cwd=ws)
    r.expect("outside", "126")
    r.expect("relative", "126")
    r.expect("env", "126")
    r.expect("inside", "0")
    r.expect("not-recursive", "1")
    assert os.path.isdir(os.path.join(outside, "x"))
    assert not os.path.exists(os.path.join(ws, "build"))


# ---- contract 6: untrusted input -------------------------------------------------------

UNTRUSTED = """
    version: 1
    labels:
      UNTRUSTED:
        endpoints: ["*"]
        except: ["127.0.0.1:%d"]
    rules:
      - name: untrusted-no-ssh
        on: exec
        target:
          command: ["ssh", "sudo", "scp"]
        when: UNTRUSTED
        effect: block
        reason: "{comm} received data from an untrusted endpoint; it may not run {target}"
      - name: untrusted-no-workflows
        on: write
        target:
          paths: ["{workspace}/.github/workflows/**"]
        when: UNTRUSTED
        effect: block
        reason: "{comm} received untrusted data; it may not change CI workflows"
""" % tg.LLM_PORT


def test_untrusted_input_cannot_exec_ssh_or_write_workflows():
    d, home = tg.make_home()
    ws = workspace(d)
    os.makedirs(os.path.join(ws, ".github", "workflows"))
    # a stand-in ssh: the rule is about the name, not the program
    os.makedirs(os.path.join(d, "bin"))
    shutil.copy("/bin/true", os.path.join(d, "bin", "ssh"))
    r = tg.guard_run(UNTRUSTED, """
        export PATH=%(d)s/bin:$PATH
        $W recv-exec %(ext)s 8081 ssh ssh-after-untrusted
        $W recv-write %(ext)s 8081 %(ws)s/.github/workflows/ci.yml workflow-after-untrusted
        $W write %(ws)s/.github/workflows/ci.yml workflow-clean
        ssh -V 2>/dev/null; echo "ssh-clean $?"
    """ % {"ext": tg.EXT, "ws": ws, "d": d}, home, d, cwd=ws)
    r.expect("ssh-after-untrusted", "errno=%d" % EPERM)
    r.expect("workflow-after-untrusted", "errno=%d" % EPERM)
    r.expect("workflow-clean", "ok")
    r.expect("ssh-clean", "0")
    eq(r.violations(rule="untrusted-no-ssh")[0]["labels"], ["UNTRUSTED"], "labels")


# ---- contract 7: declassification ---------------------------------------------------------

DECLASSIFY = """
    version: 1
    labels:
      SECRET:
        files: ["~/.ssh/**"]
    flows:
      - executables: ["{workspace}/tools/redact"]
        declassify: [SECRET]
    rules:
      - name: no-exfil
        on: [connect, send]
        when: SECRET
        effect: block
        reason: "{labels} data may not leave"
"""


def test_declassify_through_the_approved_redactor():
    d, home = tg.make_home()
    ws = workspace(d)
    os.makedirs(os.path.join(ws, "tools"))
    shutil.copy("/bin/cat", os.path.join(ws, "tools", "redact"))
    # One shell per step, as an agent's tool calls run: a shell that opens
    # a secret for a redirection carries its label itself (dash opens
    # redirections before it forks), whatever it runs next.
    r = tg.guard_run(DECLASSIFY, """
        sh -c 'tools/redact < $H/.ssh/id_rsa > redacted.txt'
        sh -c 'cat $H/.ssh/id_rsa | tools/redact > piped.txt'
        sh -c 'cat < $H/.ssh/id_rsa > copied.txt'
        $W read-connect redacted.txt %(ext)s 8080 redacted
        $W read-connect piped.txt %(ext)s 8080 piped
        $W read-connect copied.txt %(ext)s 8080 copied
    """ % {"ext": tg.EXT}, home, d, cwd=ws)
    r.expect("redacted", "ok")
    r.expect("piped", "ok")
    r.expect("copied", "errno=%d" % EPERM)


# ---- the reason, on the refused program's own stderr ---------------------------------

KEY_READ = """
    version: 1
    labels:
      SECRET:
        files: ["~/.ssh/**"]
    rules:
      - name: no-key-read
        on: read
        target: {paths: ["~/.ssh/id_rsa"]}
        effect: block
        reason: "private keys are not for agents; ask the user"
      - name: no-exfil
        on: connect
        when: SECRET
        effect: block
        reason: "{labels} data may not leave"
"""


def test_refused_program_is_told_why_on_its_stderr():
    d, home = tg.make_home()
    shutil.copy(os.path.join(home, ".ssh", "id_rsa"), os.path.join(home, ".ssh", "other_key"))
    script = """
        bash -c 'cat $H/.ssh/id_rsa'; echo "cat $?"
        $W read-connect $H/.ssh/other_key %(ext)s 8080 connect
    """ % {"ext": tg.EXT}
    r = tg.guard_run(KEY_READ, script, home, d, extra=["--no-stderr-reason"])
    r.expect("cat", "1")
    r.expect("connect", "errno=%d" % EPERM)
    # fanotify (cat waits for the answer) and the cgroup hook (python got EPERM)
    assert ("agenttrail: refused by policy rule 'no-key-read': private keys are not for "
            "agents; ask the user") in r.stderr, r.stderr
    assert "agenttrail: refused by policy rule 'no-exfil': SECRET data may not leave" in r.stderr, \
        r.stderr
    assert all(v.get("told") for v in r.violations()), r.violations()
    r = tg.guard_run(KEY_READ, script, home, d, extra=["--no-stderr-reason", "--no-tool-reason"])
    r.expect("cat", "1")
    assert "refused by policy rule" not in r.stderr, r.stderr


# ---- the shipped example policies, as they are ---------------------------------------

POLICIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "policies")


def shipped(name):
    with open(os.path.join(POLICIES, name)) as f:
        return f.read()


def test_shipped_policies_work_as_written():
    for name in sorted(os.listdir(POLICIES)):
        p = subprocess.run([tg.AGENTTRAIL, "check", os.path.join(POLICIES, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        eq(p.returncode, 0, "check %s: %s" % (name, p.stderr.decode()))
        eq(p.stderr, b"", "check %s: warnings" % name)
    d, home = tg.make_home()
    ws = workspace(d)
    with open(os.path.join(home, ".bashrc"), "w") as f:
        f.write("# rc\n")
    r = tg.guard_run(shipped("cloud-metadata.yaml"), """
        $W connect %(meta)s 80 meta
        $W connect %(ext)s 8080 other
    """ % {"meta": tg.META, "ext": tg.EXT}, home, d, cwd=ws)
    r.expect("meta", "errno=%d" % EPERM)
    r.expect("other", "ok")
    assert "cloud metadata service" in r.violations()[0]["reason"], r.violations()
    r = tg.guard_run(shipped("protect-paths.yaml"), """
        $W write $H/.bashrc bashrc
        $W write %(ws)s/.git/hooks/post-checkout hook
        $W write %(ws)s/src/ok.c unrelated
    """ % {"ws": ws}, home, d, cwd=ws)
    r.expect("bashrc", "errno=%d" % EPERM)
    r.expect("hook", "errno=%d" % EPERM)
    r.expect("unrelated", "ok")
    r = tg.guard_run(shipped("no-exfil.yaml"), """
        $W read-connect $H/.ssh/id_rsa %(ext)s 8080 secret
        $W read-connect $H/notes.txt %(ext)s 8080 notes
    """ % {"ext": tg.EXT}, home, d, cwd=ws)
    r.expect("secret", "errno=%d" % EPERM)
    r.expect("notes", "ok")


if __name__ == "__main__":
    tg.setup_ns()
    try:
        run_tests(globals())
    finally:
        tg.teardown_ns()
